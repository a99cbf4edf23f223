"""Crontab lines to APScheduler triggers, with cron's meaning of the weekday field.

APScheduler 3's ``CronTrigger.from_crontab`` counts weekdays from Monday = 0, so a line
copied from a crontab (Sunday = 0) would run a day late; numbers are turned into names.
"""

from __future__ import annotations

import re

from apscheduler.triggers.cron import CronTrigger

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NUMBER = re.compile(r"(?<![/\d])([0-7])(?!\d)")


def cron_trigger(line: str) -> CronTrigger:
    """A UTC trigger for ``minute hour day month weekday``; ValueError if it is not one."""
    fields = line.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    weekday = _DAY_NUMBER.sub(lambda match: _DAY_NAMES[int(match.group(1))], weekday)
    return CronTrigger(
        minute=minute, hour=hour, day=day, month=month, day_of_week=weekday, timezone="UTC"
    )
