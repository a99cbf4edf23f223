"""RIS exports (EndNote, Zotero, Embase, Scopus) into Records."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from litmon.core.records import Record
from litmon.imports.authors import parse_authors
from litmon.imports.files import ImportFileError, iso_date, read_text

_TAG = re.compile(r"^([A-Z][A-Z0-9])  ?-(?: (.*)|\s*)$")
_PMID = re.compile(r"(?:PMID|PubMed ID)\s*:?\s*(\d{1,9})\b", re.I)


def read_ris(path: str | Path, source: str) -> Iterator[Record]:
    """One Record per ``TY`` .. ``ER`` entry; ``source_id`` from ``ID``, ``AN`` or its number."""
    fields: dict[str, list[str]] = {}
    start = 0
    number = 0
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
                number += 1
                yield _record(path, start, fields, source, number)
            fields, last_tag = {}, None
            continue
        if not fields:
            start = line_no
        fields.setdefault(tag, []).append(value)
        last_tag = tag
    if fields:
        number += 1
        yield _record(path, start, fields, source, number)


def _record(
    path: str | Path, line: int, fields: dict[str, list[str]], source: str, number: int
) -> Record:
    def first(*tags: str) -> str | None:
        return next((v for t in tags for v in fields.get(t, []) if v), None)

    title = first("TI", "T1", "CT", "BT")
    if title is None:
        raise ImportFileError(path, line, "entry has no title (TI or T1)")
    start, end = first("SP"), first("EP")
    pages = start if not end or (start and "-" in start) else f"{start or ''}-{end}".strip("-")
    notes = [v for t in ("AN", "N1", "M1", "C5") for v in fields.get(t, [])]
    pmid = next((m[1] for m in map(_PMID.search, notes) if m), None)
    journal, abbrev = first("T2", "JF", "JO", "JA", "J2"), first("JA", "J2", "JO")
    authors = [name for t in ("AU", "A1") for v in fields.get(t, []) for name in parse_authors(v)]
    return Record(
        source=f"ris:{source}",
        source_id=first("ID", "AN") or str(number),
        title=title,
        authors=authors,
        pub_date=_date(first("PY", "Y1"), first("DA")),
        journal=journal,
        journal_abbrev=abbrev if abbrev != journal else None,
        volume=first("VL"),
        issue=first("IS", "CP"),
        pages=pages,
        doi=first("DO"),
        pmid=pmid,
        abstract=first("AB", "N2"),
        issn=first("SN"),
        url=first("UR"),
        keywords=fields.get("KW", []),
        language=first("LA"),
    )


def _date(year: str | None, date: str | None) -> str | None:
    """The fullest of PY and DA that agree on the year."""
    by_year, by_date = iso_date(year), iso_date(date)
    if by_date and (by_year is None or by_date[:4] == by_year[:4]):
        return by_date if len(by_date) >= len(by_year or "") else by_year
    return by_year
