"""Crontab lines to APScheduler triggers, with cron's meaning of the weekday field.

APScheduler 3 counts weekdays from Monday = 0 (its ``from_crontab`` too), so a line copied
from a crontab (Sunday = 0 or 7) would run a day late; the weekday field is expanded here
into day names, which both agree on.
"""

from __future__ import annotations

from apscheduler.triggers.cron import CronTrigger

_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_trigger(line: str) -> CronTrigger:
    """A UTC trigger for ``minute hour day month weekday``, as in crontab (at second 0), or
    ``second minute hour day month weekday`` (six fields: a job every few seconds, for
    trying the daemon out); ValueError if it is neither."""
    fields = line.split()
    if len(fields) not in (5, 6):
        raise ValueError(
            "expected 5 fields (minute hour day month weekday) or 6 (second first),"
            f" got {len(fields)}"
        )
    second = fields.pop(0) if len(fields) == 6 else "0"
    minute, hour, day, month, weekday = fields
    if day != "*" and weekday != "*":
        # cron runs such a line when either field matches, APScheduler only when both do
        raise ValueError(
            f"{line!r} restricts both day-of-month and day-of-week, which cron and"
            " APScheduler read differently (either vs both); restrict only one of them"
        )
    return CronTrigger(
        second=second,
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_weekdays(weekday),
        timezone="UTC",
    )


def _weekdays(field: str) -> str:
    """Cron's weekday field (``*``, ``1-5``, ``0,6``, ``*/2``, ``mon-fri``...) as day names."""
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            first, last = (_day(end) for end in span.split("-", 1))
            last += 7 if last < first else 0  # fri-sun wraps through the weekend
        else:
            first = _day(span)
            last = 6 if step_text else first  # "1/2": from Monday on, every other day
        if step < 1:
            raise ValueError(f"bad step in weekday field {field!r}")
        days.update(number % 7 for number in range(first, last + 1, step))
    return ",".join(_DAYS[number] for number in sorted(days))


def _day(text: str) -> int:
    if text.isdigit() and int(text) <= 7:
        return int(text)
    if text.lower()[:3] in _DAYS:
        return _DAYS.index(text.lower()[:3])
    raise ValueError(f"{text!r} is not a weekday (0-7 or sun-sat)")
