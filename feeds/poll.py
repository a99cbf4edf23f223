"""The feed pipeline: fetch due feeds, parse, store, keep per-feed state and crawl_runs rows.

Fetching and parsing never touch the database; only this module stores.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests
import sqlite_utils

from crawler.http_headers import parse_max_age
from db.runs import RunCounts, finish_run, start_run
from db.store import save_records
from feeds.config import FeedConfig
from feeds.errors import FeedError, FetchError
from feeds.fetch import DEFAULT_LIMITS, FetchLimits, fetch_feed
from feeds.parse import ParsedFeed, parse_feed
from feeds.state import FeedState, load_state, record_failure, record_success

log = logging.getLogger(__name__)


@dataclass(slots=True)
class FeedOutcome:
    name: str
    status: str  # "ok", "not_modified", "failed", or "not_due" (skipped, nothing fetched)
    url: str
    items: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    next_poll_at: str | None = None

    def summary(self) -> str:
        """One line for the command line."""
        if self.status == "failed":
            return f"{self.name}: FAILED: {self.error}"
        if self.status == "not_due":
            return f"{self.name}: not due until {self.next_poll_at}"
        if self.status == "not_modified":
            return f"{self.name}: not modified"
        text = (
            f"{self.name}: {self.items} items, {self.new} new, {self.updated} updated,"
            f" {self.unchanged} unchanged"
        )
        return text + "".join(f" (warning: {w})" for w in self.warnings)


def make_session(user_agent: str) -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    return session


def poll_feeds(
    db: sqlite_utils.Database,
    feeds: list[FeedConfig],
    *,
    user_agent: str,
    only: str | None = None,
    force: bool = False,
    now: datetime | None = None,
    limits: FetchLimits = DEFAULT_LIMITS,
) -> list[FeedOutcome]:
    """Poll every enabled feed that is due (``only``: just that one, even if disabled;
    ``force``: ignore the schedule). One feed's failure never stops the others."""
    now = now or datetime.now(UTC)
    selected = [feed for feed in feeds if feed.name == only or (only is None and feed.enabled)]
    if only is not None and not selected:
        raise ValueError(f"no feed named {only!r} in the feeds file")
    session = make_session(user_agent)
    outcomes = []
    for feed in selected:
        state = load_state(db, feed)
        if not force and not state.is_due(now):
            outcomes.append(
                FeedOutcome(feed.name, "not_due", state.url, next_poll_at=state.next_poll_at)
            )
            continue
        outcomes.append(_poll_one(db, session, feed, state, now, limits))
    return outcomes


def _poll_one(
    db: sqlite_utils.Database,
    session: requests.Session,
    feed: FeedConfig,
    state: FeedState,
    now: datetime,
    limits: FetchLimits,
) -> FeedOutcome:
    run_id = start_run(db, feed.source)
    counts = RunCounts(requests=1)
    outcome = FeedOutcome(feed.name, "ok", state.url)
    try:
        result = fetch_feed(
            session, state.url, etag=state.etag, last_modified=state.last_modified, limits=limits
        )
        counts.requests = result.requests
        outcome.url = result.url if result.moved_to else state.url
        hint = parse_max_age(result.headers.get("cache-control"))
        if result.status == 304:
            outcome.status = "not_modified"
        else:
            content_type = result.headers.get("content-type")
            parsed = _store(db, feed, result.body or b"", content_type, outcome, counts)
            if parsed.ttl_minutes:
                hint = max(hint or 0.0, parsed.ttl_minutes * 60.0)
        outcome.next_poll_at = record_success(
            db,
            feed,
            now=now,
            status=result.status,
            url=outcome.url,
            etag=result.headers.get("etag"),
            last_modified=result.headers.get("last-modified"),
            min_delay_seconds=hint,
        )
    except Exception as exc:  # one feed's failure must not stop the others
        _fail(outcome, counts, exc)
        outcome.next_poll_at = record_failure(
            db,
            feed,
            state,
            now=now,
            status=exc.status if isinstance(exc, FetchError) else None,
            error=outcome.error or "",
            retry_after=exc.retry_after if isinstance(exc, FetchError) else None,
        )
    _finish(db, run_id, counts, outcome)
    return outcome


def ingest_feed_sources(
    db: sqlite_utils.Database,
    paths_or_urls: list[str],
    *,
    name: str | None = None,
    user_agent: str,
    limits: FetchLimits = DEFAULT_LIMITS,
) -> list[FeedOutcome]:
    """Ingest feed files or URLs once (``litmon ingest feed``), without polling state.

    A broken source ends in a one-line error in its outcome; the rest are still ingested.
    """
    session = make_session(user_agent)
    outcomes = []
    for source in paths_or_urls:
        feed = FeedConfig(name=name or _derived_name(source), url=source)
        outcome = FeedOutcome(feed.name, "ok", source)
        run_id = start_run(db, feed.source)
        counts = RunCounts(requests=1 if _is_web(source) else 0)
        try:
            data, content_type = _read_source(session, source, limits)
            _store(db, feed, data, content_type, outcome, counts)
        except Exception as exc:  # one broken source must not stop the others
            _fail(outcome, counts, exc)
            outcome.error = f"{source}: {outcome.error}"
        _finish(db, run_id, counts, outcome)
        outcomes.append(outcome)
    return outcomes


def _read_source(
    session: requests.Session, source: str, limits: FetchLimits
) -> tuple[bytes, str | None]:
    if _is_web(source):
        result = fetch_feed(session, source, limits=limits)
        return result.body or b"", result.headers.get("content-type")
    path = Path(source)
    if path.stat().st_size > limits.max_bytes:
        raise FeedError(f"file is larger than {limits.max_bytes // 2**20} MiB; refused")
    return path.read_bytes(), None


def _store(
    db: sqlite_utils.Database,
    feed: FeedConfig,
    data: bytes,
    content_type: str | None,
    outcome: FeedOutcome,
    counts: RunCounts,
) -> ParsedFeed:
    """Parse and save one document, counting into the outcome and the run."""
    parsed = parse_feed(data, feed, content_type=content_type)
    saved = save_records(db, parsed.records)
    outcome.items = counts.fetched = len(parsed.records)
    outcome.new = counts.new = saved.new
    outcome.updated = counts.updated = saved.updated
    outcome.unchanged = counts.unchanged = saved.unchanged
    outcome.warnings = parsed.warnings
    return parsed


def _fail(outcome: FeedOutcome, counts: RunCounts, exc: Exception) -> None:
    outcome.status = "failed"
    counts.errors = 1
    if isinstance(exc, FeedError | OSError):
        outcome.error = str(exc) or type(exc).__name__
    else:
        log.exception("feed %s: unexpected error", outcome.name)
        outcome.error = f"internal error: {type(exc).__name__}: {exc}"


def _finish(
    db: sqlite_utils.Database, run_id: int, counts: RunCounts, outcome: FeedOutcome
) -> None:
    if outcome.status == "failed":
        finish_run(db, run_id, counts, "failed", outcome.error)
    else:
        note = "; ".join(f"warning: {w}" for w in outcome.warnings) or None
        finish_run(db, run_id, counts, "ok", note)


def _is_web(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def _derived_name(source: str) -> str:
    base = (urlsplit(source).hostname or "") if _is_web(source) else Path(source).stem
    return re.sub(r"[^a-z0-9_-]+", "-", base.lower()).strip("-") or "file"
