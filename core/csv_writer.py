"""The one CSV writer: every CSV litmon writes goes through :func:`write_csv`.

A cell that a spreadsheet would run as a formula is made text: Excel, LibreOffice and
Google Sheets treat a cell starting with = + - @ (and a tab or carriage return before one)
as a formula (OWASP, "CSV injection"); a leading apostrophe makes it plain text.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TextIO

__all__ = ["FORMULA_START", "cell", "write_csv"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """One value as a safe cell: None empty, a list joined with "; ", a formula as text."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        value = "; ".join(str(item) for item in value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def write_csv(
    rows: Iterable[Mapping[str, object]],
    fields: Sequence[str],
    out: TextIO,
    flatten: Callable[[str, object], object] | None = None,
) -> int:
    """A header of ``fields``, then one line per row; ``flatten(field, value)`` may first
    turn a structured value into text. Returns the number of rows written."""
    writer = csv.writer(out)
    writer.writerow(fields)
    count = 0
    for row in rows:
        values = ((flatten(name, row.get(name)) if flatten else row.get(name)) for name in fields)
        writer.writerow([cell(value) for value in values])
        count += 1
    return count
