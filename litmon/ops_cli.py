"""``litmon status`` (what every source, the database, the queue and the scheduler are doing)
and ``litmon check`` (the same, judged, for Nagios-style monitoring)."""

from __future__ import annotations

import re
import sqlite3
import sys
from datetime import timedelta
from pathlib import Path

import click
from prometheus_client import CollectorRegistry, Gauge, generate_latest

from litmon import exits
from litmon.app import App, pass_app, writable_target
from litmon.core.clock import parse_stamp
from litmon.health import Health, SourceHealth, assess, human, integrity, mib
from litmon.output import echo, json_text, plural
from litmon.output import text as shown
from litmon.scoring.run import outdated_line


class Duration(click.ParamType):
    """``90m``, ``36h``, ``2d``, ``1w`` (or seconds: ``45s``)."""

    name = "duration"
    _UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> timedelta:
        if isinstance(value, timedelta):
            return value
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", str(value))
        if not match or float(match[1]) <= 0:
            self.fail(f"{value!r} is not a duration like 90m, 36h, 2d or 1w", param, ctx)
        return timedelta(seconds=float(match[1]) * self._UNITS[match[2]])


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "prometheus"]),
    default="text",
    show_default=True,
    help="json: one object; prometheus: the text exposition format, litmon_* metrics.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write to this file instead of stdout, atomically (a temporary file renamed onto it,"
    " as node_exporter's textfile collector needs: name it *.prom in its directory).",
)
@pass_app
def status_command(app: App, as_json: bool, fmt: str, output: str | None) -> None:
    """Per source (each PubMed topic, each enabled feed): last success, last failure and
    its error, failures in a row, next scheduled run; the database's size and counts; the
    queue by state and its longest-waiting approved candidate; the scheduler's heartbeat
    ("not used" when [schedule] runner = "cron"). Failing sources come first.

    Exit 0 whatever the figures say: `litmon check` judges them. For node_exporter, from
    cron every few minutes:

    \b
      litmon status --format prometheus -o /var/lib/node_exporter/textfile/litmon.prom
    """
    if as_json and fmt not in ("text", "json"):
        raise click.BadParameter(f"--json and --format {fmt} contradict each other")
    health = assess(app.config, app.database())
    fmt = "json" if as_json else fmt
    if fmt == "prometheus":
        text = generate_latest(_metrics(health)).decode()
    elif fmt == "json":
        text = json_text(health.as_dict(), indent=2) + "\n"
    else:
        text = _text(health) + "\n"
    if output:
        _write_atomically(writable_target(Path(output)), text)
    else:
        echo(text.removesuffix("\n"))


@click.command("check")
@click.option(
    "--max-age",
    type=Duration(),
    help="Report a source that has not succeeded for this long (90m, 36h, 2d), instead of"
    " twice its own interval.",
)
@pass_app
def check_command(app: App, max_age: timedelta | None) -> None:
    """Health check for Nagios-style monitoring and systemd's OnFailure: exit 0 with one
    "OK ..." line when healthy, else exit 1 with one line per problem, the first line the
    summary ("CRITICAL: ...").

    \b
    Problems:
      a source that has not succeeded within its window: twice its interval (PubMed: of
        the [schedule] pubmed line; a feed: its interval_minutes, or the [schedule] feeds
        line if longer), or --max-age; a source that never ran gets a window of grace
        from the database's first run or the config's last change, whichever is later
      the database fails PRAGMA quick_check
      the scheduler's heartbeat is older than 3 intervals (only with [schedule]
        runner = "daemon": cron keeps no heartbeat)
      a dead-lettered candidate not yet retried or discarded
      a withdrawn candidate's summary whose takedown is not acknowledged

    Exit 2 when the check cannot run (a config error).
    """
    if not app.config.db_path.exists():
        click.echo(f"CRITICAL: no database at {app.config.db_path}: nothing has run yet")
        sys.exit(exits.FAILED)
    db = app.database()
    damaged = integrity(db)
    try:
        health = assess(app.config, db, max_age=max_age)
    except sqlite3.DatabaseError:
        if damaged is None:
            raise
        # the damage is the news; the figures cannot be read past it
        click.echo(f"CRITICAL: {damaged}")
        sys.exit(exits.FAILED)
    problems = ([damaged] if damaged else []) + health.problems
    if not problems:
        echo(f"OK: {_healthy_line(health)}")
        return
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    echo(f"CRITICAL: {shown(problems[0])}{more}")
    for problem in problems[1:]:
        echo(shown(problem))
    sys.exit(exits.FAILED)


def _healthy_line(health: Health) -> str:
    kinds = [source.kind for source in health.sources]
    waiting = sum(1 for source in health.sources if not source.runs.runs)
    parts = [f"{plural(kinds.count('pubmed'), 'PubMed topic')} and"
             f" {plural(kinds.count('feed'), 'feed')} within"
             " their windows" + (f" ({waiting} not run yet)" if waiting else ""),
             "database passes quick_check"]  # fmt: skip
    if "age_seconds" in health.scheduler:
        parts.append(f"scheduler beat {human(timedelta(seconds=health.scheduler['age_seconds']))}"
                     " ago")  # fmt: skip
    parts.append(f"{plural(health.queue['approved'], 'approved candidate')} waiting")
    return "; ".join(parts)


