"""RIS exports (EndNote, Zotero, Embase, Scopus) into Records."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from litmon.core.records import Record, Skipped, normalize_doi
from litmon.imports.authors import parse_authors
from litmon.imports.files import (
    ImportFileError,
    doi_from_links,
    fingerprint,
    iso_date,
    read_text,
)

_TAG = re.compile(r"^([A-Z][A-Z0-9])  ?-(?: (.*)|\s*)$")
# DB (name of database) or DP (database provider) of a PubMed record: "PubMed", "NLM",
# "MEDLINE", "Ovid MEDLINE(R) ALL". Some writers put a date in DP, which names none of these.
_PUBMED_DATABASE = re.compile(r"\b(?:pubmed|medline|nlm)\b", re.IGNORECASE)
_OVID = re.compile(r"^\s*ovid\b", re.IGNORECASE)
_PMID = re.compile(r"^\d{1,9}$")


def read_ris(path: str | Path, source: str) -> Iterator[Record | Skipped]:
    """One Record per ``TY`` .. ``ER`` entry; ``source_id`` is the entry's ``ID`` or ``AN``,
    else a fingerprint of the paper (never its position in the file, which another export
    of the same search gives to another paper). An entry without a title comes out as
    :class:`Skipped` (file and line); the entries after it are still read."""
    fields: dict[str, list[str]] = {}
    start = 0
    last_tag = None
    for line_no, line in enumerate(read_text(path).splitlines(), start=1):
        match = _TAG.match(line)
        if match is None:
            if not line.strip():
                continue
            if last_tag is None:
                raise ImportFileError(path, line_no, "not a RIS tag line (expected 'TY  - ')")
            fields[last_tag][-1] += " " + line.strip()
            continue
        tag, value = match[1], (match[2] or "").strip()
        if tag == "ER":
            if fields:
                yield _record(path, start, fields, source)
            fields, last_tag = {}, None
            continue
        if not fields:
            start = line_no
        fields.setdefault(tag, []).append(value)
        last_tag = tag
    if fields:
        yield _record(path, start, fields, source)


def _record(
    path: str | Path, line: int, fields: dict[str, list[str]], source: str
) -> Record | Skipped:
    def first(*tags: str) -> str | None:
        return next((v for t in tags for v in fields.get(t, []) if v), None)

    title = first("TI", "T1", "CT", "BT")
    if title is None:
        # one bad entry of an export is reported, and the rest of the file still loads
        return Skipped(f"{path}: line {line}: entry has no title (TI or T1); skipped")
    start, end = first("SP"), first("EP")
    pages = start if not end or (start and "-" in start) else f"{start or ''}-{end}".strip("-")
    journal, abbrev = first("T2", "JF", "JO", "JA", "J2"), first("JA", "J2", "JO")
    authors = [name for t in ("AU", "A1") for v in fields.get(t, []) for name in parse_authors(v)]
    record = Record(
        source=f"ris:{source}",
        source_id=first("ID", "AN") or "",
        title=title,
        authors=authors,
        pub_date=_date(first("PY", "Y1"), first("DA")),
        journal=journal,
        journal_abbrev=abbrev if abbrev != journal else None,
        volume=first("VL"),
        issue=first("IS", "CP"),
        pages=pages,
        doi=normalize_doi(first("DO")) or doi_from_links(fields.get("UR", [])),
        pmid=_pmid(fields),
        abstract=first("AB", "N2"),
        issn=first("SN"),
        url=first("UR"),
        keywords=fields.get("KW", []),
        language=first("LA"),
    )
    record.source_id = record.source_id or fingerprint(record)
    return record


def _pmid(fields: dict[str, list[str]]) -> str | None:
    """The entry's own accession number when its database is PubMed/MEDLINE: ``AN``, or
    ``ID`` in Ovid's exports (Ovid writes its accession number there; for other writers
    ``ID`` is their own reference number). A PMID in a note ("Comment in: ... PMID: 123")
    is another record's, and Embase's or Scopus's accession numbers are no PMIDs."""
    databases = fields.get("DB", []) + fields.get("DP", [])
    if not any(_PUBMED_DATABASE.search(name) for name in databases):
        return None
    tags = ("AN", "ID") if any(_OVID.match(name) for name in fields.get("DB", [])) else ("AN",)
    return next((v for t in tags for v in fields.get(t, []) if _PMID.match(v)), None)


def _date(year: str | None, date: str | None) -> str | None:
    """The fullest of PY and DA that agree on the year."""
    by_year, by_date = iso_date(year), iso_date(date)
    if by_date and (by_year is None or by_date[:4] == by_year[:4]):
        return by_date if len(by_date) >= len(by_year or "") else by_year
    return by_year
