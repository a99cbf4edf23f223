"""Streaming reader for PubMed XML: efetch output, "Save -> XML" exports, baseline/update files.

One pass over the input with constant memory: each ``PubmedArticle`` / ``PubmedBookArticle``
becomes a :class:`~litmon.core.records.Record` (or a :class:`~litmon.core.records.Skipped`
when it has no PMID), each ``DeleteCitation`` a :class:`~litmon.core.records.Deletion`, and
the element is then dropped from the tree.

Parser choice, by measurement (bench/ingest_bench.py, the same file of 2,000 or 20,000
records of 25 KB each, shaped like 2024 records with 40 references): a bare lxml
``iterparse`` pass reads 2,200-2,900 records/s, a bare ``defusedxml.ElementTree.iterparse``
pass 870-940 records/s (2.5-3x slower; the range is load on a shared host).
ElementTree has no tag filter, so it hands each of the ~470 elements of a record (most in
the ReferenceList) to Python; lxml matches tags in C. lxml is made safe here: the DTD is
never loaded or fetched, entities are never substituted, and a document whose prolog
declares any entity (or names a ``file:`` DTD) is refused before lxml sees a byte of it.
Reference lists and history dates, which litmon never reads, are cut from the bytes before
lxml builds them (:mod:`crawler.reference_lists`): that roughly halves the parse.
"""

from __future__ import annotations

import gzip
import os
import re
import zlib
from collections.abc import Iterator
from typing import BinaryIO

from lxml import etree

from litmon.core.errors import SourceError
from litmon.core.html_page import html_page_title
from litmon.core.records import Deletion, Item, Link, Record, Skipped
from litmon.crawler.read_ahead import read_in_process
from litmon.crawler.reference_lists import WithoutUnreadParts

__all__ = ["PubMedXMLError", "iter_items", "iter_records"]

_RECORD_TAGS = ("PubmedArticle", "PubmedBookArticle", "DeleteCitation")
_ROOT_TAGS = ("PubmedArticleSet", "PubmedBookArticleSet")
_GZIP_MAGIC = b"\x1f\x8b"
_HEAD_BYTES = 64 * 1024
# Starting a reader process costs about as much as parsing a few thousand small records:
# smaller files are read in the caller's process.
READ_AHEAD_BYTES = 8 * 1024 * 1024
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
# Prolog items before the root element: XML declaration / processing instructions, comments,
# and a DOCTYPE with an optional internal subset.
_PROLOG_ITEM = re.compile(
    rb"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE\b(?:[^\[>]|\[.*?\]\s*)*>)", re.DOTALL
)
_ROOT_START = re.compile(rb"\s*<([A-Za-z_][\w.:-]*)")
_FILE_DTD = re.compile(rb"<!DOCTYPE\b[^\[>]*[\"']file:", re.IGNORECASE)
_MEDLINE_DATE = re.compile(r"(\d{4})(?:\s+([A-Za-z]{3})[a-z]*\.?(?:\s+(\d{1,2})\b)?)?")


class PubMedXMLError(SourceError):
    """The input is not PubMed XML we can safely read, or it is malformed."""


def iter_items(
    source: str | os.PathLike[str] | BinaryIO, *, read_ahead: bool | None = None
) -> Iterator[Item]:
    """Yield what ``source`` holds, streaming, in document order: a :class:`Record` per
    article, a :class:`Skipped` naming the line of an article without a PMID (the rest of the
    file is still read), a :class:`Deletion` of the PMIDs in each ``DeleteCitation``.

    ``source`` is a path (``.xml`` or gzip-compressed, detected by its magic bytes) or a
    binary file-like such as an HTTP response. Malformed input raises
    :class:`PubMedXMLError` after the complete items before it.

    A file of :data:`READ_AHEAD_BYTES` or more is parsed in a process of its own
    (:mod:`crawler.read_ahead`) while the caller stores what it yielded; ``read_ahead``
    True or False decides it whatever the size. The items and errors are the same.
    """
    if isinstance(source, str | os.PathLike):
        if read_ahead is None:
            read_ahead = os.path.getsize(source) >= READ_AHEAD_BYTES
        if read_ahead:
            yield from read_in_process(f"{__name__}:iter_items", source, PubMedXMLError)
            return
        with open(source, "rb") as raw:
            yield from _iter_stream(raw)
    else:
        yield from _iter_stream(source)


def iter_records(source: str | os.PathLike[str] | BinaryIO) -> Iterator[Record]:
    """The records of :func:`iter_items`, for callers that store nothing else: deletions are
    left out, and an article without a PMID raises :class:`PubMedXMLError`."""
    for item in iter_items(source):
        if isinstance(item, Record):
            yield item
        elif isinstance(item, Skipped):
            raise PubMedXMLError(item.reason)


