"""What is healthy: each configured source against its window, the scheduler's heartbeat, the
queue's dead letters and pending takedowns, for ``litmon status`` and ``litmon check``.

A source's window is twice its interval (PubMed: the longest gap between successive fire
times of the ``[schedule] pubmed`` line; a feed: its ``interval_minutes``, or the
``[schedule] feeds`` line's gap if longer), unless ``--max-age`` sets one for all. A
source that has never run gets a window of grace from whichever is later: the first run
this database recorded (or, with none, the file's last change) and the last change of the
file that configures it, so a feed added to a running deployment is not reported before
its first polls had time to happen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.resources.abc import Traversable
from pathlib import Path

import sqlite_utils

from litmon.core.clock import parse_stamp, stamp
from litmon.crontab import cron_trigger
from litmon.db import status
from litmon.db.heartbeat import read_heartbeat
from litmon.db.maintenance import database_size, quick_check
from litmon.db.runs import database_file
from litmon.db.scores import outdated_scores
from litmon.feeds.config import load_feeds
from litmon.output import plural
from litmon.review.states import STATES
from litmon.settings import Config

# A daemon whose last heartbeat is older than this many intervals is taken for dead or hung.
HEARTBEAT_INTERVALS = 3
# Successive fire times compared to find a crontab line's longest gap (a weekday-only line
# has a weekend in any 8).
_GAPS = 8
_EPOCH = datetime.fromtimestamp(0, UTC)


@dataclass(slots=True)
class SourceHealth:
    kind: str  # "pubmed" or "feed"
    name: str  # the topic or the feed's name
    runs: status.SourceRuns
    window: timedelta
    next_run: datetime | None
    next_poll: str | None = None  # a feed's own next poll time (interval, backoff)
    problem: str | None = None

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"

    @property
    def state(self) -> str:
        """ "never run", "failing" (its last run failed, or it is past its window), or "ok".
        A source still in its window of grace is healthy but not "ok"."""
        if not self.runs.runs:
            return "never run"
        if self.runs.consecutive_failures or self.problem:
            return "failing"
        return "ok"

    def as_dict(self) -> dict:
        runs = self.runs
        return {
            "source": self.kind,
            "topic": self.name if self.kind == "pubmed" else None,
            "feed": self.name if self.kind == "feed" else None,
            "healthy": self.problem is None,
            "state": self.state,
            "problem": self.problem,
            "runs": runs.runs,
            "last_success": runs.last_success,
            "last_failure": runs.last_failure,
            "last_error": runs.last_error,
            "consecutive_failures": runs.consecutive_failures,
            "running_since": runs.running_since,
            "next_run": stamp(self.next_run) if self.next_run else None,
            "next_poll": self.next_poll,
            "window_seconds": self.window.total_seconds(),
        }


@dataclass(slots=True)
class Health:
    at: datetime
    database: dict
    sources: list[SourceHealth]
    queue: dict[str, int]
    oldest_approved: dict | None
    dead: list[dict]
    takedowns: list[dict]
    scheduler: dict
    outdated_scores: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "at": stamp(self.at),
            "healthy": not self.problems,
            "problems": self.problems,
            "database": self.database,
            "sources": [source.as_dict() for source in self.sources],
            "queue": self.queue,
            "oldest_approved": self.oldest_approved,
            "dead_letters": self.dead,
            "pending_takedowns": self.takedowns,
            "scheduler": self.scheduler,
            "outdated_scores": self.outdated_scores,
        }


def assess(
    config: Config,
    db: sqlite_utils.Database,
    *,
    max_age: timedelta | None = None,
    now: datetime | None = None,
) -> Health:
    """Every figure ``litmon status`` shows, with the problems ``litmon check`` reports
    (failing sources first), except the integrity check (see :func:`integrity`)."""
    now = now or datetime.now(UTC)
    sources = _sources(config, db, max_age, now)
    sources.sort(key=lambda source: source.problem is None)
    oldest = status.oldest_approved(db)
    if oldest is not None:
        oldest["age_seconds"] = (now - parse_stamp(oldest["since"])).total_seconds()
    health = Health(
        at=now,
        database={"path": str(config.db_path), "size_bytes": database_size(db)} | status.counts(db),
        sources=sources,
        queue={state: 0 for state in STATES} | status.queue_depth(db),
        oldest_approved=oldest,
        dead=status.dead_letters(db),
        takedowns=status.pending_takedowns(db),
        scheduler=_scheduler(config, db, now),
        outdated_scores=outdated_scores(
            db.conn, {topic: profile.hash for topic, profile in config.profiles.items()}
        ),
    )
    health.problems = [source.problem for source in sources if source.problem]
    if health.scheduler.get("problem"):
        health.problems.append(health.scheduler["problem"])
    if health.dead:
        ids = ", ".join(str(row["id"]) for row in health.dead)
        health.problems.append(
            f"{plural(len(health.dead), 'dead-lettered candidate')} ({ids}) failed every"
            " summarizing attempt: litmon queue retry ID, or litmon queue discard ID"
        )
    if health.takedowns:
        ids = ", ".join(str(row["id"]) for row in health.takedowns)
        health.problems.append(
            f"{plural(len(health.takedowns), 'withdrawn candidate')} ({ids}) was published"
            " and its takedown is not acknowledged: litmon publish DIR takes it down,"
            " or take it down and run litmon queue ack-takedown ID"
        )
    return health


def integrity(db: sqlite_utils.Database) -> str | None:
    """The problem ``PRAGMA quick_check`` finds in the database, in one line, or None."""
    found = quick_check(db.conn)
    if not found:
        return None
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return f"database {database_file(db)} fails PRAGMA quick_check: {found[0]}{more}"


def human(span: timedelta) -> str:
    """A duration as people say it: 40 s, 20 minutes, 5 hours, 3 days."""
    seconds = span.total_seconds()
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.1f}".removesuffix(".0") + f" {unit}"
    return f"{seconds:.0f} s"


def mib(size: int) -> str:
    """A file size in MiB, to a tenth."""
    return f"{size / 2**20:.1f} MiB"


def interval(line: str, now: datetime) -> timedelta:
    """The longest gap between successive fire times of a crontab line, from ``now`` on."""
    trigger = cron_trigger(line)
    fire = trigger.get_next_fire_time(None, now)
    longest = timedelta(0)
    for _ in range(_GAPS):
        following = trigger.get_next_fire_time(fire, fire)
        if following is None:
            break
        longest = max(longest, following - fire)
        fire = following
    return longest


def _sources(
    config: Config, db: sqlite_utils.Database, max_age: timedelta | None, now: datetime
) -> list[SourceHealth]:
    started = status.first_run_started(db)
    in_use = parse_stamp(started) if started else _mtime(Path(database_file(db)))
    sources = []
    pubmed_line = config.schedule["pubmed"]
    pubmed_window = max_age or 2 * interval(pubmed_line, now)
    pubmed_next = cron_trigger(pubmed_line).get_next_fire_time(None, now)
    configured = max(in_use, _mtime(config.source))
    for topic in config.topics:
        source = SourceHealth(
            "pubmed", topic, status.source_runs(db, "pubmed", topic), pubmed_window, pubmed_next
        )
        source.problem = _problem(source, configured, now)
        sources.append(source)
    if config.feeds_file is None:
        return sources
    feeds_line = config.schedule["feeds"]
    feeds_trigger = cron_trigger(feeds_line)
    feeds_gap = interval(feeds_line, now)
    configured = max(in_use, _mtime(config.feeds_file))
    for feed in load_feeds(config.feeds_file):
        if not feed.enabled:
            continue  # not polled on schedule, so nothing to expect of it
        next_poll = status.feed_next_poll(db, feed.name)
        due = max(now, parse_stamp(next_poll)) if next_poll else now
        window = max_age or 2 * max(timedelta(minutes=feed.interval_minutes), feeds_gap)
        source = SourceHealth(
            "feed",
            feed.name,
            status.source_runs(db, feed.source, None),
            window,
            feeds_trigger.get_next_fire_time(None, due),
            next_poll,
        )
        source.problem = _problem(source, configured, now)
        sources.append(source)
    return sources


def _problem(source: SourceHealth, configured: datetime, now: datetime) -> str | None:
    runs, window = source.runs, source.window
    # The last error only while it is news: one older than the last success was mended.
    recent = runs.last_error if runs.last_error and runs.consecutive_failures else None
    error = f": last error: {recent}" if recent else ""
    if runs.last_success is not None:
        age = now - parse_stamp(runs.last_success)
        if age <= window:
            return None
        return f"{source.label} has not succeeded for {human(age)} (window {human(window)}){error}"
    if runs.runs:
        waited = now - parse_stamp(runs.first_started)
        if waited <= window:
            return None
        return (
            f"{source.label} has never succeeded in {plural(runs.runs, 'run')} over"
            f" {human(waited)} (window {human(window)}){error}"
        )
    waited = now - configured
    if waited <= window:
        return None
    return (
        f"{source.label} has never run, {human(waited)} after the database's first run or"
        f" the config's last change (window {human(window)})"
    )


def _scheduler(config: Config, db: sqlite_utils.Database, now: datetime) -> dict:
    """The daemon's heartbeat; a cron deployment has none to keep."""
    runner = config.service.runner
    if runner != "daemon":
        return {"runner": runner, "heartbeat": "not used"}
    limit = timedelta(seconds=HEARTBEAT_INTERVALS * config.service.heartbeat)
    beat = read_heartbeat(db)
    if beat is None:
        problem = "the scheduler ([schedule] runner = daemon) has never run on this database"
        return {"runner": runner, "heartbeat": None, "problem": problem}
    age = now - parse_stamp(beat["beat_at"])
    found = {"runner": runner, "heartbeat": beat, "age_seconds": age.total_seconds()}
    if age > limit:
        found["problem"] = (
            f"the scheduler's heartbeat is {human(age)} old (limit {human(limit)}): last"
            f" '{beat['state']}' from pid {beat['pid']} on {beat['host']}"
        )
    return found


def _mtime(path: Path | Traversable | None) -> datetime:
    """When a file last changed; the epoch for the shipped defaults (no file, or package
    data) and for a missing file."""
    if not isinstance(path, Path):
        return _EPOCH
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError:
        return _EPOCH
