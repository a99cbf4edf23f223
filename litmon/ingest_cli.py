"""``litmon ingest``: records from files (PubMed XML, feeds, CSV and RIS exports) into the
database through the same dedup as crawls."""

from __future__ import annotations

import sys
from collections.abc import Iterable

import click
import sqlite_utils

from litmon import exits
from litmon.app import App, pass_app
from litmon.core.records import Record
from litmon.crawler.pubmed_xml import iter_items
from litmon.imports.ris import read_ris
from litmon.imports.table import DEFAULT_ID_COLUMN, read_csv
from litmon.jobs import after_storing
from litmon.output import echo, plural, text
from litmon.pipeline.feeds import ingest_feed_sources
from litmon.pipeline.ingest import ingest_records
from litmon.pipeline.run import Run
from litmon.report import exit_for, print_warnings


@click.group()
def ingest() -> None:
    """Load records from files into the database (same dedup as crawls)."""


@ingest.command("pubmed-xml")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@pass_app
def ingest_pubmed_xml(app: App, paths: tuple[str, ...]) -> None:
    """Load PubMed XML files: efetch output, PubMed "Save > XML" exports, or annual
    baseline / daily update files (.xml or .xml.gz).

    A broken file is reported and the others are still loaded; records before the break in
    that file are kept. Loading the same file again changes nothing.
    """
    db = app.database(create=True)
    reports = [_ingest(db, "ingest:pubmed-xml", path, iter_items(path)) for path in paths]
    after_storing(app.config, db)
    exit_for(reports)


@ingest.command("feed")
@click.argument("sources", nargs=-1, required=True)
@click.option("--name", help="Feed name for the records (default: from the file or host name).")
@pass_app
def ingest_feed(app: App, sources: tuple[str, ...], name: str | None) -> None:
    """Load RSS/Atom feed files or URLs once (no polling state is kept).

    Many sources in one call: a broken one is reported in one line and skipped, the rest
    are loaded. Items are deduplicated against everything already stored.
    """
    db = app.database(create=True)
    outcomes = ingest_feed_sources(db, list(sources), name=name, user_agent=app.config.user_agent)
    after_storing(app.config, db)
    for outcome in outcomes:
        echo(text(outcome.summary()), err=outcome.status == "failed")
    if any(outcome.status == "failed" for outcome in outcomes):
        sys.exit(exits.FAILED)


@ingest.command("csv")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--source", "source_name", required=True, help="Name of the search, e.g. embase.")
@click.option(
    "--id-column",
    default=DEFAULT_ID_COLUMN,
    show_default=True,
    help="Column holding each row's own id (the export's record number). Optional for the"
    " default; a column named here must exist.",
)
@pass_app
def ingest_csv(app: App, path: str, source_name: str, id_column: str) -> None:
    """Load a reference-manager or database export (CSV: title, authors, year, journal,
    volume, issue, pages, DOI...) through the same dedup as crawls.

    Authors may be BibTeX-style ("Last, F. and Last, F.") or separated by ";".
    Each row's sighting is kept as csv:SOURCE with the row's id; a row without one gets a
    fingerprint of the paper (DOI, title, year, first author), never its position, so a
    second export under the same --source adds to the first instead of overwriting it.
    A row without a title is skipped and reported with its line; the rest still loads.
    """
    _ingest_file(app, f"csv:{source_name}", path, read_csv(path, source_name, id_column))


@ingest.command("ris")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--source", "source_name", required=True, help="Name of the search, e.g. scopus.")
@pass_app
def ingest_ris(app: App, path: str, source_name: str) -> None:
    """Load a RIS export (EndNote, Zotero, Embase, Scopus) through the same dedup as crawls.

    Each entry is kept as ris:SOURCE with its ID (or AN), else a fingerprint of the paper.
    A PMID is taken only from a PubMed/MEDLINE record's accession number, never from notes
    such as "Comment in: ... PMID: 123".
    """
    _ingest_file(app, f"ris:{source_name}", path, read_ris(path, source_name))


def _ingest_file(app: App, source: str, path: str, records: Iterable[Record]) -> None:
    db = app.database(create=True)
    report = _ingest(db, source, path, records)
    after_storing(app.config, db)
    exit_for([report])


def _ingest(db: sqlite_utils.Database, source: str, path: str, records: Iterable[Record]) -> Run:
    """Store one file as one logged run; print its outcome in a line (and the error)."""
    run = ingest_records(db, source, path, records)
    counts = run.counts
    print_warnings(run)
    if run.error is not None:
        shown = run.error if run.error.startswith(str(path)) else f"{path}: {run.error}"
        echo(text(shown), err=True)
    echo(
        f"{path}: {plural(counts.fetched, 'record')} - {counts.new} new, {counts.updated} updated,"
        f" {counts.unchanged} unchanged"
    )
    return run
