"""``litmon export works|candidates``: stored records and the candidate queue out, as
JSONL, CSV (through the one CSV writer) or RIS."""

from __future__ import annotations

import json
from typing import TextIO

import click

from litmon.app import App, pass_app
from litmon.core.csv_writer import write_csv
from litmon.core.text import safe_json
from litmon.db.export import EXPORT_FIELDS, iter_works
from litmon.drafts_cli import export_summaries
from litmon.output import echo, plural
from litmon.review import STATES
from litmon.review.export import iter_candidates, write_jsonl, write_ris
from litmon.review.export import write_csv as write_candidates_csv


@click.group()
def export() -> None:
    """Write stored records out."""


@export.command("works")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option(
    "-o", "--output", type=click.File("w", encoding="utf-8"), default="-", help="Default: stdout."
)
@pass_app
def export_works(app: App, fmt: str, output: TextIO) -> None:
    """Write every work (one per article, duplicates folded) with the sources that saw it.

    JSONL has one JSON object per line; list fields are JSON arrays and `sources` is a list
    of {"source": ..., "id": ...}. CSV joins lists with "; "; a cell a spreadsheet would run
    as a formula (starting with = + - @, or a tab or carriage return) gets an apostrophe.
    """
    works = iter_works(app.database())
    if fmt == "jsonl":
        for work in works:
            output.write(safe_json(work) + "\n")
        return
    write_csv(works, EXPORT_FIELDS, output, _flat)


def _flat(name: str, value: object) -> object:
    """A list field as CSV text: sightings as source:id, links as their JSON."""
    if not isinstance(value, list):
        return value
    return "; ".join(
        f"{v['source']}:{v['id']}"
        if isinstance(v, dict) and "source" in v
        else json.dumps(v, ensure_ascii=False)
        if isinstance(v, dict)
        else str(v)
        for v in value
    )


@export.command("candidates")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "ris"]), default="jsonl",
              show_default=True)  # fmt: skip
@click.option("--state", type=click.Choice(STATES), help="Only candidates in this state.")
@click.option(
    "-o", "--output", type=click.File("w", encoding="utf-8"), default="-", help="Default: stdout."
)
@pass_app
def export_candidates(app: App, fmt: str, state: str | None, output: TextIO) -> None:
    """Write the candidates, best first, with their works' bibliographic fields.

    RIS carries the tags Zotero and EndNote import (TY, TI, AU, PY, DA, T2, VL, IS, SP, EP,
    DO, AN, AB, KW, UR; the state, score and topics in N1). CSV cells that a spreadsheet
    would run as a formula (starting with = + - @, or a tab or carriage return) are
    prefixed with an apostrophe.
    """
    writer = {"jsonl": write_jsonl, "csv": write_candidates_csv, "ris": write_ris}[fmt]
    count = writer(iter_candidates(app.database(), state), output)
    echo(plural(count, "candidate"), err=True)


export.add_command(export_summaries)
