"""The ``litmon`` command line: a thin layer over the crawl, ingest and store functions."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

import click
import sqlite_utils

from litmon import exits, logs
from litmon.accounts_cli import tokens, users
from litmon.app import App, BarProgress, pass_app
from litmon.core.csv_writer import write_csv
from litmon.core.errors import UsageError
from litmon.core.records import Record
from litmon.core.text import safe_json
from litmon.core.version import VERSION
from litmon.crawl_cli import crawl, schedule
from litmon.crawler.pubmed_xml import iter_items
from litmon.db import merge, recheck
from litmon.db.export import EXPORT_FIELDS, iter_works
from litmon.db.feed_state import failing_feeds, feed_status
from litmon.db.schema import open_db
from litmon.db.storage import as_error
from litmon.db_cli import db_group
from litmon.deploy_cli import init, notify
from litmon.drafts_cli import drafts, export_summaries
from litmon.eval_cli import eval_group
from litmon.imports.ris import read_ris
from litmon.imports.table import DEFAULT_ID_COLUMN, read_csv
from litmon.jobs import after_storing, demo_job
from litmon.model_cli import model_group
from litmon.ops_cli import check_command, status_command
from litmon.output import echo, listing_options, output_object, output_rows, plural, text
from litmon.pipeline.feeds import ingest_feed_sources
from litmon.pipeline.ingest import ingest_records
from litmon.pipeline.run import Run
from litmon.queue_cli import export_candidates, queue, review_command
from litmon.replay.server import serve_demo
from litmon.report import exit_for, print_reports, print_warnings
from litmon.runs_cli import runs_command
from litmon.score_cli import score_command
from litmon.serve_cli import serve
from litmon.summarize_cli import summarize_command

log = logging.getLogger("litmon")


class _Litmon(click.Group):
    """Turns the errors of the table in :mod:`litmon.core.errors` (and the database and disk
    failures :func:`~litmon.db.storage.as_error` words as such) into one line and the exit
    code the table gives; any other exception is a bug and keeps its traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            error = as_error(exc, _db_path(ctx))
            if error is None:
                raise
            click.echo(f"litmon: {error.line()}", err=True)
            ctx.exit(error.exit_code)


def _db_path(ctx: click.Context) -> Path | None:
    app = ctx.find_object(App)
    return app.db_path if app is not None else None


@click.group(cls=_Litmon, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Config file (default: $LITMON_CONFIG, else the shipped defaults; `litmon init`"
    " writes an editable one).",
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False),
    help="SQLite database file (default: database.path from the config, or $LITMON_DB).",
)
@click.option("-v", "--verbose", is_flag=True, help="Log each request and retry.")
@click.option("-q", "--quiet", is_flag=True, help="Only log warnings and errors.")
@click.version_option(VERSION, prog_name="litmon")
@click.pass_context
def cli(
    ctx: click.Context, config_path: str | None, db_path: str | None, verbose: bool, quiet: bool
) -> None:
    """litmon finds new research on MS and neuroinflammation imaging.

    It crawls PubMed (NCBI E-utilities) and journal feeds on a schedule, stores one
    deduplicated record per article in SQLite, and logs every crawl.

    \b
    Try it offline:      litmon demo
    Set up a deployment: litmon init ./deploy   (then --config ./deploy/litmon.toml)
    Crawl PubMed:        NCBI_EMAIL=you@example.org litmon crawl pubmed
    See what happened:   litmon runs
    Get the records:     litmon export works --format jsonl

    \b
    Exit codes: 0 ok; 1 a run failed or partly failed; 2 usage or config error;
    3 nothing to do; 4 conflict; 75 a lock is held, or a crawl was stopped (try again later).
    """
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    # stderr until the config is loaded, then its [log] file and format (litmon/logs.py)
    logs.configure(level, verbose=verbose)
    ctx.obj = App(config_path, db_path)


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
        line = outcome.summary()
        click.echo(line, err=outcome.status == "failed")
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
        click.echo(shown, err=True)
    click.echo(
        f"{path}: {plural(counts.fetched, 'record')} - {counts.new} new, {counts.updated} updated,"
        f" {counts.unchanged} unchanged"
    )
    return run


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


