"""Pruning the crawl log: old ``crawl_runs`` rows go, nothing else does.

Works, sightings, checkpoints, merges, the candidate audit trail and summaries are kept
for ever; rotated log files are pruned by the log handler (``[log] backups``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlite_utils

from litmon.core.clock import stamp
from litmon.db.transactions import write_transaction


@dataclass(frozen=True, slots=True)
class Pruned:
    cutoff: str  # runs that finished before this were candidates for pruning
    runs: int  # crawl_runs rows deleted
    unlinked_events: int  # work_events, already read by every reader, whose run_id was cleared
    kept_for_events: int  # old runs kept because events not yet read by a reader name them


def prune(db: sqlite_utils.Database, days: int, *, now: datetime | None = None) -> Pruned:
    """Delete the runs that finished more than ``days`` days ago, in one transaction.

    Kept: each (source, topic)'s newest run (status reports its last success and failure
    from them), runs still running, and runs named by a ``work_events`` row some reader
    (scoring, the queue) has not passed yet; an event every reader has passed loses its
    run reference instead. Without any reader position recorded, no event counts as read.
    """
    cutoff = stamp((now or datetime.now(UTC)) - timedelta(days=days))
    conn = db.conn
    with write_transaction(conn):
        conn.execute(
            "CREATE TEMP TABLE prunable AS SELECT id FROM crawl_runs"
            " WHERE status != 'running' AND finished_at IS NOT NULL AND finished_at < ?"
            " AND id NOT IN (SELECT max(id) FROM crawl_runs GROUP BY source, topic)",
            (cutoff,),
        )
        read_up_to = conn.execute(
            "SELECT coalesce(min(position), 0) FROM event_readers"
        ).fetchone()[0]
        kept = conn.execute(
            "DELETE FROM temp.prunable WHERE id IN"
            " (SELECT run_id FROM work_events WHERE id > ? AND run_id IS NOT NULL)",
            (read_up_to,),
        ).rowcount
        unlinked = conn.execute(
            "UPDATE work_events SET run_id = NULL"
            " WHERE id <= ? AND run_id IN (SELECT id FROM temp.prunable)",
            (read_up_to,),
        ).rowcount
        deleted = conn.execute(
            "DELETE FROM crawl_runs WHERE id IN (SELECT id FROM temp.prunable)"
        ).rowcount
        conn.execute("DROP TABLE temp.prunable")
    return Pruned(cutoff=cutoff, runs=deleted, unlinked_events=unlinked, kept_for_events=kept)
