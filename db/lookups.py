"""``pubmed_lookups``: feed and imported works looked up in PubMed by DOI, and when."""

from __future__ import annotations

from datetime import datetime

import sqlite_utils

from litmon.core.clock import stamp
from litmon.db.transactions import write_transaction


def pending_dois(
    db: sqlite_utils.Database, created_after: datetime, tried_before: datetime
) -> list[str]:
    """DOIs of live works without a PMID, created after ``created_after``, not looked up
    since ``tried_before``."""
    rows = db.execute(
        "SELECT DISTINCT w.doi FROM works w LEFT JOIN pubmed_lookups l ON l.doi = w.doi"
        " WHERE w.pmid IS NULL AND w.doi IS NOT NULL AND w.merged_into IS NULL"
        " AND w.deleted_at IS NULL AND w.created_at >= ?"
        " AND (l.tried_at IS NULL OR l.tried_at < ?) ORDER BY w.id",
        (stamp(created_after), stamp(tried_before)),
    )
    return [row[0] for row in rows]


def record_lookups(
    db: sqlite_utils.Database, dois: list[str], found: dict[str, str], when: datetime
) -> None:
    """Remember that ``dois`` were looked up at ``when``; ``found`` maps DOI to PMID."""
    with write_transaction(db.conn):
        db.conn.executemany(
            "INSERT INTO pubmed_lookups (doi, tried_at, pmid) VALUES (?, ?, ?)"
            " ON CONFLICT (doi) DO UPDATE SET tried_at = excluded.tried_at, pmid = excluded.pmid",
            [(doi, stamp(when), found.get(doi)) for doi in dois],
        )
