"""``litmon schedule``: the built-in daemon, for hosts without cron.

It runs the same jobs as ``litmon crawl pubmed|feeds`` under the same locks, so cron and
the daemon never run a job twice at once; keeps a heartbeat in the database for
``litmon check``; and stops cleanly on SIGTERM / SIGINT.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from litmon.core.clock import now
from litmon.core.errors import DatabaseBusy, Interrupted, Locked, StopCheck
from litmon.crontab import cron_trigger
from litmon.db.heartbeat import beat
from litmon.db.schema import open_db
from litmon.db.storage import as_error
from litmon.jobs import feeds_job, publish_job, pubmed_job, summarize_job
from litmon.pipeline.run import close_abandoned_runs
from litmon.settings import Config

log = logging.getLogger(__name__)

IDLE, STOPPED = "idle", "stopped"


def _pubmed(config: Config, should_stop: StopCheck) -> tuple[str, dict[str, int]]:
    runs = pubmed_job(config, should_stop=should_stop)
    counts = {
        "runs": len(runs),
        "fetched": sum(run.counts.fetched for run in runs),
        "new": sum(run.counts.new for run in runs),
        "updated": sum(run.counts.updated for run in runs),
    }
    return ("ok" if all(run.ok for run in runs) else "failed"), counts


def _feeds(config: Config, should_stop: StopCheck) -> tuple[str, dict[str, int]]:
    result = feeds_job(config, should_stop=should_stop)
    polled = [o for o in result.outcomes if o.status != "not_due"]
    counts = {
        "feeds_polled": len(polled),
        "feeds_failed": sum(o.status == "failed" for o in polled),
        "new": sum(o.new for o in polled),
        "updated": sum(o.updated for o in polled),
        "enriched": result.enrichment.counts.updated if result.enrichment else 0,
    }
    return ("ok" if result.ok else "failed"), counts


def _publish(config: Config, should_stop: StopCheck) -> tuple[str, dict[str, int]]:
    result = publish_job(config)
    counts = {
        "listed": result.listed,
        "written": len(result.written),
        "unchanged": result.unchanged,
        "removed": len(result.removed),
        "taken_down": len(result.taken_down),
    }
    return "ok", counts


def _summarize(config: Config, should_stop: StopCheck) -> tuple[str, dict[str, int]]:
    code = summarize_job(config, should_stop)
    # 3: nothing was waiting; 75: stopped before its draft was done (the candidate given back)
    status = {0: "ok", 3: "ok", 75: "interrupted"}.get(code, "failed")
    return status, {"exit_code": code}


JOBS: dict[str, tuple[str, Callable[[Config, StopCheck], tuple[str, dict[str, int]]]]] = {
    "pubmed": ("PubMed crawl", _pubmed),
    "feeds": ("feed poll", _feeds),
    "publish": ("publish", _publish),
    "summarize": ("summarize", _summarize),
}


def run_job(
    job_id: str, config: Config, should_stop: StopCheck, state: Callable[[str], None]
) -> None:
    """One scheduled run of a job, logged from start to end. A job whose lock another
    process holds (a cron run, a person) is skipped until its next time, never queued."""
    if should_stop():  # queued behind a job that was running when the stop came
        return
    log.info("job started", extra={"event": "job_started", "job": job_id})
    state(f"running {job_id}")
    status, counts, error = "failed", {}, None
    try:
        status, counts = JOBS[job_id][1](config, should_stop)
    except Interrupted:
        status = "interrupted"
    except Exception as exc:
        known = as_error(exc, config.db_path)
        if known is None:  # a bug: APScheduler logs it with its traceback
            error = f"internal error: {type(exc).__name__}: {exc}"
            raise
        # another holder of the job's lock (cron, a person): skipped until its next time;
        # anything else (the feeds file went missing, a full disk) is a failed run
        skipped = isinstance(known, Locked) and not isinstance(known, DatabaseBusy)
        status, error = ("skipped" if skipped else "failed"), known.line()
    finally:
        state(IDLE)
        log.log(
            logging.INFO if status in ("ok", "interrupted") else logging.WARNING,
            "job finished: %s%s",
            status,
            f": {error}" if error else "",
            extra={
                "event": "job_finished",
                "job": job_id,
                "status": status,
                "counts": counts,
                "error": error,
            },
        )


def build_scheduler(
    config: Config,
    scheduler: BaseScheduler | None = None,
    *,
    should_stop: StopCheck = lambda: False,
    state: Callable[[str], None] = lambda state: None,
) -> BaseScheduler:
    """A scheduler with the PubMed and feeds jobs on the config's crontab lines (UTC).

    One worker thread, so the daemon's jobs never overlap; a job missed (the host slept,
    a long crawl ran past its time) runs once when it can (coalesced), if within
    ``schedule.misfire_grace_seconds`` of its time. ``should_stop`` is handed to the jobs,
    ``state`` hears what the daemon is doing (for its heartbeat)."""
    scheduler = scheduler or BlockingScheduler()
    scheduler.configure(
        timezone="UTC",
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": int(config.service.misfire_grace),
        },
    )
    for job_id, line in config.schedule.items():
        name = JOBS[job_id][0]
        trigger = cron_trigger(line)
        scheduler.add_job(
            run_job, trigger, args=[job_id, config, should_stop, state], id=job_id, name=name
        )
    return scheduler


class Heartbeat:
    """The daemon's heartbeat row, written from a thread of its own every ``interval``
    seconds (so it beats on through a long crawl) and at once when the state changes."""

    def __init__(self, db_path: Path, interval: float) -> None:
        self._db_path, self._interval = db_path, interval
        self._state = IDLE
        self._changed = threading.Event()
        self._who = (os.getpid(), socket.gethostname(), now())
        self._thread = threading.Thread(target=self._beat, name="litmon-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def set(self, state: str) -> None:
        self._state = state
        self._changed.set()

    def stop(self) -> None:
        """Write 'stopped' and end the thread."""
        self.set(STOPPED)
        self._thread.join()

    def _beat(self) -> None:
        db = open_db(self._db_path)  # a connection of this thread's own
        while True:
            self._changed.clear()  # before reading the state: a change after it wakes us
            state = self._state
            try:
                beat(db, *self._who, state)
            except sqlite3.Error as exc:  # a missed beat is what `litmon check` reports
                log.warning("heartbeat not written: %s", exc, extra={"event": "heartbeat_failed"})
            if state == STOPPED:
                return
            self._changed.wait(self._interval)


class Daemon:
    """``litmon schedule``: the scheduler, its heartbeat, and a clean stop on a signal."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._stop = threading.Event()
        self._started = threading.Event()
        self._stopper: threading.Thread | None = None
        self.heartbeat = Heartbeat(config.db_path, config.service.heartbeat)
        self.scheduler = build_scheduler(
            config, BlockingScheduler(), should_stop=self._stop.is_set, state=self.heartbeat.set
        )
        self.scheduler.add_listener(lambda _: self._started.set(), EVENT_SCHEDULER_STARTED)

    def run(self) -> None:
        """Run the jobs until SIGTERM or SIGINT; then let the running job stop at its next
        batch (its run recorded as interrupted), write the heartbeat 'stopped' and return."""
        db = open_db(
            self.config.db_path, busy_timeout=self.config.busy_timeout
        )  # a database it cannot use stops it here, in one line
        close_abandoned_runs(db)
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        self.heartbeat.start()
        log.info("scheduler started", extra={"event": "scheduler_started", "pid": os.getpid()})
        try:
            self.scheduler.start()  # returns once _shutdown has waited for the running job
            if self._stopper is not None:
                self._stopper.join()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.heartbeat.stop()
        log.info("scheduler stopped", extra={"event": "scheduler_stopped"})

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._stopper is not None:  # a second signal: already stopping
            return
        log.info(
            "stopping: %s",
            signal.Signals(signum).name,
            extra={"event": "scheduler_stopping", "signal": signal.Signals(signum).name},
        )
        self._stop.set()
        # Not in the handler itself: shutting down waits for the job thread, and the
        # handler runs in the main thread, inside the scheduler's own loop.
        self._stopper = threading.Thread(target=self._shutdown, name="litmon-shutdown", daemon=True)
        self._stopper.start()

    def _shutdown(self) -> None:
        self._started.wait()  # a signal during start-up: shut down once it is up
        self.scheduler.shutdown(wait=True)
