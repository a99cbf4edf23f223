"""The crawl jobs, as run by the command line, cron and the built-in scheduler alike."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from crawler.config import Config, Topic
from crawler.crawl import Progress, RunReport, crawl_pubmed
from crawler.enrich import enrich_from_pubmed
from crawler.entrez import EntrezClient
from crawler.lock import crawl_lock
from db.runs import RunCounts, close_interrupted_runs
from db.schema import open_db
from feeds.config import load_feeds
from feeds.poll import FeedOutcome, poll_feeds

log = logging.getLogger(__name__)
# A job started while another crawl runs waits this long for it (cron and the daemon may
# overlap with a long PubMed crawl); then it gives up and says so.
LOCK_WAIT = 900.0


@dataclass(slots=True)
class FeedsResult:
    outcomes: list[FeedOutcome]
    enrichment: RunCounts

    @property
    def ok(self) -> bool:
        return not self.enrichment.errors and all(o.status != "failed" for o in self.outcomes)


def pubmed_job(
    config: Config,
    topics: list[Topic] | None = None,
    *,
    since: date | None = None,
    until: date | None = None,
    progress: Progress | None = None,
    wait: float = LOCK_WAIT,
) -> list[RunReport]:
    """Crawl PubMed for the given topics (default: all configured)."""
    with crawl_lock(config.db_path, wait):
        db = open_db(config.db_path)
        client = EntrezClient(config.ncbi)
        chosen = topics if topics is not None else list(config.topics.values())
        return crawl_pubmed(db, client, chosen, since=since, until=until, progress=progress)


def feeds_job(
    config: Config, *, only: str | None = None, force: bool = False, wait: float = LOCK_WAIT
) -> FeedsResult:
    """Poll the due feeds, then look their new PMID-less items up in PubMed by DOI."""
    if config.feeds_file is None:
        raise ValueError(f"no [feeds] file configured in {config.source}")
    feeds = load_feeds(config.feeds_file)
    with crawl_lock(config.db_path, wait):
        db = open_db(config.db_path)
        close_interrupted_runs(db, "feed:")
        outcomes = poll_feeds(db, feeds, user_agent=config.user_agent, only=only, force=force)
        enrichment = enrich_from_pubmed(db, EntrezClient(config.ncbi))
    return FeedsResult(outcomes, enrichment)
