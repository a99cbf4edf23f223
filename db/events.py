"""``work_events``: what happened to each work, in order, for the stages after the store.

Every writer of works appends its events in the same transaction as the change, so a
reader never sees a change without its event or an event without its change. Each reader
(scoring, the candidate queue, ...) keeps its own position and can be re-run from it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import sqlite_utils

from litmon.core.clock import now

# The fixed set of kinds, each written by:
#   new        the store: a record that matched no stored work became one
#   updated    the store: a work gained a sighting, a sighting changed, or a sighting
#              moved to or from it (a revision carrying another work's identifier;
#              an event for each work, recorded in merges)
#   merged     the store or an editor: another work was folded into this one
#              (an event for the merged work too, whose detail names the kept one)
#   (a record the store refuses, its sighting being another paper, changes nothing and
#   has no event)
#   unmerged   an editor's split: the merge was undone (an event for each work)
#   deleted    PubMed's DeleteCitation: NLM withdrew the record; the work is hidden
#   retracted  the work gained a RetractionIn link (PubMed's retraction notice)
KINDS = ("new", "updated", "merged", "unmerged", "deleted", "retracted")


@dataclass(frozen=True, slots=True)
class WorkEvent:
    id: int
    work_id: int
    kind: str
    run_id: int | None
    created_at: str
    detail: str | None


def append_event(
    conn: sqlite3.Connection,
    work_id: int,
    kind: str,
    run_id: int | None = None,
    detail: str | None = None,
    stamp: str | None = None,
) -> None:
    """Add one event; call inside the transaction that made the change."""
    if kind not in KINDS:
        raise ValueError(f"unknown work event kind {kind!r} (one of {', '.join(KINDS)})")
    conn.execute(
        "INSERT INTO work_events (work_id, kind, run_id, created_at, detail)"
        " VALUES (?, ?, ?, ?, ?)",
        (work_id, kind, run_id, stamp or now(), detail),
    )


def read_events(db: sqlite_utils.Database, reader: str, limit: int = 1000) -> list[WorkEvent]:
    """The next events after ``reader``'s position, oldest first (it does not move)."""
    rows = db.execute(
        "SELECT id, work_id, kind, run_id, created_at, detail FROM work_events"
        " WHERE id > ? ORDER BY id LIMIT ?",
        (position(db, reader), limit),
    ).fetchall()
    return [WorkEvent(*row) for row in rows]


def position(db: sqlite_utils.Database, reader: str) -> int:
    """The id of the last event ``reader`` has handled (0 before its first)."""
    row = db.execute("SELECT position FROM event_readers WHERE reader = ?", (reader,)).fetchone()
    return row[0] if row else 0


def advance(conn: sqlite3.Connection, reader: str, event_id: int) -> None:
    """Move ``reader`` past ``event_id``; call in the transaction that stores what it made
    of the events, so a crash re-reads them rather than losing them."""
    conn.execute(
        "INSERT INTO event_readers (reader, position, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (reader) DO UPDATE SET position = max(position, excluded.position),"
        " updated_at = excluded.updated_at",
        (reader, event_id, now()),
    )
