"""Give feed and imported works PubMed's metadata once PubMed has indexed them.

Works without a PMID but with a DOI are looked up by DOI (many DOIs per esearch, through the
same rate-limited client), and what PubMed returns goes the normal PubMed path: the store
matches it to the work by DOI, so the work gains PubMed's fields and a second sighting.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import sqlite_utils

from litmon.core.errors import SourceError, StopCheck, stop_if_asked
from litmon.core.records import Record
from litmon.crawler.entrez import EntrezClient
from litmon.db.lookups import pending_dois, record_lookups
from litmon.pipeline.ingest import store_items
from litmon.pipeline.run import Run, recorded_run

log = logging.getLogger(__name__)
DOIS_PER_SEARCH = 40


def enrich_from_pubmed(
    db: sqlite_utils.Database,
    client: EntrezClient,
    *,
    max_age_days: int = 90,
    retry_hours: int = 20,
    now: datetime | None = None,
    should_stop: StopCheck | None = None,
) -> Run | None:
    """Look up recent PMID-less works by DOI; each DOI at most once per ``retry_hours``.
    Logged as a crawl run (source pubmed, topic doi-lookup); None when there was nothing to
    look up. A batch that fails is reported and the next batches still run; its DOIs are
    tried again on a later run. ``should_stop`` is asked between batches: when it says so,
    the run ends interrupted (:class:`~litmon.core.errors.Interrupted`), the DOIs not yet
    looked up waiting for the next run."""
    now = now or datetime.now(UTC)
    dois = pending_dois(db, now - timedelta(days=max_age_days), now - timedelta(hours=retry_hours))
    if not dois:
        return None
    with recorded_run(db, "pubmed", "doi-lookup") as run:
        before = client.requests_sent
        failures = []
        for start in range(0, len(dois), DOIS_PER_SEARCH):
            batch = dois[start : start + DOIS_PER_SEARCH]
            if start:
                stop_if_asked(should_stop)
            try:
                _lookup(db, client, batch, run, now)
            except SourceError as exc:
                failures.append(f"DOIs {start + 1}-{start + len(batch)}: {exc}")
                log.error("DOI lookup in PubMed: %s", exc)
            finally:
                run.counts.requests = client.requests_sent - before
        if failures:
            run.counts.errors += len(failures) - 1
            run.fail(
                f"{len(failures)} of {-(-len(dois) // DOIS_PER_SEARCH)} lookup batches"
                f" failed: {'; '.join(failures)}"
            )
    return run


def _lookup(
    db: sqlite_utils.Database, client: EntrezClient, dois: list[str], run: Run, now: datetime
) -> None:
    term = " OR ".join(f'"{doi}"[doi]' for doi in dois)
    found = client.esearch(term, usehistory=False, retmax=len(dois) * 2)
    items = client.efetch_ids(found.ids) if found.ids else []
    store_items(db, items, run)
    pmids = {r.doi: r.pmid for r in items if isinstance(r, Record) and r.doi and r.pmid}
    record_lookups(db, dois, pmids, now)
