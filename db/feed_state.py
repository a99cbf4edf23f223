"""Per-feed polling state in the ``feeds`` table: validators, schedule, failures.

When the next poll is due is the feed source's policy (:mod:`litmon.feeds.schedule`); this
module only keeps what was decided."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlite_utils

from litmon.core.clock import parse_stamp, stamp
from litmon.core.redact import redact_url
from litmon.db.transactions import write_transaction


@dataclass(slots=True)
class FeedState:
    url: str  # where to fetch: the configured URL, or where a permanent redirect moved it
    etag: str | None
    last_modified: str | None
    consecutive_failures: int
    failing_since: str | None
    next_poll_at: str | None

    def is_due(self, now: datetime) -> bool:
        return self.next_poll_at is None or parse_stamp(self.next_poll_at) <= now


def load_state(db: sqlite_utils.Database, name: str, config_url: str) -> FeedState:
    """The feed's state, (re)started from the configured URL when that changed."""
    row = db.execute(
        "SELECT url, etag, last_modified, consecutive_failures, failing_since, next_poll_at,"
        " config_url FROM feeds WHERE name = ?",
        (name,),
    ).fetchone()
    if row is not None and row[6] == config_url:
        return FeedState(*row[:6])
    with write_transaction(db.conn):
        db.conn.execute(
            "INSERT INTO feeds (name, url, config_url) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET url = excluded.url,"
            " config_url = excluded.config_url, etag = NULL,"
            " last_modified = NULL, consecutive_failures = 0, failing_since = NULL,"
            " next_poll_at = NULL",
            (name, config_url, config_url),
        )
    return FeedState(config_url, None, None, 0, None, None)


def record_success(
    db: sqlite_utils.Database,
    name: str,
    *,
    now: datetime,
    status: int,
    url: str,
    etag: str | None,
    last_modified: str | None,
    next_poll: datetime,
) -> str:
    """Store a 200/304 poll; returns the next poll time as stored."""
    with write_transaction(db.conn):
        db.conn.execute(
            "UPDATE feeds SET url = ?, etag = COALESCE(?, etag),"
            " last_modified = COALESCE(?, last_modified), last_status = ?, last_checked = ?,"
            " last_success = ?, last_error = NULL, consecutive_failures = 0,"
            " failing_since = NULL, next_poll_at = ? WHERE name = ?",
            (url, etag, last_modified, status, stamp(now), stamp(now), stamp(next_poll), name),
        )
    return stamp(next_poll)


def record_failure(
    db: sqlite_utils.Database,
    name: str,
    *,
    now: datetime,
    status: int | None,
    error: str,
    failures: int,
    next_poll: datetime,
) -> str:
    """Store a failed poll (``failures`` in a row now); returns the next poll time as stored."""
    with write_transaction(db.conn):
        db.conn.execute(
            "UPDATE feeds SET last_status = ?, last_checked = ?, last_error = ?,"
            " consecutive_failures = ?, failing_since = COALESCE(failing_since, ?),"
            " next_poll_at = ? WHERE name = ?",
            (status, stamp(now), error, failures, stamp(now), stamp(next_poll), name),
        )
    return stamp(next_poll)


def feed_status(db: sqlite_utils.Database, *, now: datetime | None = None) -> list[dict]:
    """Every polled feed's state, with ``failing_days`` (0 when healthy), for ``litmon feeds``
    and the pages: its URLs shown with their secrets hidden."""
    now = now or datetime.now(UTC)
    rows = list(db.query("SELECT * FROM feeds ORDER BY name"))
    for row in rows:
        row["url"] = redact_url(row["url"])
        row["config_url"] = row["config_url"] and redact_url(row["config_url"])
        since = row["failing_since"]
        row["failing_days"] = (now - parse_stamp(since)).total_seconds() / 86400 if since else 0.0
    return rows


def failing_feeds(
    db: sqlite_utils.Database, *, days: float = 3.0, now: datetime | None = None
) -> list[dict]:
    """Feeds that have failed every poll for at least ``days`` days, longest-failing first."""
    rows = [row for row in feed_status(db, now=now) if row["failing_since"]]
    return sorted(
        (row for row in rows if row["failing_days"] >= days),
        key=lambda row: row["failing_since"],
    )