def _text(health: Health) -> str:
    lines = [f"sources (failing first), at {health.at:%Y-%m-%d %H:%M} UTC:"]
    lines += [_source_line(source, health) for source in health.sources] or ["  none configured"]
    database = health.database
    lines.append(
        f"database: {database['path']}, {mib(database['size_bytes'])};"
        f" {database['works']} works ({database['live_works']} live),"
        f" {database['candidates']} candidates"
    )
    if health.outdated_scores:
        lines.append(outdated_line(health.outdated_scores))
    depth = ", ".join(f"{state} {count}" for state, count in health.queue.items())
    lines.append(f"queue: {depth}")
    oldest = health.oldest_approved
    if oldest is None:
        lines.append("oldest approved, not yet summarized: none")
    else:
        waited = human(timedelta(seconds=oldest["age_seconds"]))
        lines.append(
            f"oldest approved, not yet summarized: candidate {oldest['id']}"
            f" (PMID {oldest['pmid'] or '-'}), waiting {waited} since {oldest['since']}"
        )
    for problem in health.problems:
        if not any(problem == source.problem for source in health.sources):
            lines.append(f"PROBLEM: {shown(problem)}")
    lines.append(_scheduler_line(health.scheduler))
    return "\n".join(lines)


def _source_line(source: SourceHealth, health: Health) -> str:
    runs = source.runs
    mark = {"failing": "FAILING", "never run": "NEVER RUN"}.get(source.state, "ok")
    parts = [f"last success {_ago(runs.last_success, health)}"]
    if runs.last_failure:
        parts.append(f"last failure {_ago(runs.last_failure, health)}")
    parts.append(f"{plural(runs.consecutive_failures, 'failure')} in a row")
    if runs.running_since:
        parts.append(f"running since {runs.running_since}")
    if source.next_run:
        parts.append(f"next run {source.next_run:%Y-%m-%dT%H:%M:%SZ}")
    line = f"  {mark:<9} {shown(source.label)}: {', '.join(parts)}"
    if runs.last_error and runs.consecutive_failures:
        line += f"\n      last error: {shown(runs.last_error)}"
    if source.problem:
        line += f"\n      {shown(source.problem)}"
    return line


def _ago(moment: str | None, health: Health) -> str:
    if moment is None:
        return "never"
    return f"{moment} ({human(health.at - parse_stamp(moment))} ago)"


def _scheduler_line(scheduler: dict) -> str:
    beat = scheduler["heartbeat"]
    if beat == "not used":
        return f"scheduler heartbeat: not used ([schedule] runner = {scheduler['runner']!r})"
    if beat is None:
        return "scheduler heartbeat: none yet (the daemon never ran on this database)"
    age = human(timedelta(seconds=scheduler["age_seconds"]))
    return (
        f"scheduler heartbeat: {age} ago, {beat['state']} (pid {beat['pid']} on {beat['host']},"
        f" up since {beat['started_at']})"
    )


def _metrics(health: Health) -> CollectorRegistry:
    """The figures as Prometheus gauges; times as unix timestamps, a missing time (never
    succeeded) as no sample."""
    registry = CollectorRegistry()
    labels = ("source", "topic", "feed")

    def gauge(name: str, text: str, names: tuple[str, ...] = ()) -> Gauge:
        return Gauge(f"litmon_{name}", text, names, registry=registry)

    per_source = {
        "last_success": gauge(
            "source_last_success_timestamp_seconds", "When its last ok run finished.", labels
        ),
        "last_failure": gauge(
            "source_last_failure_timestamp_seconds", "When its last failed run finished.", labels
        ),
        "next_run": gauge("source_next_run_timestamp_seconds", "Its next scheduled run.", labels),
    }
    failures = gauge("source_consecutive_failures", "Runs since its last ok one.", labels)
    healthy = gauge("source_healthy", "1 if it succeeded within its window.", labels)
    window = gauge("source_window_seconds", "How long it may go without success.", labels)
    for source in health.sources:
        values = source.as_dict()
        key = (source.kind, values["topic"] or "", values["feed"] or "")
        for field, metric in per_source.items():
            if values[field]:
                metric.labels(*key).set(parse_stamp(values[field]).timestamp())
        failures.labels(*key).set(source.runs.consecutive_failures)
        healthy.labels(*key).set(0 if source.problem else 1)
        window.labels(*key).set(source.window.total_seconds())
    database = health.database
    gauge("database_size_bytes", "The database file and its WAL.").set(database["size_bytes"])
    gauge("works", "Stored works, merged and deleted ones included.").set(database["works"])
    gauge("live_works", "Works neither merged away nor deleted.").set(database["live_works"])
    gauge("candidates", "Candidates not merged into another.").set(database["candidates"])
    queue = gauge("queue_candidates", "Candidates per state.", ("state",))
    for state, count in health.queue.items():
        queue.labels(state).set(count)
    outdated = gauge(
        "outdated_scores", "Works scored with an older profile or scoring rules.", ("topic",)
    )
    for topic, count in health.outdated_scores.items():
        outdated.labels(topic).set(count)
    oldest = health.oldest_approved
    gauge(
        "oldest_approved_age_seconds", "How long the longest-waiting approved candidate waited."
    ).set(oldest["age_seconds"] if oldest else 0)
    gauge("pending_takedowns", "Withdrawn summaries not yet taken down.").set(len(health.takedowns))
    gauge("problems", "What litmon check would report, without the integrity check.").set(
        len(health.problems)
    )
    if "age_seconds" in health.scheduler:
        gauge("scheduler_heartbeat_age_seconds", "Age of the daemon's last heartbeat.").set(
            health.scheduler["age_seconds"]
        )
    return registry


def _write_atomically(path: Path, text: str) -> None:
    """A reader (node_exporter) sees the old file or the new one, never half of one: the
    text goes to a hidden file in the same directory (not *.prom), renamed onto ``path``."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
