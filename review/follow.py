"""The queue follows the works, reading ``work_events`` from its own position: when two works
merge, their candidates merge (the one further along wins; the other is kept, hidden, with
its trail); undoing the merge puts both back; a deleted or retracted work's candidate is
withdrawn. No state changes here, so the transition table is untouched: a merge only
decides which candidate stands for the work."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import sqlite_utils

from litmon.db import candidates as sql
from litmon.db.events import advance, read_events
from litmon.db.merged import live_work

READER = "review"

# Which candidate stands for two merged works: the one whose state carries more (a piece
# published, a draft written, a lease held, an editor's approval...); a withdrawn one never wins.
PRECEDENCE = (
    "published",
    "summarized",
    "leased",
    "approved",
    "dead",
    "rejected",
    "discarded",
    "deferred",
    "new",
    "withdrawn",
)

FLAG_DISAGREE = "merged candidates disagreed (approved and rejected): decide again"


def follow(
    db: sqlite_utils.Database, at: str, withdraw: Callable[[sqlite3.Connection, str], int]
) -> None:
    """Inside a write transaction: handle every work event after the queue's position.
    ``withdraw(conn, at)`` withdraws candidates of deleted or retracted works."""
    conn = db.conn
    while events := read_events(db, READER, 5_000):
        sweep = False
        for event in events:
            if event.kind == "merged" and sql.merged_into(conn, event.work_id) is not None:
                _merge(conn, event.work_id, at)
            elif event.kind == "unmerged":
                _restore(conn, at)
            elif event.kind in ("deleted", "retracted"):
                sweep = True
        if sweep:
            withdraw(conn, at)
        advance(conn, READER, events[-1].id)


def pending(db: sqlite_utils.Database) -> bool:
    return bool(read_events(db, READER, 1))


def _note(conn: sqlite3.Connection, row: dict, at: str, reason: str) -> None:
    sql.audit(conn, row["id"], at=at, by="litmon", action="merge", from_state=row["state"],
              to_state=row["state"], reason=reason)  # fmt: skip


def _merge(conn: sqlite3.Connection, merged_work: int, at: str) -> None:
    live = live_work(conn, merged_work)
    moving = sql.by_work(conn, merged_work)
    if live is None or moving is None:
        return
    kept_work = live[0]
    staying = sql.by_work(conn, kept_work)
    why = f"work {merged_work} merged into work {kept_work}"
    if staying is None:
        sql.update(conn, moving["id"], at, work_id=kept_work)
        _note(conn, moving, at, f"{why}: now its candidate")
        return
    rank = PRECEDENCE.index
    # Ties go to the kept work's candidate.
    winner, loser = (
        (moving, staying) if rank(moving["state"]) < rank(staying["state"]) else (staying, moving)
    )
    sql.update(conn, loser["id"], at, merged_into=winner["id"])
    values: dict[str, object] = {"work_id": kept_work}
    if {winner["state"], loser["state"]} == {"approved", "rejected"}:
        values["flag"] = FLAG_DISAGREE
    sql.update(conn, winner["id"], at, **values)
    _note(conn, loser, at, f"{why}: merged into candidate {winner['id']}")
    _note(conn, winner, at, f"{why}: candidate {loser['id']} ({loser['state']}) merged into it")


def _restore(conn: sqlite3.Connection, at: str) -> None:
    for row in sql.displaced(conn):
        sql.update(conn, row["id"], at, work_id=row["origin_work_id"], merged_into=None)
        back = f"back to work {row['origin_work_id']}"
        sql.audit(conn, row["id"], at=at, by="litmon", action="unmerge",
                  from_state=row["state"], to_state=row["state"], reason=back)  # fmt: skip