@cli.command("feeds")
@click.option(
    "--failing-days",
    default=3.0,
    show_default=True,
    help="Report feeds that have failed every poll for this many days.",
)
@click.option("--check", is_flag=True, help="Exit 1 if any feed is failing that long.")
@listing_options
@pass_app
def feeds_command(app: App, failing_days: float, check: bool, as_json: bool, nl: bool) -> None:
    """Each polled feed's state: last success, consecutive failures, next poll, last error.

    With --check it is a health check for monitoring: exit 1 when a feed has failed for
    --failing-days or more.
    """
    db = app.database()
    rows = feed_status(db)
    failing = failing_feeds(db, days=failing_days)
    if as_json or nl:
        output_rows(rows, nl=nl)
    elif not rows:
        echo("no feeds polled yet: litmon crawl feeds")
    else:
        for row in rows:
            echo(
                f"{text(row['name'])}: last success {row['last_success'] or 'never'},"
                f" {plural(row['consecutive_failures'], 'failure')} in a row,"
                f" next poll {row['next_poll_at']}"
            )
            if row["last_error"]:
                echo(f"    last error: {text(row['last_error'])}")
    for row in failing:
        echo(
            f"FAILING for {row['failing_days']:.1f} days: {text(row['name'])} ({text(row['url'])})",
            err=True,
        )
    if check and failing:
        sys.exit(exits.FAILED)


@cli.group()
def dupes() -> None:
    """Possible duplicates the dedup was not sure about: list, merge, split; recheck its
    earlier automatic merges after an upgrade."""


@dupes.command("list")
@click.option(
    "--status",
    type=click.Choice(["open", "merged", "distinct"]),
    default="open",
    show_default=True,
)
@listing_options
@pass_app
def dupes_list(app: App, status: str, as_json: bool, nl: bool) -> None:
    """Pairs of works that may be one article, most similar first."""
    pairs = merge.list_possible_duplicates(app.database(), status)
    if as_json or nl:
        output_rows(pairs, nl=nl)
        return
    if not pairs:
        echo(f"no {status} possible duplicates")
    for pair in pairs:
        echo(
            f"works {pair['work_id']} and {pair['other_id']}: similarity {pair['score']:.2f}"
            f" ({text(pair['reason'])})"
        )
        echo(f"    {text(pair['work_title'], width=100)}")
        echo(f"    {text(pair['other_title'], width=100)}")


@dupes.command("merge")
@click.argument("kept_id", type=int)
@click.argument("merged_id", type=int)
@click.option("--reason", default="editor", show_default=True, help="Noted with the merge.")
@pass_app
def dupes_merge(app: App, kept_id: int, merged_id: int, reason: str) -> None:
    """Merge work MERGED_ID into KEPT_ID (undo with `litmon dupes split`)."""
    merge_id = merge.merge_works(app.database(), kept_id, merged_id, reason)
    click.echo(f"merged work {merged_id} into {kept_id} (merge #{merge_id})")


@dupes.command("split")
@click.argument("work_id", type=int)
@click.argument("other_id", type=int)
@pass_app
def dupes_split(app: App, work_id: int, other_id: int) -> None:
    """Mark two works as different papers; if they were merged, undo the merge."""
    merge_id = merge.split_works(app.database(), work_id, other_id)
    if merge_id is None:
        click.echo(f"works {work_id} and {other_id} marked as different papers")
    else:
        click.echo(f"undid merge #{merge_id}: works {work_id} and {other_id} are apart")


@dupes.command("recheck")
@click.option("--dry-run", is_flag=True, help="Report the merges it would undo; undo none.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per merge, one a line.")
@pass_app
def dupes_recheck(app: App, dry_run: bool, as_json: bool) -> None:
    """Judge the dedup's earlier automatic merges by today's rules; undo those it no longer makes.

    After an upgrade that changed the dedup rules (for example: different issue numbers
    now keep the issues of a recurring column apart), the merges an earlier version made on
    its own are judged again, newest first. Each one the rules no longer make is undone like
    `litmon dupes split` (its sightings go back to the merged work, the pair is marked
    distinct) and reported: merge id, both works and titles, and why. An editor's merges are
    never revisited. Exit 3 when no merge needs undoing, 1 when one could not be undone.
    """
    found = recheck.recheck_merges(app.database(), dry_run=dry_run)
    for item in found:
        if as_json:
            output_object(item.to_dict(), compact=True)
            continue
        action = "would undo" if dry_run else "undid" if item.undone else "could not undo"
        echo(
            f"{action} merge #{item.merge_id} (work {item.merged_id} into {item.kept_id}):"
            f" {text(item.why)}{f' ({text(item.note)})' if item.note else ''}"
        )
        echo(f"    {item.kept_id}: {text(item.kept_title, width=100)}")
        echo(f"    {item.merged_id}: {text(item.merged_title, width=100)}")
    if not found:
        if not as_json:
            click.echo("no automatic merge needs undoing")
        sys.exit(exits.NOTHING_TO_DO)
    if any(item.note for item in found):
        sys.exit(exits.FAILED)


