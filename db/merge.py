"""Editors' decisions on duplicates: list possible duplicates, merge, undo a merge, mark distinct.

Every merge moves sightings and is recorded in ``merges``, so it can be undone; a pair an
editor split or marked distinct is remembered in ``possible_duplicates`` (status
"distinct") and is not proposed again.
"""

from __future__ import annotations

import json
import sqlite3

import sqlite_utils

from litmon.core.clock import now
from litmon.core.errors import UsageError
from litmon.db.store import (
    Writer,
    decide_pair,
    fold_records,
    merge_into,
    refresh_work,
    sighting_records,
)
from litmon.db.transactions import write_transaction

_LIST = """
SELECT p.id, p.work_id, p.other_id, p.score, p.reason, p.status, p.created_at, p.decided_at,
       a.title, b.title
FROM possible_duplicates p
JOIN works a ON a.id = p.work_id
JOIN works b ON b.id = p.other_id
WHERE p.status = :status
  AND (:status = 'merged' OR (a.merged_into IS NULL AND b.merged_into IS NULL
                             AND a.deleted_at IS NULL AND b.deleted_at IS NULL))
ORDER BY p.score DESC, p.id
"""
_COLUMNS = ("id", "work_id", "other_id", "score", "reason", "status", "created_at", "decided_at")


def list_possible_duplicates(db: sqlite_utils.Database, status: str = "open") -> list[dict]:
    """Pairs with this status, best score first: "open" and "distinct" pairs of live works,
    "merged" pairs (one of them now folded into the other)."""
    rows = db.conn.execute(_LIST, {"status": status}).fetchall()
    return [
        {**dict(zip(_COLUMNS, row[:8], strict=True)), "work_title": row[8], "other_title": row[9]}
        for row in rows
    ]


def merge_works(db: sqlite_utils.Database, kept_id: int, merged_id: int, reason: str) -> int:
    """Merge ``merged_id`` into ``kept_id``; returns the merge id for :func:`undo_merge`."""
    conn = db.conn
    with write_transaction(conn):
        for work_id in (kept_id, merged_id):
            _require_live(conn, work_id)
        if kept_id == merged_id:
            raise UsageError(f"cannot merge work {kept_id} into itself")
        return merge_into(Writer(conn, now(), None), kept_id, merged_id, reason)


def active_merge(db: sqlite_utils.Database, work_id: int, other_id: int) -> int | None:
    """The latest merge of these two works (either way round) that was not undone."""
    row = db.conn.execute(
        "SELECT max(id) FROM merges WHERE undone_at IS NULL"
        " AND ((kept_id = ? AND merged_id = ?) OR (kept_id = ? AND merged_id = ?))",
        (work_id, other_id, other_id, work_id),
    ).fetchone()
    return row[0]


def undo_merge(db: sqlite_utils.Database, merge_id: int) -> None:
    """Split a merge: the sightings it moved go back to the merged work, which lives again.

    The two works are then marked distinct, so they are not proposed again.
    """
    conn = db.conn
    with write_transaction(conn):
        row = conn.execute(
            "SELECT kept_id, merged_id, sighting_ids, undone_at FROM merges WHERE id = ?",
            (merge_id,),
        ).fetchone()
        if row is None:
            raise UsageError(f"no merge {merge_id}")
        kept_id, merged_id, sighting_ids, undone_at = row
        if undone_at is not None:
            raise UsageError(f"merge {merge_id} was already undone at {undone_at}")
        _require_live(conn, kept_id)
        moved = json.loads(sighting_ids)
        marks = ",".join("?" * len(moved))
        holders = conn.execute(
            f"SELECT DISTINCT work_id FROM sightings WHERE id IN ({marks})", moved
        ).fetchall()
        writer = Writer(conn, now(), None)
        stamp = writer.stamp
        conn.execute(f"UPDATE sightings SET work_id = ? WHERE id IN ({marks})", [merged_id, *moved])
        conn.execute("UPDATE works SET merged_into = NULL WHERE id = ?", (merged_id,))
        conn.execute("UPDATE merges SET undone_at = ? WHERE id = ?", (stamp, merge_id))
        # The works that held the sightings give up their identifiers before the split-off
        # work takes them back (PMIDs are unique among works).
        for (holder,) in holders:
            refresh_work(conn, holder)
        _require_free_pmid(conn, merge_id, merged_id)
        refresh_work(conn, merged_id)
        decide_pair(conn, kept_id, merged_id, "distinct", stamp)
        for work_id in {kept_id, merged_id, *(holder for (holder,) in holders)}:
            writer.event(work_id, "unmerged", f"merge #{merge_id} of work {merged_id} undone")


def split_works(db: sqlite_utils.Database, work_id: int, other_id: int) -> int | None:
    """Two works are different papers: undo their merge if they were merged (returns its
    id), else mark them distinct (returns None)."""
    merge_id = active_merge(db, work_id, other_id)
    if merge_id is None:
        mark_distinct(db, work_id, other_id)
    else:
        undo_merge(db, merge_id)
    return merge_id


def mark_distinct(db: sqlite_utils.Database, work_id: int, other_id: int) -> None:
    """Record that two works are different papers; the store will not propose them again."""
    conn = db.conn
    with write_transaction(conn):
        for work in (work_id, other_id):
            _require_live(conn, work)
        decide_pair(conn, work_id, other_id, "distinct", now())


def _require_free_pmid(conn: sqlite3.Connection, merge_id: int, work_id: int) -> None:
    """Refuse a split that would give the split-off work a PMID another work holds (its
    sighting was moved for carrying that work's PMID): the work cannot take it back."""
    records = sighting_records(conn, work_id)
    pmid = fold_records(records).pmid if records else None
    holder = (
        pmid
        and conn.execute(
            "SELECT id FROM works WHERE pmid = ? AND id != ?", (pmid, work_id)
        ).fetchone()
    )
    if holder:
        raise UsageError(
            f"merge #{merge_id} cannot be undone: work {work_id} would take back PMID {pmid},"
            f" which work {holder[0]} holds"
        )


def _require_live(conn: sqlite3.Connection, work_id: int) -> None:
    row = conn.execute("SELECT merged_into FROM works WHERE id = ?", (work_id,)).fetchone()
    if row is None:
        raise UsageError(f"no work {work_id}")
    if row[0] is not None:
        raise UsageError(f"work {work_id} was merged into work {row[0]}")
