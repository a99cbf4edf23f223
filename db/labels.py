"""Training labels: what the editors decided (read from the candidates' current state and
their trail, so an undo takes a label back on its own), and labels imported from elsewhere
(``imported_labels``), each for the live work it now stands for."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from litmon.db.merged import live_work

__all__ = [
    "LABELS_SOURCE",
    "NOT_DECIDED",
    "changes",
    "editor_labels",
    "imported_labels",
    "labels",
    "store_imported",
]

# The sightings of a labels file are kept as "labels:NAME": a work seen only so never
# enters the queue.
LABELS_SOURCE = "labels:"

# States that say nothing of an editor's judgement: not yet decided, put off, or withdrawn
# (deleted, retracted). Every other state comes after an approval (leased, summarized,
# published, ...), rejected aside.
NOT_DECIDED = ("new", "deferred", "withdrawn")


def editor_labels(conn: sqlite3.Connection, irrelevant_reasons: Sequence[str]) -> dict[int, int]:
    """work id -> 1 (approved, and every state after) or 0 (rejected for one of
    ``irrelevant_reasons``), from the live candidates: one merged into another counts
    through the one that stands for both. A rejection for another reason (a duplicate, a
    retraction) teaches nothing."""
    marks = ",".join("?" * len(NOT_DECIDED))
    rows = conn.execute(
        "SELECT c.work_id, c.state,"
        " (SELECT a.reason FROM candidate_audit a WHERE a.candidate_id = c.id"
        "  AND a.action = 'reject' ORDER BY a.id DESC LIMIT 1)"
        f" FROM candidates c WHERE c.merged_into IS NULL AND c.state NOT IN ({marks})",
        NOT_DECIDED,
    ).fetchall()
    judged = set(irrelevant_reasons)
    found: dict[int, int] = {}
    for work_id, state, reason in rows:
        if state != "rejected":
            found[work_id] = 1
        elif reason in judged:
            found[work_id] = 0
    return found


def imported_labels(conn: sqlite3.Connection) -> dict[int, int]:
    """work id -> label of the imported labels, through their sightings to the live work
    (merges followed); when two imports disagree on a work, the later one counts."""
    rows = conn.execute(
        "SELECT s.work_id, l.label FROM imported_labels l"
        " JOIN sightings s ON s.source = ? || l.source AND s.source_id = l.source_id"
        " ORDER BY l.imported_at, l.source",
        (LABELS_SOURCE,),
    ).fetchall()
    found: dict[int, int] = {}
    for work_id, label in rows:
        live = live_work(conn, work_id)
        if live is not None and live[1] is None:  # deleted works teach nothing
            found[live[0]] = label
    return found


def labels(conn: sqlite3.Connection, irrelevant_reasons: Sequence[str]) -> dict[int, int]:
    """Every training label by live work: an editor's decision over an imported label."""
    return {**imported_labels(conn), **editor_labels(conn, irrelevant_reasons)}


def changes(before: dict[int, int], now: dict[int, int]) -> int:
    """How many works gained, lost or changed their label between two sets of labels."""
    return len(before.keys() ^ now.keys()) + sum(
        1 for work_id in before.keys() & now.keys() if before[work_id] != now[work_id]
    )


def store_imported(
    conn: sqlite3.Connection, source: str, rows: Iterable[tuple[str, int]], at: str
) -> int:
    """Keep (source id, label) pairs of the labels file ``source``; a row imported again
    takes its new label. Returns how many were stored."""
    before = conn.total_changes
    conn.executemany(
        "INSERT INTO imported_labels (source, source_id, label, imported_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (source, source_id) DO UPDATE SET label = excluded.label,"
        " imported_at = excluded.imported_at WHERE label != excluded.label",
        [(source, source_id, label, at) for source_id, label in rows],
    )
    return conn.total_changes - before
