"""Per-feed polling state in the ``feeds`` table: validators, schedule, failures.

When the next poll is due is the feed source's policy (:mod:`litmon.feeds.schedule`); this
module only keeps what was decided."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import sqlite_utils

from litmon.core.clock import parse_stamp, stamp
from litmon.core.redact import redact_url
from litmon.db.transactions import write_transaction


@dataclass(slots=True)
class FeedState:
    # where to fetch: the configured URL (as configured, secrets included: it comes from the
    # feeds file, never from the table), or the secret-free URL a permanent redirect moved it to
    url: str
    etag: str | None
    last_modified: str | None
    consecutive_failures: int
    failing_since: str | None
    next_poll_at: str | None

    def is_due(self, now: datetime) -> bool:
        return self.next_poll_at is None or parse_stamp(self.next_poll_at) <= now


def load_state(db: sqlite_utils.Database, name: str, config_url: str) -> FeedState:
    """The feed's state, (re)started from the configured URL when that changed.

    The table holds no secret of the URL: ``url`` is the configured URL redacted (then the
    poll fetches ``config_url`` itself) or where a permanent redirect moved the feed, kept
    only when it carries no secret (:func:`record_success`); ``config_fingerprint`` tells
    whether the configured URL is still the one the state was built from."""
    row = db.execute(
        "SELECT url, etag, last_modified, consecutive_failures, failing_since, next_poll_at,"
        " config_fingerprint FROM feeds WHERE name = ?",
        (name,),
    ).fetchone()
    if row is not None and row[6] is None:
        # a row the migration scrubbed: its configured URL is unknown. It starts again from
        # the configured URL, without the validators and the remembered redirect that may
        # belong to another URL; its failures and its backoff carry on.
        with write_transaction(db.conn):
            db.conn.execute(
                "UPDATE feeds SET url = ?, config_fingerprint = ?, etag = NULL,"
                " last_modified = NULL WHERE name = ?",
                (redact_url(config_url), _fingerprint(config_url), name),
            )
        return FeedState(config_url, None, None, *row[3:6])
    if row is not None and _same_url(row[6], config_url):
        # a stored URL other than the configured one redacted is a redirect's secret-free
        # target; one equal to it means "the configured URL" (were it a redirect's target,
        # fetching the configured URL follows that redirect again: the same feed)
        url = config_url if row[0] == redact_url(config_url) else row[0]
        return FeedState(url, *row[1:6])
    with write_transaction(db.conn):
        db.conn.execute(
            "INSERT INTO feeds (name, url, config_fingerprint) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET url = excluded.url,"
            " config_fingerprint = excluded.config_fingerprint, etag = NULL,"
            " last_modified = NULL, consecutive_failures = 0, failing_since = NULL,"
            " next_poll_at = NULL",
            (name, redact_url(config_url), _fingerprint(config_url)),
        )
    return FeedState(config_url, None, None, 0, None, None)


# The fingerprint of a configured URL: scrypt with a random salt, not a plain SHA-256. The
# rest of the URL is shown on every screen, so a plain hash of it lets whoever copies the
# database test guesses of a human-chosen password in it at GPU speed; scrypt makes each
# guess cost 16 MiB of memory and deliberate work. A keyed hash would need a key kept
# outside the database, and litmon has no such place. Checked once per feed per poll, the
# result cached for a long-running scheduler.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def _fingerprint(url: str) -> str:
    salt = os.urandom(16)
    return f"scrypt:{salt.hex()}:{_digest(url, salt).hex()}"


def _same_url(fingerprint: str, url: str) -> bool:
    try:
        kind, salt, digest = fingerprint.split(":")
        salt_bytes, digest_bytes = bytes.fromhex(salt), bytes.fromhex(digest)
    except ValueError:  # not one of ours: the URL is unknown, so it changed
        return False
    return kind == "scrypt" and hmac.compare_digest(_digest(url, salt_bytes), digest_bytes)


@lru_cache(maxsize=1024)
def _digest(url: str, salt: bytes) -> bytes:
    return hashlib.scrypt(url.encode(), salt=salt, **_SCRYPT)


def record_success(
    db: sqlite_utils.Database,
    name: str,
    *,
    now: datetime,
    status: int,
    config_url: str,
    url: str,
    etag: str | None,
    last_modified: str | None,
    next_poll: datetime,
) -> str:
    """Store a 200/304 poll of ``url`` (where the feed was fetched from, after a permanent
    redirect: where it moved); returns the next poll time as stored.

    A moved URL is kept only when it carries no secret; one that does (the publisher put
    the token in it too) is not kept, and each poll fetches the configured URL and follows
    the redirect again: one more request, and no secret in the table."""
    stored = url if redact_url(url) == url else redact_url(config_url)
    with write_transaction(db.conn):
        db.conn.execute(
            "UPDATE feeds SET url = ?, etag = COALESCE(?, etag),"
            " last_modified = COALESCE(?, last_modified), last_status = ?, last_checked = ?,"
            " last_success = ?, last_error = NULL, consecutive_failures = 0,"
            " failing_since = NULL, next_poll_at = ? WHERE name = ?",
            (stored, etag, last_modified, status, stamp(now), stamp(now), stamp(next_poll), name),
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
        del row["config_fingerprint"]  # only tells the poll whether the URL changed
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
