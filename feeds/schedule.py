"""When to poll a feed next: its interval, lengthened by server hints, backed off on failure."""

from __future__ import annotations

from datetime import datetime, timedelta

MAX_BACKOFF = timedelta(hours=24)  # a failing feed is still tried at least daily
MAX_SERVER_DELAY = timedelta(days=7)  # cap on Retry-After / ttl / max-age, against absurd values


def after_success(now: datetime, interval_minutes: int, server_seconds: float | None) -> datetime:
    """The next poll after a 200/304. Server hints (ttl, max-age) only lengthen the wait."""
    return now + _lengthened(timedelta(minutes=interval_minutes), server_seconds)


def after_failure(
    now: datetime, interval_minutes: int, failures: int, retry_after: float | None
) -> datetime:
    """The next poll after ``failures`` failed polls in a row: exponential backoff, capped."""
    interval = timedelta(minutes=interval_minutes)
    backoff = min(interval * 2 ** min(failures, 20), MAX_BACKOFF)
    return now + _lengthened(backoff, retry_after)


def _lengthened(delay: timedelta, server_seconds: float | None) -> timedelta:
    """A server's hint (Retry-After, ttl, max-age) can only lengthen a wait, up to a cap."""
    if not server_seconds:
        return delay
    # Capped before it becomes a timedelta: "Retry-After: 1e20" would overflow one.
    return max(delay, timedelta(seconds=min(server_seconds, MAX_SERVER_DELAY.total_seconds())))
