"""Following a merge chain: a work (or a candidate) merged into another stands for the one
at the end of its ``merged_into`` chain. The one walker of both chains."""

from __future__ import annotations

import sqlite3
from typing import Literal

__all__ = ["follow_merges", "live_work"]


def follow_merges(
    conn: sqlite3.Connection, table: Literal["works", "candidates"], row_id: int
) -> int | None:
    """The id ``row_id`` of ``table`` stands for now: its ``merged_into`` chain followed to
    the end. None when there is no such row. A cycle (no merge makes one) ends where it
    closes instead of looping."""
    seen: set[int] = set()
    while row_id not in seen:
        seen.add(row_id)
        row = conn.execute(f"SELECT merged_into FROM {table} WHERE id = ?", (row_id,)).fetchone()
        if row is None:
            return None
        if row[0] is None:
            return row_id
        row_id = row[0]
    return row_id


def live_work(conn: sqlite3.Connection, work_id: int) -> tuple[int, str | None] | None:
    """The work a work id stands for now (following merges) and its deletion time; None for
    an unknown work."""
    final = follow_merges(conn, "works", work_id)
    if final is None:
        return None
    (deleted_at,) = conn.execute("SELECT deleted_at FROM works WHERE id = ?", (final,)).fetchone()
    return final, deleted_at
