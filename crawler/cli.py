"""The ``litmon`` command line: a thin layer over the crawl, ingest and store functions."""

from __future__ import annotations

import csv
import json
import logging
import sys
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TextIO

import click
import sqlite_utils

from crawler.config import Config, ConfigError, load_config
from crawler.crawl import RunReport, crawl_pubmed
from crawler.entrez import EntrezClient
from crawler.lock import CrawlLocked, crawl_lock
from crawler.pubmed_xml import PubMedXMLError, iter_records
from db import runs
from db.export import EXPORT_FIELDS, iter_works
from db.records import Record
from db.schema import open_db
from db.store import SaveCounts, save_records

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
INGEST_BATCH = 500
log = logging.getLogger("litmon")


class App:
    """What every command needs: the config (loaded on first use) and the database."""

    def __init__(self, config_path: str | None, db_path: str | None) -> None:
        self._config_path = config_path
        self._db_path = db_path
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            try:
                config = load_config(self._config_path)
            except ConfigError as exc:
                raise click.UsageError(f"config error: {exc}") from None
            if self._db_path:
                config = replace(config, db_path=Path(self._db_path))
            self._config = config
        return self._config

    def database(self) -> sqlite_utils.Database:
        return open_db(self.config.db_path)


class BarProgress:
    """A progress bar on a terminal; a log line per batch otherwise (cron, pipes)."""

    def __init__(self) -> None:
        self._bar = None
        self._label = ""
        self._done = self._total = 0

    def start(self, label: str, total: int) -> None:
        self._label, self._done, self._total = label, 0, total
        if sys.stderr.isatty():
            self._bar = click.progressbar(length=total, label=label, file=sys.stderr)
            self._bar.__enter__()

    def advance(self, done: int) -> None:
        self._done += done
        if self._bar is not None:
            self._bar.update(done)
        else:
            log.info("%s: %d/%d records", self._label, self._done, self._total)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Config file (default: $LITMON_CONFIG, else the shipped config/litmon.toml).",
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False),
    help="SQLite database file (default: database.path from the config, or $LITMON_DB).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log each request and retry.")
@click.option("-q", "--quiet", is_flag=True, help="Only log warnings and errors.")
@click.version_option("0.1.0", prog_name="litmon")
@click.pass_context
def cli(
    ctx: click.Context, config_path: str | None, db_path: str | None, verbose: bool, quiet: bool
) -> None:
    """litmon finds new research on MS and neuroinflammation imaging.

    It crawls PubMed (NCBI E-utilities) and journal feeds on a schedule, stores one
    deduplicated record per article in SQLite, and logs every crawl.

    \b
    Try it offline:      litmon demo
    Crawl PubMed:        NCBI_EMAIL=you@example.org litmon crawl pubmed
    See what happened:   litmon runs
    Get the records:     litmon export works --format jsonl

    Exit codes: 0 ok, 1 a crawl or ingest failed (or partly failed), 2 usage or config error.
    """
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    ctx.obj = App(config_path, db_path)


pass_app = click.make_pass_decorator(App)


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-01-31") from None


@cli.group()
def crawl() -> None:
    """Fetch new records from a source into the database."""


@crawl.command("pubmed")
@click.option("--topic", "topic_names", multiple=True, help="Crawl only this topic (repeatable).")
@click.option("--since", help="Backfill from this Entrez date (YYYY-MM-DD); leaves checkpoints.")
@click.option("--until", help="Stop at this Entrez date (YYYY-MM-DD; default: today).")
@pass_app
def crawl_pubmed_command(
    app: App, topic_names: tuple[str, ...], since: str | None, until: str | None
) -> None:
    """Search PubMed for each topic's new records and store them.

    Each topic continues from where its last successful crawl ended (minus a few days of
    overlap); a first crawl looks back ncbi.lookback_days. Already-stored PMIDs are not
    fetched again. Each topic's run is logged: see `litmon runs`.
    """
    config = app.config
    topics = list(config.topics.values())
    if topic_names:
        unknown = [name for name in topic_names if name not in config.topics]
        if unknown:
            known = ", ".join(config.topics) or "none"
            raise click.BadParameter(f"unknown topic {unknown[0]!r} (configured: {known})")
        topics = [config.topics[name] for name in topic_names]
    if not topics:
        raise click.UsageError(f"no [topics] configured in {config.source}")
    since_date, until_date = _date(since), _date(until)
    with _exclusive(config):
        db = app.database()
        reports = crawl_pubmed(
            db,
            EntrezClient(config.ncbi),
            topics,
            since=since_date,
            until=until_date,
            progress=BarProgress(),
        )
    _print_reports(reports)
    if not all(report.ok for report in reports):
        sys.exit(EXIT_FAILED)


