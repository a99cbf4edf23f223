"""Blocks of fuzzy-dedup candidates whose size, and so the cost of a new record, is bounded.

A record's candidates are the works sharing one of its block keys (see
:class:`litmon.db.dedup.Blocking`). Keys from titles are not equally selective: in this
domain "in multiple sclerosis", "a systematic review and meta-analysis" or "Erratum" are
shared by a large part of the database. So a block holds at most :data:`BLOCK_CAP` works.
The work that fills one marks it full (``full_blocks``) and moves its works one step down,
into narrower blocks (the key plus the year, then the first author, then the place in the
journal); later works go straight to the narrower block. A lookup descends through full
blocks to the ones that are not, and reads at most :data:`BLOCK_CAP` works from each block
it reaches, whatever the size of the database. The narrowest blocks stop taking works once
full: a title, year, author and page shared by that many works says nothing more.

A full block stays full when works leave it (merged, deleted), so no work is ever stranded
in a block that lookups no longer reach. Keys are stored as 8-byte digests: a title key is
as long as the title, and the index of every work's keys is written on every insert.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3

from litmon.core.records import Record
from litmon.db import dedup

BLOCK_CAP = 32
_STEP = "#"  # between a key and each narrowing value; folded titles never contain it


def digest(key: str) -> bytes:
    """How a block key is stored (two keys sharing one digest only add candidates)."""
    return hashlib.blake2b(key.encode(), digest_size=8).digest()


def write_blocks(
    conn: sqlite3.Connection,
    work_id: int,
    blocking: dedup.Blocking,
    fresh: frozenset[str] | set[str] = frozenset(),
    full: set[str] | None = None,
) -> None:
    """Store a work under its keys. ``fresh`` are keys known to have no block yet (the
    store's read-ahead of a batch): their block is neither full nor about to be. ``full``,
    when given, is every full block on the way down (what :func:`lookup_keys` found for the
    same record in the same transaction), so the way down costs no query."""
    new = [(digest(key), work_id) for key in blocking.keys if key in fresh]
    if new:
        conn.executemany("INSERT OR IGNORE INTO work_blocks (key, work_id) VALUES (?, ?)", new)
    for key in blocking.keys:
        if key not in fresh:
            _place(conn, work_id, key, 0, blocking.path, full)


def _place(
    conn: sqlite3.Connection,
    work_id: int,
    key: str,
    depth: int,
    path: tuple,
    full: set[str] | None = None,
) -> None:
    while key in full if full is not None else _is_full(conn, key):
        if depth == len(path):
            return
        key, depth = f"{key}{_STEP}{path[depth]}", depth + 1
    _insert(conn, key, work_id)
    (size,) = conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM work_blocks WHERE key = ? LIMIT ?)",
        (digest(key), BLOCK_CAP),
    ).fetchone()
    if size >= BLOCK_CAP:
        _fill(conn, key, depth)


def _insert(conn: sqlite3.Connection, key: str, work_id: int) -> None:
    conn.execute(
        "INSERT OR IGNORE INTO work_blocks (key, work_id) VALUES (?, ?)", (digest(key), work_id)
    )


def _is_full(conn: sqlite3.Connection, key: str) -> bool:
    row = conn.execute("SELECT 1 FROM full_blocks WHERE key = ?", (digest(key),)).fetchone()
    return row is not None


def _fill(conn: sqlite3.Connection, key: str, depth: int) -> None:
    """Mark a block full and move its works one step down (the narrowest block keeps them:
    lookups still read it)."""
    stored = digest(key)
    conn.execute("INSERT OR IGNORE INTO full_blocks (key) VALUES (?)", (stored,))
    members = conn.execute(
        "SELECT w.id, w.title, w.authors, w.pub_date, w.volume, w.issue, w.pages FROM works w"
        " JOIN work_blocks b ON b.work_id = w.id WHERE b.key = ?",
        (stored,),
    ).fetchall()
    paths = [(row[0], dedup.block_path(_row_record(row))) for row in members]
    if depth == len(paths[0][1]):
        return
    conn.execute("DELETE FROM work_blocks WHERE key = ?", (stored,))
    for work_id, path in paths:
        _place(conn, work_id, key, depth, path)


def _row_record(row: tuple) -> Record:
    """What blocking reads of a works row (id, title, authors, pub_date, volume, issue,
    pages)."""
    _, title, authors, pub_date, volume, issue, pages = row
    return Record(
        source="",
        source_id="",
        title=title,
        authors=json.loads(authors),
        pub_date=pub_date,
        volume=volume,
        issue=issue,
        pages=pages,
    )


def lookup_keys(conn: sqlite3.Connection, blocking: dedup.Blocking) -> tuple[list[bytes], set[str]]:
    """The blocks to read for a record (their stored keys; at most :data:`BLOCK_CAP` works
    each), and the full blocks on the way (a full title key: a title many works share)."""
    keys: list[bytes] = []
    full_keys: set[str] = set()
    frontier = [(key, 0) for key in blocking.keys]
    while frontier:
        stored = {digest(key): key for key, _ in frontier}
        marks = ",".join("?" * len(stored))
        rows = conn.execute(f"SELECT key FROM full_blocks WHERE key IN ({marks})", list(stored))
        full = {stored[row[0]] for row in rows}
        full_keys |= full
        deeper = []
        for key, depth in frontier:
            if key in full:
                if depth < len(blocking.lookups):
                    deeper.extend((f"{key}{_STEP}{v}", depth + 1) for v in blocking.lookups[depth])
                    continue
            keys.append(digest(key))
        frontier = deeper
    return keys, full_keys


BLOCK_BATCH = 5000
_BLOCKED_ALL = 2**63 - 1


def backfill_blocks(conn: sqlite3.Connection, batch: int = BLOCK_BATCH) -> int:
    """Block the live works not blocked yet (all of them, once, after the upgrade to schema
    12 emptied the old fixed-position blocks), ``batch`` works per write transaction so that
    other processes get the database between batches. Returns how many works were blocked."""
    blocked = 0
    while True:
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            upto = conn.execute("SELECT upto FROM block_backfill").fetchone()[0]
            if upto == _BLOCKED_ALL:
                return blocked
            rows = conn.execute(
                "SELECT id, title, authors, pub_date, volume, issue, pages FROM works"
                " WHERE id > ? AND merged_into IS NULL AND deleted_at IS NULL ORDER BY id LIMIT ?",
                (upto, batch),
            ).fetchall()
            if not rows:
                # every work is blocked: from now on the store blocks each new one
                conn.execute("UPDATE block_backfill SET upto = ?", (_BLOCKED_ALL,))
                return blocked
            for row in rows:
                write_blocks(conn, row[0], dedup.blocking(_row_record(row)))
            conn.execute("UPDATE block_backfill SET upto = ?", (rows[-1][0],))
            blocked += len(rows)
