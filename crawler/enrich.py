"""Give feed and imported works PubMed's metadata once PubMed has indexed them.

Works without a PMID but with a DOI are looked up by DOI (many DOIs per esearch, through the
same rate-limited client), and what PubMed returns goes the normal PubMed path: the store
matches it to the work by DOI, so the work gains PubMed's fields and a second sighting.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import sqlite_utils

from crawler.entrez import EntrezClient, EntrezError
from db import runs
from db.store import save_records, stamp

log = logging.getLogger(__name__)
DOIS_PER_SEARCH = 40


def enrich_from_pubmed(
    db: sqlite_utils.Database,
    client: EntrezClient,
    *,
    max_age_days: int = 90,
    retry_hours: int = 20,
    now: datetime | None = None,
) -> runs.RunCounts:
    """Look up recent PMID-less works by DOI; each DOI at most once per ``retry_hours``.
    Logged as a crawl run (source pubmed, topic doi-lookup)."""
    now = now or datetime.now(UTC)
    dois = _pending(db, now - timedelta(days=max_age_days), now - timedelta(hours=retry_hours))
    counts = runs.RunCounts()
    if not dois:
        return counts
    run_id = runs.start_run(db, "pubmed", "doi-lookup")
    before = client.requests_sent
    status, error = "ok", None
    try:
        for start in range(0, len(dois), DOIS_PER_SEARCH):
            _lookup(db, client, dois[start : start + DOIS_PER_SEARCH], counts, now)
    except EntrezError as exc:
        counts.errors += 1
        status, error = ("partial" if counts.fetched else "failed"), str(exc)
        log.error("DOI lookup in PubMed: %s", exc)
    counts.requests = client.requests_sent - before
    runs.finish_run(db, run_id, counts, status, error)
    return counts


def _pending(
    db: sqlite_utils.Database, created_after: datetime, tried_before: datetime
) -> list[str]:
    rows = db.execute(
        "SELECT DISTINCT w.doi FROM works w LEFT JOIN pubmed_lookups l ON l.doi = w.doi"
        " WHERE w.pmid IS NULL AND w.doi IS NOT NULL AND w.merged_into IS NULL"
        " AND w.created_at >= ? AND (l.tried_at IS NULL OR l.tried_at < ?) ORDER BY w.id",
        (stamp(created_after), stamp(tried_before)),
    )
    return [row[0] for row in rows]


def _lookup(
    db: sqlite_utils.Database,
    client: EntrezClient,
    dois: list[str],
    counts: runs.RunCounts,
    now: datetime,
) -> None:
    term = " OR ".join(f'"{doi}"[doi]' for doi in dois)
    found = client.esearch(term, usehistory=False, retmax=len(dois) * 2)
    records = client.efetch_ids(found.ids) if found.ids else []
    counts.add_saved(len(records), save_records(db, records))
    pmid_by_doi = {record.doi: record.pmid for record in records if record.doi}
    with db.conn:
        db.conn.executemany(
            "INSERT INTO pubmed_lookups (doi, tried_at, pmid) VALUES (?, ?, ?)"
            " ON CONFLICT (doi) DO UPDATE SET tried_at = excluded.tried_at, pmid = excluded.pmid",
            [(doi, stamp(now), pmid_by_doi.get(doi)) for doi in dois],
        )