def _iter_stream(raw: BinaryIO) -> Iterator[Item]:
    try:
        yield from _parse(_decompressed(raw))
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        reason = exc.error_log.last_error.message if exc.error_log else exc.msg
        raise PubMedXMLError(
            f"malformed PubMed XML at line {line}, column {column}: {reason}"
        ) from None
    except (OSError, EOFError, zlib.error) as exc:  # unreadable or broken gzip input
        raise PubMedXMLError(f"cannot read PubMed XML: {exc}") from None


def _decompressed(raw: BinaryIO) -> _Prefixed:
    """``raw`` gunzipped when it starts with gzip's magic bytes, with its head read ahead."""
    stream: BinaryIO = _Prefixed(raw, _read_head(raw, len(_GZIP_MAGIC)))
    if stream.head == _GZIP_MAGIC:
        stream = gzip.GzipFile(fileobj=stream, mode="rb")
    return _Prefixed(stream, _read_head(stream, _HEAD_BYTES))


def _parse(stream: _Prefixed) -> Iterator[Item]:
    _check_prolog(stream.head)
    parser = etree.iterparse(
        WithoutUnreadParts(stream),
        events=("end",),
        tag=_RECORD_TAGS,
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
    )
    for _event, elem in parser:
        yield _item(elem)
        # Constant memory: empty the element and drop the finished ones before it.
        elem.clear()
        parent = elem.getparent()
        while elem.getprevious() is not None:
            del parent[0]


class _Prefixed:
    """A read-only binary stream that returns ``head`` before the rest of ``stream``."""

    def __init__(self, stream: BinaryIO, head: bytes) -> None:
        self.head = head
        self._pending = head
        self._stream = stream

    def read(self, size: int = -1) -> bytes:
        if not self._pending:
            return self._stream.read(size)
        if size is None or size < 0:
            data, self._pending = self._pending + self._stream.read(), b""
            return data
        data, self._pending = self._pending[:size], self._pending[size:]
        if len(data) < size:
            data += self._stream.read(size - len(data))
        return data


