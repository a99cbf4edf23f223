"""Labelled CSV files: works with a relevant (1) / not relevant (0) decision made elsewhere,
as public screening sets and other services' exports carry them."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

from litmon.core.records import normalize_doi
from litmon.imports.files import ImportFileError, read_text

REQUIRED = ("title", "abstract", "label")
OPTIONAL = ("keywords", "journal", "year", "doi", "pmid")
_YEAR = re.compile(r"\b(1[89]\d\d|2\d\d\d)\b")


@dataclass(frozen=True)
class LabelledRow:
    """One row of a labelled CSV; ``line`` is the line it starts on."""

    title: str
    abstract: str
    label: int
    keywords: tuple[str, ...]
    journal: str
    year: int | None
    doi: str | None
    pmid: str | None
    line: int


def read_labelled_csv(path: Path) -> list[LabelledRow]:
    """Every row of ``path`` (columns ``title``, ``abstract``, ``label`` 1/0; optionally
    ``keywords`` ``;``-separated, ``journal``, ``year``, ``doi``, ``pmid``; others are
    ignored). A missing column or a label other than 1 or 0 raises ImportFileError naming
    the file, the line and the column: a labels file read in part would teach in part."""
    reader = csv.reader(io.StringIO(read_text(path), newline=""), strict=True)
    try:
        header = next(reader, None)
        if not header:
            raise ImportFileError(path, 1, "empty file, expected a header row")
        positions = {name.strip().lower(): index for index, name in enumerate(header)}
        missing = [name for name in REQUIRED if name not in positions]
        if missing:
            raise ImportFileError(
                path,
                1,
                f"no {', '.join(repr(m) for m in missing)} column (columns: {', '.join(header)})",
            )
        rows: list[LabelledRow] = []
        row_end = reader.line_num
        for row in reader:
            # a quoted cell may span lines: a row's errors name the line it starts on
            line, row_end = row_end + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            rows.append(_row(path, line, positions, row))
        return rows
    except csv.Error as error:
        raise ImportFileError(path, reader.line_num, f"not readable as CSV: {error}") from error


def _row(path: Path, line: int, positions: dict[str, int], row: list[str]) -> LabelledRow:
    def cell(name: str) -> str:
        index = positions.get(name)
        return row[index].strip() if index is not None and index < len(row) else ""

    label = cell("label")
    if label not in ("0", "1"):
        raise ImportFileError(path, line, f"column 'label' must be 1 or 0, not {label!r}")
    year = _YEAR.search(cell("year"))
    pmid = cell("pmid")
    return LabelledRow(
        title=cell("title"),
        abstract=cell("abstract"),
        label=int(label),
        keywords=tuple(k.strip() for k in cell("keywords").split(";") if k.strip()),
        journal=cell("journal"),
        year=int(year.group(1)) if year else None,
        doi=normalize_doi(cell("doi")),
        pmid=pmid if pmid.isdigit() else None,
        line=line,
    )
