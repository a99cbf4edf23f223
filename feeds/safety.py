"""Checks on a fetched document before feedparser sees it: encoding, HTML pages, XML bombs."""

from __future__ import annotations

import codecs
import re
from xml.etree.ElementTree import ParseError

from defusedxml import (
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)
from defusedxml.ElementTree import DefusedXMLParser

from litmon.core.html_page import html_page_title
from litmon.feeds.errors import FeedError

_XML_DECL = re.compile(r"^<\?xml[^>]*?\?>", re.IGNORECASE)
_DECL_ENCODING = re.compile(r"""encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16LE, whose BOM is its first half
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Without a BOM, a wide encoding shows in where the NUL bytes of the first (ASCII) characters
# fall, as XML 1.0 appendix F describes: "<?" is 3C 00 3F 00 in UTF-16LE.
_WIDE_PATTERNS = (
    (re.compile(rb"^[^\x00]\x00\x00\x00"), "utf-32-le"),
    (re.compile(rb"^\x00\x00\x00[^\x00]"), "utf-32-be"),
    (re.compile(rb"^[^\x00]\x00[^\x00]\x00"), "utf-16-le"),
    (re.compile(rb"^\x00[^\x00]\x00[^\x00]"), "utf-16-be"),
)
# IANA names of the wide encodings that Python's codecs do not know; UCS-2 is the BMP-only
# subset of UTF-16 and UCS-4 the same code units as UTF-32.
_WIDE_ALIASES = {
    "ucs-2": "utf-16",
    "ucs2": "utf-16",
    "iso-10646-ucs-2": "utf-16",
    "csunicode": "utf-16",
    "ucs-4": "utf-32",
    "ucs4": "utf-32",
    "iso-10646-ucs-4": "utf-32",
    "csucs4": "utf-32",
}


def to_utf8(data: bytes, http_charset: str | None = None) -> tuple[bytes, list[str]]:
    """The document re-encoded as UTF-8 (declaration rewritten), with notes on wrong labels.

    UTF-16 and UTF-32 are told by their BOM or, without one, by the NUL bytes of the first
    characters, whatever the labels say; such a document that does not decode is refused
    with a :class:`FeedError`. Publishers mislabel 8-bit encodings both ways: an XML
    declaration saying UTF-8 over Latin-1 bytes, or an HTTP charset contradicting the
    declaration. Bytes that decode as UTF-8 are UTF-8 (other encodings almost never produce
    valid multi-byte UTF-8 by accident); then the declared encoding, the HTTP charset, and
    finally windows-1252, which decodes almost anything.
    """
    http = _known_encoding(http_charset)
    if data.startswith(codecs.BOM_UTF8):
        return _relabel(data[len(codecs.BOM_UTF8) :].decode("utf-8", "replace")), []
    wide, skip = _wide_encoding(data)
    if wide:
        text = _decode_wide(data, wide, skip)
        declared = _declared_encoding(text)
        # A wide document needs no declaration: its BOM or NUL bytes say what it is.
        return _relabel(text), _encoding_notes(wide, declared, http, implied=None)
    declared = _declared_encoding(data[:1024].decode("latin-1"))
    # No BOM and no NUL pattern: a UTF-16/32 label on these bytes is wrong, and decoding
    # 8-bit text as UTF-16 would "succeed" with CJK garbage.
    for encoding in _unique(["utf-8", declared, http, "windows-1252"]):
        if _is_wide(encoding):
            continue
        try:
            text = data.decode(encoding)
        except (UnicodeError, LookupError):  # LookupError: a byte codec such as base64 or rot13
            continue
        notes = [] if data.isascii() else _encoding_notes(encoding, declared, http, implied="utf-8")
        return _relabel(text), notes
    return _relabel(data.decode("latin-1")), ["undecodable bytes; read as Latin-1"]


def _wide_encoding(data: bytes) -> tuple[str | None, int]:
    """The UTF-16/32 variant the bytes are in and the length of their BOM, else (None, 0)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding, len(bom)
    for pattern, encoding in _WIDE_PATTERNS:
        if pattern.match(data):
            return encoding, 0
    return None, 0


def _decode_wide(data: bytes, encoding: str, skip: int) -> str:
    try:
        return data[skip:].decode(encoding)
    except UnicodeDecodeError as exc:
        raise FeedError(
            f"refused: the document is not valid {encoding.upper()}"
            f" ({exc.reason} at byte {exc.start + skip})"
        ) from None


def _declared_encoding(head: str) -> str | None:
    decl = _XML_DECL.match(head.lstrip())
    match = _DECL_ENCODING.search(decl.group(0)) if decl else None
    return _known_encoding(match.group(1)) if match else None


def _known_encoding(label: str | None) -> str | None:
    """Python's name for an encoding label, None for labels it does not know."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    try:
        return codecs.lookup(_WIDE_ALIASES.get(name, name)).name
    except LookupError:
        return None


def _is_wide(name: str) -> bool:
    return name.startswith(("utf-16", "utf-32"))


def _unique(names: list[str | None]) -> list[str]:
    seen: list[str] = []
    for name in names:
        if name and codecs.lookup(name).name not in seen:
            seen.append(codecs.lookup(name).name)
    return seen


def _encoding_notes(
    used: str, declared: str | None, http: str | None, *, implied: str | None
) -> list[str]:
    """Notes on labels naming another encoding than the one used; ``implied`` is what an
    absent declaration means."""
    notes = []
    if _family(declared or implied or used) != _family(used):
        notes.append(f"document declares {declared or f'{implied} (by default)'} but is {used}")
    if http and _family(http) != _family(used):
        notes.append(f"HTTP charset {http} contradicts the document, read as {used}")
    return notes


def _family(name: str) -> str:
    """UTF-16 and UTF-32 whatever their byte order: a label need not name it."""
    return name.removesuffix("-le").removesuffix("-be")


def _relabel(text: str) -> bytes:
    decl = _XML_DECL.match(text)
    if decl:
        text = '<?xml version="1.0" encoding="utf-8"?>' + text[decl.end() :]
    return text.encode("utf-8")


def refuse_html(data: bytes) -> None:
    """A login wall, bot challenge or error page served with status 200 instead of a feed."""
    title = html_page_title(data)
    if title is not None:
        shown = f" titled {title!r}" if title else ""
        raise FeedError(
            f"got an HTML page{shown} instead of a feed (login wall, bot challenge or moved page?)"
        )


class _Discard:
    """An ElementTree target that keeps nothing: the check needs no tree."""

    def start(self, tag: str, attrs: dict) -> None:
        pass

    def end(self, tag: str) -> None:
        pass

    def data(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def refuse_unsafe_xml(data: bytes) -> None:
    """Refuse entity declarations (billion laughs, XXE) and non-web DTDs (``file://``).

    Malformed documents are left to feedparser's lenient parser, unless they declare
    entities anywhere, which no publisher feed needs.
    """
    parser = DefusedXMLParser(target=_Discard(), forbid_dtd=False)
    parser.parser.StartDoctypeDeclHandler = _check_doctype
    try:
        parser.feed(data)
        parser.close()
    except DefusedXmlException as exc:
        raise FeedError(f"refused: unsafe XML ({_describe(exc)})") from exc
    except ParseError:
        if b"<!ENTITY" in data:
            raise FeedError("refused: unsafe XML (declares entities)") from None


def _check_doctype(name: str, sysid: str | None, pubid: str | None, internal: bool) -> None:
    if sysid and not re.match(r"^https?://", sysid, re.IGNORECASE):
        raise DTDForbidden(name, sysid, pubid)


def _describe(exc: DefusedXmlException) -> str:
    if isinstance(exc, EntitiesForbidden):
        return f"declares the entity {exc.name!r}: entity expansion is not allowed"
    if isinstance(exc, ExternalReferenceForbidden):
        return f"refers to the external entity {exc.sysid!r}"
    if isinstance(exc, DTDForbidden):
        return f"loads a DTD from {exc.sysid!r}"
    return str(exc)
