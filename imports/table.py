"""CSV exports (reference managers, bib-dedupe style, Scopus) into Records."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

from litmon.core.errors import UsageError
from litmon.core.records import Record, Skipped, normalize_doi
from litmon.imports.authors import detex, parse_authors
from litmon.imports.files import (
    ImportFileError,
    doi_from_links,
    fingerprint,
    iso_date,
    read_text,
)

DEFAULT_ID_COLUMN = "ID"
# Record field -> accepted column names, compared lower-case without punctuation. Only a
# column that is the record's own PMID or DOI gives it one: an id in a notes or abstract
# column ("Comment in: Lancet. 2020. PMID: 123") belongs to another record.
_COLUMNS = {
    "title": ("title", "ti", "articletitle", "documenttitle", "primarytitle"),
    "authors": ("author", "authors", "au", "authorfullnames"),
    "year": ("year", "py", "publicationyear"),
    "date": ("date", "pubdate", "publicationdate"),
    "journal": ("journal", "journaltitle", "sourcetitle", "secondarytitle", "t2", "booktitle"),
    "journal_abbrev": ("journalabbrev", "abbreviatedsourcetitle", "ja", "j2"),
    "volume": ("volume", "vl"),
    "issue": ("number", "issue", "is"),
    "pages": ("pages", "page", "pp"),
    "page_start": ("pagestart", "startpage", "sp"),
    "page_end": ("pageend", "endpage", "ep"),
    "doi": ("doi", "do"),
    "pmid": ("pmid", "pubmedid"),
    "pmcid": ("pmcid",),
    "abstract": ("abstract", "ab"),
    "issn": ("issn", "sn"),
    "url": ("url", "link"),
    "keywords": ("keywords", "authorkeywords", "kw"),
    "language": ("language", "languageoforiginaldocument", "la"),
}


def _simple(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def read_csv(
    path: str | Path, source: str, id_column: str = DEFAULT_ID_COLUMN
) -> Iterator[Record | Skipped]:
    """One Record per row; ``source_id`` is the row's value in ``id_column``, else (no such
    column, or an empty cell) a fingerprint of the paper, never the row's number: another
    export of the same search has another paper on that row.

    A column named other than the default must be there: a mistyped name is refused, not
    silently replaced by fingerprints. A row without a title is not a record: it comes out
    as :class:`Skipped` (file and line), like a RIS entry without one, and the rest of the
    file is still read.
    """
    reader = csv.reader(io.StringIO(read_text(path), newline=""), strict=True)
    try:
        header = next(reader, None)
        if not header:
            raise ImportFileError(path, 1, "empty file, expected a header row")
        columns = _map_columns(path, header, id_column)
        seen: set[str] = set()
        row_end = reader.line_num
        for row in reader:
            # a quoted cell may span lines: a row's errors name the line it starts on
            line, row_end = row_end + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            record = _record(columns, row, source)
            if not record.title:
                # one bad row of an export is reported, and the rest of the file still loads
                title_column = header[columns["title"]]
                yield Skipped(f"{path}: line {line}: row has no title ({title_column!r}); skipped")
                continue
            if not record.source_id:
                record.source_id = fingerprint(record)
            elif record.source_id in seen:
                raise ImportFileError(path, line, f"duplicate ID {record.source_id!r}")
            else:
                seen.add(record.source_id)
            yield record
    except csv.Error as error:
        raise ImportFileError(path, reader.line_num, f"not readable as CSV: {error}") from error


def _map_columns(path: str | Path, header: list[str], id_column: str) -> dict[str, int]:
    positions = {_simple(name): index for index, name in enumerate(header)}
    columns: dict[str, int] = {}
    if _simple(id_column) in positions:
        columns["id"] = positions[_simple(id_column)]
    elif id_column != DEFAULT_ID_COLUMN:
        # the command line named a column the file lacks: a usage error, not bad data
        columns_found = ", ".join(header)
        raise UsageError(
            f"{path}: no {id_column!r} column for --id-column (columns: {columns_found})"
        )
    for name, aliases in _COLUMNS.items():
        found = next((positions[a] for a in aliases if a in positions), None)
        if found is not None:
            columns[name] = found
    if "title" not in columns:
        raise ImportFileError(path, 1, f"no title column (columns: {', '.join(header)})")
    return columns


def _record(columns: dict[str, int], row: list[str], source: str) -> Record:
    def cell(name: str) -> str | None:
        index = columns.get(name)
        value = row[index].strip() if index is not None and index < len(row) else ""
        return value or None

    pages = cell("pages")
    if pages is None and cell("page_start"):
        pages = "-".join(p for p in (cell("page_start"), cell("page_end")) if p)
    keywords = cell("keywords")
    return Record(
        source=f"csv:{source}",
        source_id=cell("id") or "",
        title=detex(cell("title") or ""),
        authors=parse_authors(cell("authors")),
        pub_date=iso_date(cell("date")) or iso_date(cell("year")),
        journal=cell("journal"),
        journal_abbrev=cell("journal_abbrev"),
        volume=cell("volume"),
        issue=cell("issue"),
        pages=pages,
        doi=normalize_doi(cell("doi")) or doi_from_links([cell("url")]),
        pmid=_digits(cell("pmid")),
        pmcid=cell("pmcid"),
        abstract=cell("abstract"),
        issn=cell("issn"),
        url=cell("url"),
        keywords=[k.strip() for k in re.split(r"[;,]", keywords) if k.strip()] if keywords else [],
        language=cell("language"),
    )


def _digits(value: str | None) -> str | None:
    return value if value and value.isdigit() else None
