"""Reading an import file as text, and the error every importer raises."""

from __future__ import annotations

import re
from pathlib import Path

from litmon.core.errors import SourceError

_DATE = re.compile(r"(\d{4})(?:[/-](\d{1,2}))?(?:[/-](\d{1,2}))?")


class ImportFileError(SourceError):
    """A file that cannot be imported; the message names the file and the line."""

    def __init__(self, path: str | Path, line: int, problem: str) -> None:
        super().__init__(f"{path}: line {line}: {problem}")
        self.path = str(path)
        self.line = line


def read_text(path: str | Path) -> str:
    """The file's text as UTF-8 (a byte-order mark is dropped)."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ImportFileError(path, 0, f"cannot read the file: {error.strerror}") from error
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportFileError(path, line, "not UTF-8 text; save the export as UTF-8") from error


def iso_date(value: str | None) -> str | None:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` from "2010", "2010/03/15/", "2010-3"."""
    match = _DATE.search(value or "")
    if match is None:
        return None
    year, month, day = match.groups()
    if not month or not 1 <= int(month) <= 12:
        return year
    if not day or not 1 <= int(day) <= 31:
        return f"{year}-{int(month):02d}"
    return f"{year}-{int(month):02d}-{int(day):02d}"
