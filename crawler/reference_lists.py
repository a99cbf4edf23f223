"""Drop the parts of PubMed records litmon never reads from the bytes before the XML parser
sees them: the reference lists and the history dates.

A 2024 PubMed record is half references (40 or more, each with its own ArticleIdList) and
litmon reads none of them: building and discarding their ~400 elements was half the cost of
parsing (bench/ingest_bench.py). The ``<History>`` of every record (received, accepted,
entrez... dates, two dozen elements) is a tenth of a short record's parse. Each
``<ReferenceList>...</ReferenceList>`` or ``<History>...</History>`` that opens and closes
inside one record, nested lists included, is replaced by the newlines it held, so the
parser's line numbers stay those of the input.

Only whole, balanced lists written the way NCBI writes them are cut, and never across the end
of a record; anything else (another spelling of the tags, a list left open by a truncated
download) reaches the parser untouched and is parsed, or refused, as before.
"""

from __future__ import annotations

from typing import BinaryIO

_UNREAD = (b"ReferenceList", b"History")
# the end tags of a record and of its PubmedData / PubmedBookData, which hold the lists
_PUBMED_END = b"</Pubmed"
_CHUNK = 64 * 1024
# Input without a PubMed end tag for this long is passed on as it is: memory stays bounded.
_MAX_HELD = 16 * 1024 * 1024


class WithoutUnreadParts:
    """A read-only binary stream: ``stream`` with its records' reference lists and history
    dates cut out."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._held = b""  # read, but a reference list in it may not be complete yet
        self._ready = b""  # filtered, waiting for the reader from self._offset on
        self._offset = 0
        self._done = False

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            parts = [self._ready[self._offset :]]
            while not self._done:
                self._fill()
                parts.append(self._ready)
            self._ready, self._offset = b"", 0
            return b"".join(parts)
        while self._offset >= len(self._ready) and not self._done:
            self._fill()
        data = self._ready[self._offset : self._offset + size]
        self._offset += len(data)
        return data

    def _fill(self) -> None:
        """Replace the (consumed) ready bytes with the next filtered piece of the input."""
        self._offset = 0
        chunk = self._stream.read(_CHUNK)
        if not chunk:
            self._ready, self._held, self._done = self._held, b"", True
            return
        held = self._held + chunk
        # Cut before the last PubMed end tag: a list never spans one.
        cut = held.rfind(_PUBMED_END)
        if cut <= 0 and len(held) > _MAX_HELD:
            cut = len(held)
        if cut > 0:
            self._ready, self._held = _cut_unread(held[:cut]), held[cut:]
        else:
            self._ready, self._held = b"", held


def _cut_unread(data: bytes) -> bytes:
    """``data`` with each unread list that closes before the end of its record replaced by
    the newlines it held."""
    for name in _UNREAD:
        data = _cut(data, name)
    return data


def _cut(data: bytes, name: bytes) -> bytes:
    opening = b"<" + name + b">"
    pieces = []
    position = 0
    while (start := data.find(opening, position)) >= 0:
        end = _list_end(data, start, name + b">")
        if end < 0 or data.find(_PUBMED_END, start, end) >= 0:
            break
        pieces.append(data[position:start])
        pieces.append(b"\n" * data.count(b"\n", start, end))
        position = end
    if not pieces:
        return data
    pieces.append(data[position:])
    return b"".join(pieces)


def _list_end(data: bytes, start: int, tail: bytes) -> int:
    """The index just past the close tag matching the open tag at ``start``, or -1 (``tail``:
    the end of both tags, the name and ``>``)."""
    depth = 0
    position = start
    while (found := data.find(tail, position)) >= 0:
        position = found + len(tail)
        if data[found - 1 : found] == b"<":
            depth += 1
        elif data[found - 2 : found] == b"</":
            depth -= 1
            if depth == 0:
                return position
    return -1