@cli.command()
@click.option(
    "--serve",
    is_flag=True,
    help="Only start the replay server and print its URL (for LITMON_EUTILS_URL); Ctrl-C stops.",
)
@click.option("--port", default=0, show_default=True, help="Port for --serve (0: any free one).")
@pass_app
def demo(app: App, serve: bool, port: int) -> None:
    """Crawl the bundled recorded PubMed responses offline and show what was stored.

    Starts a local E-utilities replay server on a free loopback port, crawls the shipped
    topics from it into a demo database, and prints the stored works. Running it again adds
    no duplicates. The database is litmon-demo.db unless --db names another.

    With --serve it only runs the replay server, so that a real crawl can be tried against
    it from another shell:

    \b
      litmon demo --serve
      LITMON_EUTILS_URL=http://127.0.0.1:PORT/ litmon crawl pubmed
    """
    if serve:
        try:
            server = serve_demo(port)
        except OSError as exc:
            raise UsageError(f"cannot serve on port {port}: {exc.strerror or exc}") from exc
        with server:
            click.echo(f"replay server at {server.url}")
            click.echo(f"try: LITMON_EUTILS_URL={server.url} litmon crawl pubmed")
            try:
                server.wait()
            except KeyboardInterrupt:
                pass
        return
    demo_db = app.db_override or "litmon-demo.db"
    click.echo(f"crawling the bundled PubMed responses into {demo_db}")
    reports = demo_job(app.config, Path(demo_db), progress=BarProgress())
    print_reports(reports)
    works = list(iter_works(open_db(demo_db)))
    click.echo(f"\n{len(works)} works stored in {demo_db}:")
    for work in works[:10]:
        title = work["title"] if len(work["title"]) <= 90 else work["title"][:89] + "…"
        click.echo(f"  PMID {work['pmid']}  {work['pub_date'] or '':10}  {title}")
    if len(works) > 10:
        click.echo(f"  ... and {len(works) - 10} more: litmon --db {demo_db} export works")
    _next_steps(open_db(demo_db), demo_db)
    exit_for(reports)


def _next_steps(db: sqlite_utils.Database, demo_db: str) -> None:
    """What the demo queued and the commands a newcomer tries next (README, "A first session")."""
    waiting, top = db.execute(
        "SELECT count(*), (SELECT id FROM candidates WHERE state = 'new' AND merged_into IS NULL"
        " ORDER BY score DESC, id LIMIT 1) FROM candidates"
        " WHERE state = 'new' AND merged_into IS NULL"
    ).fetchone()
    on = f"litmon --db {demo_db}"
    click.echo(f"\n{plural(waiting, 'candidate')} queued for review, best first. Next:")
    steps = [
        ("the ranked queue", f"{on} queue list"),
        ("one candidate, its abstract and why it ranks", f"{on} queue show {top or 'ID'}"),
        ("approve it for a lay summary", f"{on} review {top or 'ID'} approve"),
        ("draft it with a local model (README)", f"{on} summarize --once"),
        ("the editors' review page", f"{on} users add NAME && {on} serve"),
        ("the crawl log", f"{on} runs"),
    ]
    width = max(len(why) for why, _ in steps) + 1
    for why, command in steps:
        click.echo(f"  {why + ':':<{width}} {command}")


cli.add_command(crawl)
cli.add_command(schedule)
cli.add_command(runs_command)
cli.add_command(init)
cli.add_command(notify)
cli.add_command(score_command)
cli.add_command(model_group)
cli.add_command(queue)
cli.add_command(review_command)
cli.add_command(users)
cli.add_command(tokens)
cli.add_command(serve)
cli.add_command(status_command)
cli.add_command(check_command)
cli.add_command(db_group)
cli.add_command(eval_group)
cli.add_command(summarize_command)
cli.add_command(drafts)
export.add_command(export_candidates)
export.add_command(export_summaries)


def main() -> None:
    """The ``litmon`` entry point."""
    cli(prog_name="litmon")
