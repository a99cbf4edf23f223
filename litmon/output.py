"""How every command prints, one copy for all (as sqlite-utils' ``output_options`` and
``output_rows``): a listing is one JSON array with ``--json`` (streamed, every row unless
``-n`` is given), one JSON object a line with ``--nl``, else a text table; a command that
prints one thing prints one JSON object. Text from the database reaches the terminal only
through :func:`text` / :func:`echo` / :func:`table`, which spell out control characters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import click

from litmon.core.text import plural, safe_json, visible

__all__ = [
    "Column",
    "echo",
    "json_text",
    "listing_options",
    "output_object",
    "output_rows",
    "plural",
    "row_limit",
    "table",
    "text",
]

F = TypeVar("F", bound=Callable[..., object])


def listing_options(command: F) -> F:
    """``--json`` and ``--nl`` for a listing command (its function takes ``as_json``, ``nl``)."""
    command = click.option(
        "--nl", is_flag=True, help="One JSON object per line (every row unless -n is given)."
    )(command)
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="One JSON array (every row, streamed, unless -n is given).",
    )(command)


def row_limit(limit: int | None, default: int, as_json: bool, nl: bool) -> int | None:
    """How many rows a listing shows: ``-n`` when given; else every row as JSON (None),
    ``default`` rows as text."""
    if limit is not None:
        return limit
    return None if as_json or nl else default


def json_text(value: object, *, indent: int | None = None) -> str:
    """``value`` as JSON text, non-ASCII kept but no control character raw."""
    return safe_json(value, indent=indent)


def output_rows(rows: Iterable[dict], *, nl: bool) -> None:
    """Rows as one JSON array, one row a line (``[{...},`` / `` {...}]``), or with ``nl``
    one object a line; written as they come, so a long listing starts at once."""
    if nl:
        for row in rows:
            click.echo(json_text(row))
        return
    first = True
    for row in rows:
        click.echo(("[" if first else ",\n ") + json_text(row), nl=False)
        first = False
    click.echo("[]" if first else "]")


def output_object(value: object, *, compact: bool = False) -> None:
    """One thing as one JSON object: indented, or on one line when ``compact``."""
    click.echo(json_text(value, indent=None if compact else 2))


def text(value: object, *, lines: bool = False, width: int | None = None) -> str:
    """A value from the database for a terminal: controls spelled out, \\n kept only when
    ``lines``; cut to ``width`` characters with "…"."""
    shown = visible("" if value is None else str(value), lines=lines)
    if width is not None and len(shown) > width:
        return shown[: width - 1] + "…"
    return shown


def echo(line: str = "", *, err: bool = False) -> None:
    """Print a line of the CLI's own text: any control character a caller let through
    (everything but \\n) is spelled out, so nothing reaches the terminal raw."""
    click.echo(visible(line, lines=True), err=err)


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: its header, the cell of a row, the widest it gets (longer cells are
    cut with "…"), and whether it is right-aligned (numbers)."""

    header: str
    cell: Callable[[dict], object]
    width: int | None = None
    right: bool = False


def table(
    rows: Iterable[dict],
    columns: Iterable[Column],
    *,
    details: Callable[[dict], Iterable[str]] | None = None,
) -> Iterator[str]:
    """Rows as a text table under a header line: each column as wide as its widest cell
    (so columns stay put from one-digit to five-digit ids), the last one not padded;
    ``details`` gives indented lines under a row (already made safe by :func:`text`)."""
    rows = list(rows)
    columns = list(columns)
    cells = [[text(column.cell(row), width=column.width) for column in columns] for row in rows]
    widths = [
        max([len(column.header), *(len(line[index]) for line in cells)])
        for index, column in enumerate(columns)
    ]

    def joined(values: list[str]) -> str:
        padded = [
            value.rjust(width) if column.right else value.ljust(width)
            for value, width, column in zip(values, widths, columns, strict=True)
        ]
        return "  ".join(padded).rstrip()

    yield joined([column.header for column in columns])
    for row, line in zip(rows, cells, strict=True):
        yield joined(line)
        if details is not None:
            yield from (f"    {detail}" for detail in details(row))
