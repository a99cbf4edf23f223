"""The feed pipeline: fetch due feeds, parse, store, keep per-feed state and crawl_runs rows.

Fetching and parsing (:mod:`litmon.feeds`) never touch the database; this module stores.
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

from litmon.core.errors import SourceError, StopCheck, UsageError, stop_if_asked
from litmon.core.http_headers import parse_max_age
from litmon.core.redact import redact_text, redact_url
from litmon.core.text import plural
from litmon.db.feed_state import FeedState, load_state, record_failure, record_success
from litmon.feeds import schedule
from litmon.feeds.config import FeedConfig
from litmon.feeds.errors import FeedError, FetchError
from litmon.feeds.fetch import DEFAULT_LIMITS, FetchLimits, fetch_feed
from litmon.feeds.parse import ParsedFeed, parse_feed
from litmon.pipeline.ingest import store_items
from litmon.pipeline.run import Run, recorded_run

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
            f"{self.name}: {plural(self.items, 'item')}, {self.new} new, {self.updated} updated,"
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
    should_stop: StopCheck | None = None,
) -> list[FeedOutcome]:
    """Poll every enabled feed that is due (``only``: just that one, even if disabled;
    ``force``: ignore the schedule). One feed's failure never stops the others.
    ``should_stop`` is asked before each feed: when it says so, the feed being polled is
    finished and :class:`~litmon.core.errors.Interrupted` raised before the next."""
    now = now or datetime.now(UTC)
    selected = [feed for feed in feeds if feed.name == only or (only is None and feed.enabled)]
    if only is not None and not selected:
        raise UsageError(f"no feed named {only!r} in the feeds file")
    session = make_session(user_agent)
    outcomes = []
    for feed in selected:
        state = load_state(db, feed.name, feed.url)
        if not force and not state.is_due(now):
            outcomes.append(
                FeedOutcome(
                    feed.name, "not_due", redact_url(state.url), next_poll_at=state.next_poll_at
                )
            )
            continue
        stop_if_asked(should_stop)
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
    outcome = FeedOutcome(feed.name, "ok", redact_url(state.url))
    with recorded_run(db, feed.source) as run:
        run.counts.requests = 1
        try:
            result = fetch_feed(
                session,
                state.url,
                etag=state.etag,
                last_modified=state.last_modified,
                limits=limits,
            )
            run.counts.requests = result.requests
            fetched = result.url if result.moved_to else state.url
            outcome.url = redact_url(fetched)
            hint = parse_max_age(result.headers.get("cache-control"))
            if result.status == 304:
                outcome.status = "not_modified"
            else:
                content_type = result.headers.get("content-type")
                parsed = _store(db, feed, result.body or b"", content_type, outcome, run)
                if parsed.ttl_minutes:
                    hint = max(hint or 0.0, parsed.ttl_minutes * 60.0)
            outcome.next_poll_at = record_success(
                db,
                feed.name,
                now=now,
                status=result.status,
                config_url=feed.url,
                url=fetched,
                etag=result.headers.get("etag"),
                last_modified=result.headers.get("last-modified"),
                next_poll=schedule.after_success(now, feed.interval_minutes, hint),
            )
        except Exception as exc:  # recorded_run logs it; the feed's state must back off
            failures = state.consecutive_failures + 1
            retry_after = exc.retry_after if isinstance(exc, FetchError) else None
            outcome.status, outcome.error = "failed", _reason(exc)
            outcome.next_poll_at = record_failure(
                db,
                feed.name,
                now=now,
                status=exc.status if isinstance(exc, FetchError) else None,
                error=outcome.error,
                failures=failures,
                next_poll=schedule.after_failure(now, feed.interval_minutes, failures, retry_after),
            )
            raise
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
        with recorded_run(db, feed.source) as run:
            run.counts.requests = 1 if _is_web(source) else 0
            try:
                data, content_type = _read_source(session, source, limits)
                _store(db, feed, data, content_type, outcome, run)
            except Exception as exc:
                outcome.status, outcome.error = "failed", f"{redact_url(source)}: {_reason(exc)}"
                raise
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
    run: Run,
) -> ParsedFeed:
    """Parse and save one document, counting into the outcome and the run."""
    parsed = parse_feed(data, feed, content_type=content_type)
    saved = store_items(db, parsed.records, run)
    outcome.items = len(parsed.records)
    outcome.new, outcome.updated, outcome.unchanged = saved.new, saved.updated, saved.unchanged
    outcome.warnings = parsed.warnings
    for warning in parsed.warnings:
        run.warn(warning)
    return parsed


def _reason(exc: Exception) -> str:
    """The one-line reason a feed failed, as its outcome and its state show it."""
    if isinstance(exc, SourceError | OSError):
        return redact_text(str(exc)) or type(exc).__name__
    return redact_text(f"internal error: {type(exc).__name__}: {exc}")


def _is_web(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def _derived_name(source: str) -> str:
    base = (urlsplit(source).hostname or "") if _is_web(source) else Path(source).stem
    return re.sub(r"[^a-z0-9_-]+", "-", base.lower()).strip("-") or "file"