def _read_head(stream: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes; a socket-like stream may return fewer per read."""
    chunks: list[bytes] = []
    wanted = size
    while wanted > 0 and (chunk := stream.read(wanted)):
        chunks.append(chunk)
        wanted -= len(chunk)
    return b"".join(chunks)


def _check_prolog(head: bytes) -> None:
    """Refuse HTML, entity declarations, ``file:`` DTDs and non-PubMed roots up front."""
    text = head.removeprefix(b"\xef\xbb\xbf")
    position = 0
    while match := _PROLOG_ITEM.match(text, position):
        position = match.end()
    prolog = text[:position]
    title = html_page_title(text)
    if title is not None:
        shown = f" titled {title!r}" if title else ""
        raise PubMedXMLError(f"expected PubMed XML, got an HTML page{shown} (an error page?)")
    if b"<!ENTITY" in prolog:
        raise PubMedXMLError("refusing XML that declares entities in its DOCTYPE")
    if _FILE_DTD.search(prolog):
        raise PubMedXMLError("refusing XML whose DOCTYPE points at a local file")
    root = _ROOT_START.match(text, position)
    if root is None:
        if not text.strip():
            raise PubMedXMLError("expected PubMed XML, got an empty document")
        line = text.count(b"\n", 0, position) + 1
        raise PubMedXMLError(f"expected PubMed XML, no root element found (line {line})")
    name = root.group(1).decode("ascii", "replace")
    if name not in _ROOT_TAGS:
        raise PubMedXMLError(f"expected PubMed XML (<PubmedArticleSet>), got <{name}>")


class _NoPMID(PubMedXMLError):
    """An article without a PMID: :func:`_record` (also used on its own) raises it,
    :func:`iter_items` turns it into a Skipped entry."""


def _item(elem: etree._Element) -> Item:
    if elem.tag == "DeleteCitation":
        return Deletion(source="pubmed", source_ids=tuple(_vals(elem, "PMID")))
    try:
        return _record(elem)
    except _NoPMID as missing:
        return Skipped(str(missing))


def _record(elem: etree._Element) -> Record:
    if elem.tag == "PubmedBookArticle":
        return _book_record(elem)
    return _article_record(elem)


def _article_record(elem: etree._Element) -> Record:
    top = _kids(elem)
    citation_elem = top.get("MedlineCitation")
    citation = _kids(citation_elem)
    pmid = _pmid(citation, elem)
    article = _kids(citation.get("Article"))
    journal = _kids(article.get("Journal"))
    issue = _kids(journal.get("JournalIssue"))
    doi, pmcid = _article_ids(_kids(top.get("PubmedData")).get("ArticleIdList"))
    return Record(
        source="pubmed",
        source_id=pmid,
        pmid=pmid,
        doi=doi or _elocation_doi(citation.get("Article")),
        pmcid=pmcid,
        title=_flat(article.get("ArticleTitle")) or _flat(article.get("VernacularTitle")),
        abstract=_abstract(article.get("Abstract")),
        authors=_authors(article.get("AuthorList")),
        journal=_val(journal.get("Title")),
        journal_abbrev=_val(journal.get("ISOAbbreviation")),
        issn=_val(journal.get("ISSN")),
        volume=_val(issue.get("Volume")),
        issue=_val(issue.get("Issue")),
        pages=_pages(article.get("Pagination")),
        pub_date=_pub_date(issue.get("PubDate")) or _ymd(article.get("ArticleDate")),
        publication_types=_vals(article.get("PublicationTypeList"), "PublicationType"),
        mesh=_mesh(citation.get("MeshHeadingList")),
        keywords=_keywords(citation_elem),
        language=_val(article.get("Language")),
        links=_links(citation.get("CommentsCorrectionsList")),
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
        revised=_ymd(citation.get("DateRevised")) or _ymd(citation.get("DateCompleted")),
    )


def _book_record(elem: etree._Element) -> Record:
    top = _kids(elem)
    document_elem = top.get("BookDocument")
    document = _kids(document_elem)
    pmid = _pmid(document, elem)
    book = _kids(document.get("Book"))
    book_title = _flat(book.get("BookTitle"))
    chapter_title = _flat(document.get("ArticleTitle")) or _flat(document.get("VernacularTitle"))
    doi, pmcid = _article_ids(_kids(top.get("PubmedBookData")).get("ArticleIdList"))
    return Record(
        source="pubmed",
        source_id=pmid,
        pmid=pmid,
        doi=doi,
        pmcid=pmcid,
        title=chapter_title or book_title,
        abstract=_abstract(document.get("Abstract")),
        authors=_book_authors(document_elem) or _book_authors(document.get("Book")),
        journal=book_title if chapter_title else None,
        volume=_val(book.get("Volume")),
        pages=_pages(document.get("Pagination")),
        pub_date=_pub_date(book.get("PubDate")),
        publication_types=_vals(document_elem, "PublicationType"),
        keywords=_keywords(document_elem),
        language=_val(document.get("Language")),
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
        revised=_ymd(document.get("DateRevised")),
    )


def _book_authors(holder: etree._Element | None) -> list[str]:
    """Authors from a BookDocument's or Book's author lists, leaving out the editors."""
    if holder is None:
        return []
    return [
        name
        for author_list in holder.iterchildren("AuthorList")
        if author_list.get("Type") != "editors"
        for name in _authors(author_list)
    ]


def _kids(elem: etree._Element | None) -> dict[str, etree._Element]:
    """The first child of each tag. One pass in C; lxml's find() goes through Python code."""
    kids: dict[str, etree._Element] = {}
    if elem is not None:
        for child in elem:
            kids.setdefault(child.tag, child)
    return kids


def _pmid(holder: dict[str, etree._Element], elem: etree._Element) -> str:
    pmid = _val(holder.get("PMID"))
    if pmid is None:
        raise _NoPMID(f"<{elem.tag}> without a PMID at line {elem.sourceline}")
    return pmid


def _val(elem: etree._Element | None) -> str | None:
    """Stripped text of a text-only element, or None when absent or empty."""
    if elem is None:
        return None
    text = elem.text
    return text.strip() or None if text else None


def _vals(parent: etree._Element | None, tag: str) -> list[str]:
    if parent is None:
        return []
    return [value for child in parent.iterchildren(tag) if (value := _val(child))]


def _flat(elem: etree._Element | None) -> str:
    """Text of ``elem`` with inline markup (i, b, sup, MathML, ...) dropped, spaces collapsed."""
    if elem is None:
        return ""
    # most elements hold plain text: .text spares building and joining an itertext()
    text = "".join(elem.itertext()) if len(elem) else elem.text
    return _collapse_spaces(text) if text else ""


def _collapse_spaces(text: str) -> str:
    """``text`` stripped, each run of whitespace made one space."""
    # Splitting an abstract into words to rejoin them is its largest cost; XML text can hold
    # no ASCII whitespace besides these four, so most texts need only the strip.
    if text.isascii() and not ("  " in text or "\n" in text or "\t" in text or "\r" in text):
        return text.strip()
    return " ".join(text.split())


def _article_ids(id_list: etree._Element | None) -> tuple[str | None, str | None]:
    """DOI and PMCID from a record's own ArticleIdList (not its references')."""
    doi = pmcid = None
    if id_list is not None:
        for article_id in id_list.iterchildren("ArticleId"):
            kind = article_id.get("IdType")
            if kind == "doi" and doi is None:
                doi = article_id.text
            elif kind == "pmc" and pmcid is None:
                pmcid = article_id.text
    return doi, pmcid


def _elocation_doi(article: etree._Element | None) -> str | None:
    if article is None:
        return None
    for location in article.iterchildren("ELocationID"):
        if location.get("EIdType") == "doi" and location.get("ValidYN") != "N":
            return location.text
    return None


def _abstract(abstract: etree._Element | None) -> str | None:
    if abstract is None:
        return None
    paragraphs = []
    for section in abstract.iterchildren("AbstractText"):
        text = _flat(section)
        label = section.get("Label")
        if text or label:
            paragraphs.append(f"{label}: {text}" if label else text)
    return "\n\n".join(paragraphs) or None


def _authors(author_list: etree._Element | None) -> list[str]:
    """``"Last, Fore"`` (Initials when there is no ForeName) or the collective name of each
    author not marked invalid.

    One walk in C over the list's authors and their name parts: the author list is the
    largest part of a record, and visiting each author's children costs a quarter more.
    """
    if author_list is None:
        return []
    names: list[str] = []
    parts: dict[str, etree._Element] = {}
    valid = False
    for elem in author_list.iter(_AUTHOR_TAGS):
        if elem.tag == "Author":
            if valid and (name := _author_name(parts)):
                names.append(name)
            valid, parts = elem.get("ValidYN") != "N", {}
        else:
            parts.setdefault(elem.tag, elem)
    if valid and (name := _author_name(parts)):
        names.append(name)
    return names


_AUTHOR_TAGS = ("Author", "LastName", "ForeName", "Initials", "CollectiveName")


def _author_name(parts: dict[str, etree._Element]) -> str | None:
    last = _val(parts.get("LastName"))
    if last is None:
        return _flat(parts.get("CollectiveName")) or None
    first = _val(parts.get("ForeName")) or _val(parts.get("Initials"))
    return f"{last}, {first}" if first else last


# Evaluated in C with plain-str results: no element objects for a dozen headings per record.
_MESH_NAMES = etree.XPath("MeshHeading/DescriptorName/text()", smart_strings=False)


def _mesh(headings: etree._Element | None) -> list[str]:
    if headings is None:
        return []
    return [name for text in _MESH_NAMES(headings) if (name := text.strip())]


def _keywords(holder: etree._Element | None) -> list[str]:
    if holder is None:
        return []
    return [
        text
        for keywords in holder.iterchildren("KeywordList")
        for keyword in keywords.iterchildren("Keyword")
        if (text := _flat(keyword))
    ]


def _pages(pagination: etree._Element | None) -> str | None:
    parts = _kids(pagination)
    medline = _val(parts.get("MedlinePgn"))
    if medline:
        return medline
    start, end = _val(parts.get("StartPage")), _val(parts.get("EndPage"))
    return f"{start}-{end}" if start and end else start


def _pub_date(date: etree._Element | None) -> str | None:
    """ISO date from a PubDate: Year/Month/Day, Year/Season or MedlineDate."""
    parts = _kids(date)
    year = _val(parts.get("Year"))
    if year is not None:
        return _iso(year, _val(parts.get("Month")), _val(parts.get("Day")))
    medline = _val(parts.get("MedlineDate"))
    match = _MEDLINE_DATE.search(medline) if medline else None
    return _iso(*match.groups()) if match else None


def _ymd(date: etree._Element | None) -> str | None:
    """ISO date from a Year/Month/Day element (DateRevised, DateCompleted, ArticleDate)."""
    parts = _kids(date)
    year = _val(parts.get("Year"))
    return _iso(year, _val(parts.get("Month")), _val(parts.get("Day"))) if year else None


def _iso(year: str, month: str | None, day: str | None) -> str | None:
    if not (len(year) == 4 and year.isdigit()):
        return None
    number = _month_number(month)
    if number is None:
        return year
    if day and day.isdigit() and 1 <= int(day) <= 31:
        return f"{year}-{number:02d}-{int(day):02d}"
    return f"{year}-{number:02d}"


def _month_number(month: str | None) -> int | None:
    if not month:
        return None
    if month.isdigit():
        number = int(month)
        return number if 1 <= number <= 12 else None
    return _MONTHS.get(month[:3].lower())


def _links(corrections: etree._Element | None) -> list[Link]:
    if corrections is None:
        return []
    links = []
    for item in corrections.iterchildren("CommentsCorrections"):
        ref_type = item.get("RefType")
        if ref_type:
            parts = _kids(item)
            links.append(
                Link(type=ref_type, pmid=_val(parts.get("PMID")), ref=_val(parts.get("RefSource")))
            )
    return links
