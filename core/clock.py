"""Time in UTC: how every time is stored (ISO 8601, to the second) and today's date."""

from __future__ import annotations

from datetime import UTC, date, datetime

_STAMP = "%Y-%m-%dT%H:%M:%SZ"


def stamp(moment: datetime) -> str:
    """``moment`` as stored: UTC, ISO 8601, to the second."""
    return moment.astimezone(UTC).strftime(_STAMP)


def parse_stamp(value: str) -> datetime:
    return datetime.strptime(value, _STAMP).replace(tzinfo=UTC)


def now() -> str:
    """The current time, as stored."""
    return stamp(datetime.now(UTC))


def today_utc() -> date:
    return datetime.now(UTC).date()
