"""``litmon runs``: the crawl history, and ``litmon runs show``: one run in full."""

from __future__ import annotations

import click

from litmon import exits
from litmon.app import App, pass_app
from litmon.db import runs
from litmon.output import echo, listing_options, output_object, output_rows, plural, row_limit, text
from litmon.report import parse_date

_SHOWN_WARNINGS = 5
_SHOWN_RUNS = 20  # runs listed as text unless -n says otherwise


@click.group("runs", invoke_without_command=True)
@click.option(
    "--source",
    help="Only this source: exact (pubmed, feed:brain, csv:embase) or its kind"
    " (feed, csv, ingest, ris).",
)
@click.option(
    "--failed", is_flag=True, help="Only runs that failed, partly failed or were abandoned."
)
@click.option("--since", help="Only runs started on or after this UTC date (2026-01-31).")
@click.option(
    "-n", "--limit", type=click.IntRange(min=1),
    help=f"How many runs to show (default: {_SHOWN_RUNS} as text, every run with --json or --nl).",
)  # fmt: skip
@listing_options
@click.pass_context
def runs_command(
    ctx: click.Context,
    source: str | None,
    failed: bool,
    since: str | None,
    limit: int | None,
    as_json: bool,
    nl: bool,
) -> None:
    """The last crawl and ingest runs, newest first: status, duration, counts and errors.

    \b
      litmon runs --failed --since 2026-11-01    what went wrong this month
      litmon runs --source feed -n 50            the last 50 feed polls
      litmon runs show 123                       one run in full, with its retries and notes

    Exit 0 even when the runs listed failed (use `litmon check` for health); 2 for a bad
    option.
    """
    if ctx.invoked_subcommand is not None:
        return
    app = ctx.find_object(App)
    # a database that is not there has no runs; it is not created by looking
    rows = (
        runs.recent_runs(
            app.database(),
            row_limit(limit, _SHOWN_RUNS, as_json, nl),
            source=source,
            failed=failed,
            since=parse_date(since),
        )
        if app.config.db_path.exists()
        else []
    )
    if as_json or nl:
        output_rows(rows, nl=nl)
        return
    if not rows:
        filtered = source is not None or failed or since is not None
        echo(f"no {'matching ' if filtered else ''}runs yet in {app.config.db_path}")
        return
    for row in rows:
        echo(_summary(row))
        if row["error"]:
            echo(f"    error: {text(row['error'])}")
        for warning in row["warnings"][:_SHOWN_WARNINGS]:
            echo(f"    warning: {text(warning)}")
        hidden = len(row["warnings"]) - _SHOWN_WARNINGS
        if hidden > 0 or row["notes"]:
            extra = [plural(hidden, "more warning")] if hidden > 0 else []
            extra += [plural(len(row["notes"]), "note")] if row["notes"] else []
            echo(f"    ... {', '.join(extra)}: litmon runs show {row['id']}")


@runs_command.command("show")
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="The run as one JSON object.")
@pass_app
def show_run(app: App, run_id: int, as_json: bool) -> None:
    """One run in full: source, topic, window, who ran it (pid, host), when, how long,
    every count, its error, all its warnings and its notes (each retry, 429 and
    Retry-After, the PMIDs a short answer left out, a feed's error).

    Exit 2 when no run has that id.
    """
    row = runs.get_run(app.database(), run_id) if app.config.db_path.exists() else None
    if row is None:
        click.echo(f"litmon: no run #{run_id} in {app.config.db_path}", err=True)
        raise SystemExit(exits.USAGE)
    if as_json:
        output_object(row)
        return
    echo(_summary(row))
    window = f"{row['window_start']}..{row['window_end']}" if row["window_start"] else "-"
    echo(f"  window:   {text(window)}")
    echo(f"  process:  pid {row['pid'] or '?'} on {text(row['host'] or '?')}")
    echo(f"  started:  {row['started_at']}")
    echo(f"  finished: {row['finished_at'] or '(still running)'}")
    echo("  counts:   " + ", ".join(f"{name} {row[name]}" for name in runs.COUNTERS))
    if row["error"]:
        echo(f"  error:    {text(row['error'])}")
    for warning in row["warnings"]:
        echo(f"  warning:  {text(warning)}")
    for note in row["notes"]:
        echo(f"  {note['at']} {note['level']} {text(note['event'])}: {text(note['message'])}")


def _summary(row: dict) -> str:
    window = f" {row['window_start']}..{row['window_end']}" if row["window_start"] else ""
    took = f" in {_duration(row['seconds'])}" if row["seconds"] is not None else ""
    return (
        f"#{row['id']} {row['started_at']} {text(row['source'])}"
        f"{' ' + text(row['topic']) if row['topic'] else ''}{text(window)}: {row['status']}{took}"
        f" - {row['new']} new, {row['updated']} updated, {row['unchanged']} unchanged,"
        f" {row['fetched']} fetched, {plural(row['requests'], 'request')},"
        f" {plural(row['errors'], 'error')}"
        + (f", {row['deleted']} deleted by the source" if row["deleted"] else "")
        + (f", {row['refused']} refused" if row["refused"] else "")
    )


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