def _exclusive(config: Config) -> ExitStack:
    """Hold the database's crawl lock, or exit 1 saying who holds it."""
    stack = ExitStack()
    try:
        stack.enter_context(crawl_lock(config.db_path))
    except CrawlLocked as exc:
        click.echo(f"litmon: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    return stack


def _print_reports(reports: Iterable[RunReport]) -> None:
    for report in reports:
        counts = report.counts
        start, end = report.window
        click.echo(
            f"{report.topic}: {report.status} ({start}..{end}) - {counts.new} new,"
            f" {counts.updated} updated, {counts.unchanged} unchanged;"
            f" {counts.fetched} fetched in {counts.requests} requests"
        )
        if report.error:
            click.echo(f"  error: {report.error}", err=True)


@cli.group()
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
    db = app.database()
    failed = False
    for path in paths:
        run_id = runs.start_run(db, "ingest:pubmed-xml", Path(path).name)
        counts = runs.RunCounts()
        status, error = "ok", None
        batch: list[Record] = []
        try:
            for record in iter_records(path):
                batch.append(record)
                if len(batch) == INGEST_BATCH:
                    _count(counts, batch, save_records(db, batch))
                    batch = []
        except (PubMedXMLError, OSError) as exc:
            failed = True
            counts.errors += 1
            error = str(exc)
            click.echo(f"{path}: {error}", err=True)
        _count(counts, batch, save_records(db, batch))
        if error:
            status = "partial" if counts.fetched else "failed"
        runs.finish_run(db, run_id, counts, status, error)
        click.echo(
            f"{path}: {counts.fetched} records - {counts.new} new, {counts.updated} updated,"
            f" {counts.unchanged} unchanged"
        )
    if failed:
        sys.exit(EXIT_FAILED)


def _count(counts: runs.RunCounts, batch: list[Record], saved: SaveCounts) -> None:
    counts.fetched += len(batch)
    counts.new += saved.new
    counts.updated += saved.updated
    counts.unchanged += saved.unchanged


@cli.group()
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
    of {"source": ..., "id": ...}. CSV joins lists with "; ".
    """
    works = iter_works(app.database())
    if fmt == "jsonl":
        for work in works:
            output.write(json.dumps(work, ensure_ascii=False) + "\n")
        return
    writer = csv.DictWriter(output, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    for work in works:
        writer.writerow({key: _flat(value) for key, value in work.items()})


def _flat(value: object) -> object:
    if not isinstance(value, list):
        return value
    return "; ".join(
        f"{v['source']}:{v['id']}"
        if isinstance(v, dict) and "source" in v
        else json.dumps(v)
        if isinstance(v, dict)
        else str(v)
        for v in value
    )


@cli.command("runs")
@click.option("-n", "--limit", default=20, show_default=True, help="How many runs to show.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run.")
@pass_app
def runs_command(app: App, limit: int, as_json: bool) -> None:
    """The last crawl and ingest runs, newest first, with counts and errors."""
    rows = runs.recent_runs(app.database(), limit)
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
        return
    if not rows:
        click.echo("no runs yet")
        return
    for row in rows:
        window = f" {row['window_start']}..{row['window_end']}" if row["window_start"] else ""
        click.echo(
            f"#{row['id']} {row['started_at']} {row['source']}"
            f"{' ' + row['topic'] if row['topic'] else ''}{window}: {row['status']}"
            f" - {row['new']} new, {row['updated']} updated, {row['unchanged']} unchanged,"
            f" {row['fetched']} fetched, {row['requests']} requests, {row['errors']} errors"
        )
        if row["error"]:
            click.echo(f"    error: {row['error']}")


@cli.command()
@click.option(
    "--db",
    "demo_db",
    default="litmon-demo.db",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="Where the demo database goes.",
)
@pass_app
def demo(app: App, demo_db: str) -> None:
    """Crawl the bundled recorded PubMed responses offline and show what was stored.

    Starts a local E-utilities replay server on a free loopback port, crawls the shipped
    topics from it into a demo database, and prints the stored works. Running it again adds
    no duplicates.
    """
    from crawler.replay import serve_demo

    config = app.config
    with serve_demo() as server:
        settings = replace(config.ncbi, eutils_url=server.url)
        db = open_db(demo_db)
        click.echo(f"replay server at {server.url}; database {demo_db}")
        reports = crawl_pubmed(
            db, EntrezClient(settings), list(config.topics.values()), progress=BarProgress()
        )
    _print_reports(reports)
    works = list(iter_works(db))
    click.echo(f"\n{len(works)} works stored in {demo_db}:")
    for work in works[:10]:
        click.echo(f"  PMID {work['pmid']}  {work['pub_date'] or '':10}  {work['title'][:90]}")
    if len(works) > 10:
        click.echo(f"  ... and {len(works) - 10} more: litmon --db {demo_db} export works")
    if not all(report.ok for report in reports):
        sys.exit(EXIT_FAILED)


def main() -> None:
    cli(prog_name="litmon")
