"""The crawl jobs, as run by the command line, cron and the built-in scheduler alike."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import sqlite_utils

from litmon.core.errors import StopCheck, UsageError, stop_if_asked
from litmon.core.locks import file_lock
from litmon.crawler.entrez import EntrezClient
from litmon.crawler.settings import Topic
from litmon.db.retention import prune
from litmon.db.schema import open_db, open_existing
from litmon.db.search import index_new_works
from litmon.feeds.config import load_feeds
from litmon.pipeline.enrich import enrich_from_pubmed
from litmon.pipeline.feeds import FeedOutcome, poll_feeds
from litmon.pipeline.pubmed import Progress, crawl_pubmed
from litmon.pipeline.run import Run, close_abandoned_runs
from litmon.publish import PublishResult, SiteSettings, publish
from litmon.replay.server import serve_demo
from litmon.review.queue import enqueue_scored
from litmon.scoring.run import ScoreSummary, score_and_learn
from litmon.settings import Config

log = logging.getLogger(__name__)


@dataclass(slots=True)
class FeedsResult:
    outcomes: list[FeedOutcome]
    enrichment: Run | None  # the DOI lookup's run; None when there was nothing to look up

    @property
    def ok(self) -> bool:
        enriched_ok = self.enrichment is None or self.enrichment.ok
        return enriched_ok and all(o.status != "failed" for o in self.outcomes)


def job_lock(config: Config, job: str) -> AbstractContextManager[None]:
    """The same job never runs twice at once (cron, the daemon and a person may all start
    it): a second start is refused at once (exit 75) naming the holder, before the
    database is opened."""
    return file_lock(
        Path(f"{config.db_path}.{job}.lock"), what=f"the {job} job's lock", holder=f"the {job} job"
    )


def ncbi_lock(
    config: Config, job: str, should_stop: StopCheck | None = None
) -> AbstractContextManager[None]:
    """Held by a job for as long as it talks to NCBI, so the requests of two processes
    never add up past NCBI's limit (3 or 10 a second per user, not per process). Another
    job waits for it up to ``database.lock_wait`` seconds, then gives up saying who holds
    it (exit 75)."""
    return file_lock(
        Path(f"{config.db_path}.lock"),
        config.lock_wait,
        what="the NCBI lock",
        holder=f"the {job} job",
        should_stop=should_stop,
    )


@contextmanager
def _locked_job(
    config: Config, job: str, should_stop: StopCheck | None
) -> Iterator[sqlite_utils.Database]:
    """The job's own lock, then the NCBI lock, then the database, with the runs left
    'running' by dead processes closed 'abandoned' (a job may start no run of its own)."""
    with job_lock(config, job), ncbi_lock(config, job, should_stop):
        db = open_db(config.db_path, busy_timeout=config.busy_timeout)
        close_abandoned_runs(db)
        yield db


def pubmed_job(
    config: Config,
    topics: list[Topic] | None = None,
    *,
    since: date | None = None,
    until: date | None = None,
    progress: Progress | None = None,
    should_stop: StopCheck | None = None,
) -> list[Run]:
    """Crawl PubMed for the given topics (default: all configured), then score and queue
    what it stored. ``should_stop`` (the daemon's) is asked between request batches."""
    with _locked_job(config, "pubmed", should_stop) as db:
        client = EntrezClient(config.ncbi)
        chosen = topics if topics is not None else list(config.topics.values())
        runs = crawl_pubmed(
            db, client, chosen, since=since, until=until, progress=progress, should_stop=should_stop
        )
    _after_crawl(config, db)
    return runs


def feeds_job(
    config: Config,
    *,
    only: str | None = None,
    force: bool = False,
    should_stop: StopCheck | None = None,
) -> FeedsResult:
    """Poll the due feeds, then look their new PMID-less items up in PubMed by DOI; then
    score and queue what was stored.

    The whole job holds the NCBI lock, not only the DOI lookup: it either runs or does
    nothing (exit 75 then means just that), and PubMed's own RSS feeds are NCBI's too. A
    feed poll may wait for a PubMed crawl; feeds are polled every half hour or less often,
    so that costs nothing."""
    if config.feeds_file is None:
        raise UsageError(f"no [feeds] file configured in {config.source or 'the config'}")
    feeds = load_feeds(config.feeds_file)
    if only is not None and only not in {feed.name for feed in feeds}:
        # before the locks and the database: nothing is touched for a mistyped name
        raise UsageError(f"no feed named {only!r} in {config.feeds_file}")
    with _locked_job(config, "feeds", should_stop) as db:
        outcomes = poll_feeds(
            db,
            feeds,
            user_agent=config.user_agent,
            only=only,
            force=force,
            should_stop=should_stop,
        )
        stop_if_asked(should_stop)
        enrichment = enrich_from_pubmed(db, EntrezClient(config.ncbi), should_stop=should_stop)
    _after_crawl(config, db)
    return FeedsResult(outcomes, enrichment)


def demo_job(config: Config, db_path: Path, *, progress: Progress | None = None) -> list[Run]:
    """Crawl the config's topics from a local replay server of the bundled recorded PubMed
    responses (``litmon demo``): the real crawl, offline."""
    with serve_demo() as server:
        settings = replace(config.ncbi, eutils_url=server.url)
        client = EntrezClient(settings)
        topics = list(config.topics.values())
        db = open_db(db_path, busy_timeout=config.busy_timeout)
        runs = crawl_pubmed(db, client, topics, progress=progress)
    after_storing(config, db)
    return runs


def score_job(config: Config, *, rescore: bool = False) -> tuple[ScoreSummary, dict[str, int]]:
    """Score the works changed since scoring last ran (``rescore``: every live work, as
    after a profile change) against the config's topic profiles, then queue the works at or
    above a topic's threshold. Returns the scoring summary and the queue's counts (new,
    updated, withdrawn candidates)."""
    profiles = list(config.profiles.values())
    if not profiles:
        # scoring without profiles would pass the events by and score nothing
        raise UsageError(f"no topic in {config.source or 'the config'} has a profile to score")
    db = open_existing(config.db_path, busy_timeout=config.busy_timeout)
    summary = score_and_learn(db, profiles, config.model, rescore=rescore)
    return summary, queue_scored(config, db)


def queue_scored(config: Config, db: sqlite_utils.Database) -> dict[str, int]:
    """Works at or above a topic's threshold, or that the model lets in, become candidates
    (one per work), ranked by profile and model."""
    thresholds = {profile.topic: profile.threshold for profile in config.profiles.values()}
    return enqueue_scored(db, thresholds, let_in=config.model.let_in, weight=config.model.weight)


def after_storing(config: Config, db: sqlite_utils.Database) -> None:
    """What follows a crawl or an ingest (after the crawl's locks are released: each takes
    its own short write transactions, and what it has not done stays for the next run):
    the new works indexed for search, then scored and queued when a topic has a profile."""
    index_new_works(db.conn)
    if config.profiles:
        summary = score_and_learn(db, list(config.profiles.values()), config.model)
        queued = queue_scored(config, db)
        log.info("%s; queue: %s", summary.line(), queue_line(queued))


def _after_crawl(config: Config, db: sqlite_utils.Database) -> None:
    """What follows every scheduled crawl: scoring and queueing what it stored, then the
    retention of the crawl log ([retention] runs_days), so that no one has to remember it."""
    after_storing(config, db)
    pruned = prune(db, config.retention_days)
    if pruned.runs:
        log.info(
            "pruned %d crawl runs that finished before %s", pruned.runs, pruned.cutoff,
            extra={"event": "runs_pruned", "runs": pruned.runs},
        )  # fmt: skip


def site_settings(config: Config, base_url: str | None = None) -> SiteSettings:
    """The public site as [publish] and the topics' titles describe it."""
    return SiteSettings(
        title=config.publish.title,
        description=config.publish.description,
        base_url=config.publish.base_url if base_url is None else base_url,
        topic_titles=tuple(
            (name, topic.title) for name, topic in config.topics.items() if topic.title
        ),
    )


def publish_job(
    config: Config, directory: Path | None = None, *, base_url: str | None = None
) -> PublishResult:
    """Write the published pieces into ``directory`` (default: [publish] dir) as the
    public site; a second publish of the same directory at once is refused (exit 75)."""
    target = directory or config.publish.dir
    if target is None:
        where = config.source or "the config"
        raise UsageError(f"no directory to publish into: name one, or set [publish] dir in {where}")
    db = open_existing(config.db_path, busy_timeout=config.busy_timeout)
    return publish(db, Path(target), site_settings(config, base_url))


def summarize_job(config: Config, should_stop: StopCheck) -> int:
    """``litmon summarize --once`` as the daemon runs it: in a process of its own (a model
    that hangs cannot hang the daemon, and the summarizer's key stays in its environment),
    under the job's lock (a cron run holds the same one: exit 75 here, as there). Asked to
    stop, the worker gets SIGTERM and gives its candidate back. Returns its exit code."""
    with job_lock(config, "summarize"):
        options = ["--config", str(config.source)] if config.source else []
        command = [sys.executable, "-m", "litmon", *options, "--db", str(config.db_path),
                   "summarize", "--once"]  # fmt: skip
        worker = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        while True:
            try:
                return worker.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                if should_stop():
                    worker.terminate()


def queue_line(counts: dict[str, int]) -> str:
    return ", ".join(f"{count} {kind}" for kind, count in counts.items())
