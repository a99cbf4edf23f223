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

_XML_DECL = re.compile(rb"^<\?xml[^>]*?\?>", re.IGNORECASE)
_DECL_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def to_utf8(data: bytes, http_charset: str | None = None) -> tuple[bytes, list[str]]:
    """The document re-encoded as UTF-8 (declaration rewritten), with notes on wrong labels.

    Publishers mislabel encodings both ways: an XML declaration saying UTF-8 over Latin-1
    bytes, or an HTTP charset contradicting the declaration. Bytes that decode as UTF-8 are
    UTF-8 (other encodings almost never produce valid multi-byte UTF-8 by accident); then the
    declared encoding, the HTTP charset, and finally windows-1252, which decodes anything.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _relabel(data[len(bom) :].decode(encoding, "replace")), []
    declared = _declared_encoding(data)
    http = _known_encoding(http_charset)
    for encoding in _unique(["utf-8", declared, http, "windows-1252"]):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return _relabel(text), _encoding_notes(encoding, declared, http, data)
    return _relabel(data.decode("latin-1")), ["undecodable bytes; read as Latin-1"]


def _declared_encoding(data: bytes) -> str | None:
    decl = _XML_DECL.match(data.lstrip())
    match = _DECL_ENCODING.search(decl.group(0)) if decl else None
    return _known_encoding(match.group(1).decode("ascii")) if match else None


def _known_encoding(label: str | None) -> str | None:
    if not label:
        return None
    try:
        return codecs.lookup(label.strip().strip("\"'")).name
    except LookupError:
        return None


def _unique(names: list[str | None]) -> list[str]:
    seen: list[str] = []
    for name in names:
        if name and codecs.lookup(name).name not in seen:
            seen.append(codecs.lookup(name).name)
    return seen


def _encoding_notes(used: str, declared: str | None, http: str | None, data: bytes) -> list[str]:
    if data.isascii():
        return []
    notes = []
    if used != (declared or "utf-8"):
        notes.append(f"document declares {declared or 'utf-8 (by default)'} but is {used}")
    if http and http != used:
        notes.append(f"HTTP charset {http} contradicts the document, read as {used}")
    return notes


def _relabel(text: str) -> bytes:
    data = text.encode("utf-8")
    decl = _XML_DECL.match(data)
    if decl:
        data = b'<?xml version="1.0" encoding="utf-8"?>' + data[decl.end() :]
    return data


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
