"""Per-feed polling state in the ``feeds`` table: validators, schedule, failures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils

from db.store import parse_stamp, stamp
from feeds.config import FeedConfig

MAX_BACKOFF = timedelta(hours=24)  # a failing feed is still tried at least daily
MAX_SERVER_DELAY = timedelta(days=7)  # cap on Retry-After / ttl / max-age, against absurd values


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


def load_state(db: sqlite_utils.Database, feed: FeedConfig) -> FeedState:
    """The feed's state, (re)started from the configured URL when that changed."""
    row = db.execute(
        "SELECT url, etag, last_modified, consecutive_failures, failing_since, next_poll_at,"
        " config_url FROM feeds WHERE name = ?",
        (feed.name,),
    ).fetchone()
    if row is not None and row[6] == feed.url:
        return FeedState(*row[:6])
    with db.conn:
        db.conn.execute(
            "INSERT INTO feeds (name, url, config_url) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET url = excluded.url,"
            " config_url = excluded.config_url, etag = NULL,"
            " last_modified = NULL, consecutive_failures = 0, failing_since = NULL,"
            " next_poll_at = NULL",
            (feed.name, feed.url, feed.url),
        )
    return FeedState(feed.url, None, None, 0, None, None)


def record_success(
    db: sqlite_utils.Database,
    feed: FeedConfig,
    *,
    now: datetime,
    status: int,
    url: str,
    etag: str | None,
    last_modified: str | None,
    min_delay_seconds: float | None,
) -> str:
    """Store a 200/304 poll; returns the next poll time. Server hints only lengthen the wait."""
    next_poll = stamp(
        now + _lengthened(timedelta(minutes=feed.interval_minutes), min_delay_seconds)
    )
    with db.conn:
        db.conn.execute(
            "UPDATE feeds SET url = ?, etag = COALESCE(?, etag),"
            " last_modified = COALESCE(?, last_modified), last_status = ?, last_checked = ?,"
            " last_success = ?, last_error = NULL, consecutive_failures = 0,"
            " failing_since = NULL, next_poll_at = ? WHERE name = ?",
            (url, etag, last_modified, status, stamp(now), stamp(now), next_poll, feed.name),
        )
    return next_poll


def record_failure(
    db: sqlite_utils.Database,
    feed: FeedConfig,
    state: FeedState,
    *,
    now: datetime,
    status: int | None,
    error: str,
    retry_after: float | None,
) -> str:
    """Store a failed poll; returns the next poll time (exponential backoff, capped)."""
    failures = state.consecutive_failures + 1
    interval = timedelta(minutes=feed.interval_minutes)
    backoff = min(interval * 2 ** min(failures, 20), MAX_BACKOFF)
    next_poll = stamp(now + _lengthened(backoff, retry_after))
    with db.conn:
        db.conn.execute(
            "UPDATE feeds SET last_status = ?, last_checked = ?, last_error = ?,"
            " consecutive_failures = ?, failing_since = COALESCE(failing_since, ?),"
            " next_poll_at = ? WHERE name = ?",
            (status, stamp(now), error, failures, stamp(now), next_poll, feed.name),
        )
    return next_poll


def _lengthened(delay: timedelta, server_seconds: float | None) -> timedelta:
    """A server's hint (Retry-After, ttl, max-age) can only lengthen a wait, up to a cap."""
    if not server_seconds:
        return delay
    return max(delay, min(timedelta(seconds=server_seconds), MAX_SERVER_DELAY))


def feed_status(db: sqlite_utils.Database, *, now: datetime | None = None) -> list[dict]:
    """Every polled feed's state, with ``failing_days`` (0 when healthy), for ``litmon feeds``."""
    now = now or datetime.now(UTC)
    rows = list(db.query("SELECT * FROM feeds ORDER BY name"))
    for row in rows:
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
