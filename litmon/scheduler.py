"""``litmon schedule``: the built-in daemon, for hosts without cron."""

from __future__ import annotations

import logging

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from litmon.core.locks import Locked
from litmon.crontab import cron_trigger
from litmon.jobs import feeds_job, pubmed_job
from litmon.settings import Config

log = logging.getLogger(__name__)


def _run_pubmed(config: Config) -> None:
    try:
        reports = pubmed_job(config)
    except Locked as exc:  # another crawl (cron, a person) is still running: next time
        log.warning("pubmed: skipped: %s", exc)
        return
    for report in reports:
        log.info("pubmed %s: %s, %d new", report.topic, report.status, report.counts.new)


def _run_feeds(config: Config) -> None:
    try:
        result = feeds_job(config)
    except Locked as exc:
        log.warning("feeds: skipped: %s", exc)
        return
    for outcome in result.outcomes:
        log.info("%s", outcome.summary())


def build_scheduler(config: Config, scheduler: BaseScheduler | None = None) -> BaseScheduler:
    """A scheduler with the PubMed and feeds jobs on the config's crontab lines (UTC).

    One worker thread, so jobs never overlap; a job missed while the host slept runs once
    when it wakes (coalesced) if within an hour of its time."""
    scheduler = scheduler or BlockingScheduler()
    scheduler.configure(
        timezone="UTC",
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
    )
    jobs = {"pubmed": ("PubMed crawl", _run_pubmed), "feeds": ("feed poll", _run_feeds)}
    for job_id, (name, func) in jobs.items():
        trigger = cron_trigger(config.schedule[job_id])
        scheduler.add_job(func, trigger, args=[config], id=job_id, name=name)
    return scheduler
