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

Each entry also holds its work's kind (:func:`block_kind`: without a PMID, with one, with one
and a preprint), so that a lookup reads only the works that can be candidates: a PubMed
record can be the same work as one without a PMID or one of the other preprint status,
never another PubMed record of its own status. A block full of PubMed works (an often
reused title) then costs a new PubMed record nothing to read. A work's entries are
rewritten whenever its PMID or publication types can change (a refresh re-blocks it).
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
from collections.abc import Iterable

from litmon.core.records import Record
from litmon.db import dedup
from litmon.db.transactions import write_transaction

BLOCK_CAP = 32
ALL_KINDS = (0, 1, 2)  # see block_kind
IS_PREPRINT = "(publication_types LIKE '%\"Preprint\"%')"  # of a works row, in SQL
_INSERT = "INSERT OR IGNORE INTO work_blocks (key, kind, work_id) VALUES (?, ?, ?)"
# what blocking and block_kind read of a works row
BLOCKED_COLUMNS = "id, pmid, publication_types, title, authors, pub_date, volume, issue, pages"
_STEP = "#"  # between a key and each narrowing value; folded titles never contain it


@functools.lru_cache(maxsize=4096)
def digest(key: str) -> bytes:
    """How a block key is stored (two keys sharing one digest only add candidates). A
    record's keys are digested on its lookup and again on its write, and a title many
    records share has the same keys each time: remembered while in use."""
    return hashlib.blake2b(key.encode(), digest_size=8).digest()


class KnownBlocks:
    """What one write transaction learns of the blocks: which are full (each block asked
    about once, and the way down of records with the same keys, a title many records share,
    worked out once), and which kinds of works each holds (a superset: entries that leave
    are not followed). Valid only inside that transaction, and only if every block written
    in it is written through it (a fill marks its block here and forgets the ways down, an
    entry adds its kind)."""

    def __init__(self) -> None:
        self._full: dict[bytes, bool] = {}
        self._ways: dict[tuple, tuple[list[bytes], set[str]]] = {}
        self._kinds: dict[bytes, set[int]] = {}

    def learn(self, conn: sqlite3.Connection, stored: Iterable[bytes]) -> None:
        """Ask once about the blocks not known yet."""
        unknown = [key for key in stored if key not in self._full]
        if not unknown:
            return
        self._full.update(dict.fromkeys(unknown, False))
        for start in range(0, len(unknown), 500):
            chunk = unknown[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(f"SELECT key FROM full_blocks WHERE key IN ({marks})", chunk)
            self._full.update((row[0], True) for row in rows)

    def is_full(self, conn: sqlite3.Connection, key: str) -> bool:
        stored = digest(key)
        if stored not in self._full:
            self.learn(conn, (stored,))
        return self._full[stored]

    def may_hold(
        self, conn: sqlite3.Connection, stored: list[bytes], kinds: tuple[int, ...]
    ) -> bool:
        """Whether any of the blocks ``stored`` may hold a work of one of ``kinds``."""
        unknown = [key for key in stored if key not in self._kinds]
        if unknown:
            for key in unknown:
                self._kinds[key] = set()
            marks = ",".join("?" * len(unknown))
            rows = conn.execute(
                f"SELECT DISTINCT key, kind FROM work_blocks WHERE key IN ({marks})", unknown
            )
            for key, kind in rows:
                self._kinds[key].add(kind)
        return any(kind in self._kinds[key] for key in stored for kind in kinds)

    def entered(self, stored: bytes, kind: int) -> None:
        """A work of ``kind`` was put in the block ``stored``."""
        if stored in self._kinds:
            self._kinds[stored].add(kind)

    def way_down(
        self, conn: sqlite3.Connection, blocking: dedup.Blocking
    ) -> tuple[list[bytes], set[str]]:
        """:func:`lookup_keys`: each record's way down through the full blocks, worked out
        once for the records with the same keys."""
        way = (blocking.keys, blocking.lookups)
        if (known := self._ways.get(way)) is not None:
            return known
        keys: list[bytes] = []
        full_keys: set[str] = set()
        frontier = [(key, 0) for key in blocking.keys]
        while frontier:
            stored = [digest(key) for key, _ in frontier]
            self.learn(conn, stored)
            deeper = []
            for (key, depth), key_digest in zip(frontier, stored, strict=True):
                if self._full[key_digest]:
                    full_keys.add(key)
                    if depth < len(blocking.lookups):
                        deeper.extend(
                            (f"{key}{_STEP}{v}", depth + 1) for v in blocking.lookups[depth]
                        )
                        continue
                keys.append(key_digest)
            frontier = deeper
        self._ways[way] = keys, full_keys
        return keys, full_keys

    def mark(self, conn: sqlite3.Connection, key: str) -> None:
        conn.execute("INSERT OR IGNORE INTO full_blocks (key) VALUES (?)", (digest(key),))
        self._full[digest(key)] = True
        self._ways.clear()


def block_kind(pmid: str | None, publication_types: str) -> int:
    """A works row's kind from its PMID and its publication types (the JSON text): 0 without
    a PMID, 1 with one, 2 with one and a preprint. The same test as :data:`IS_PREPRINT`
    (SQLite's LIKE ignores the case of ASCII letters only, as ``bytes.lower`` does)."""
    if pmid is None:
        return 0
    return 2 if b'"preprint"' in publication_types.encode().lower() else 1


def write_blocks(
    conn: sqlite3.Connection,
    work_id: int,
    work_kind: int,
    blocking: dedup.Blocking,
    fresh: frozenset[str] | set[str] = frozenset(),
    full: KnownBlocks | None = None,
) -> None:
    """Store a work of ``work_kind`` (see :func:`block_kind`) under its keys. ``fresh`` are keys
    known to have no block yet (the store's read-ahead of a batch): their block is neither
    full nor about to be. ``full``: the transaction's, when it has one (see
    :class:`KnownBlocks`)."""
    full = KnownBlocks() if full is None else full
    new = [(digest(key), work_kind, work_id) for key in blocking.keys if key in fresh]
    if new:
        conn.executemany(_INSERT, new)
        for stored, _, _ in new:
            full.entered(stored, work_kind)
    for key in blocking.keys:
        if key not in fresh:
            _place(conn, (work_id, work_kind), key, 0, blocking.path, full)


def _place(
    conn: sqlite3.Connection,
    work: tuple[int, int],
    key: str,
    depth: int,
    path: tuple,
    full: KnownBlocks,
) -> None:
    """Put ``work`` (its id and kind) in the block of ``key``, or the narrowest one below
    it that is not full."""
    while full.is_full(conn, key):
        if depth == len(path):
            return
        key, depth = f"{key}{_STEP}{path[depth]}", depth + 1
    conn.execute(_INSERT, (digest(key), work[1], work[0]))
    full.entered(digest(key), work[1])
    (size,) = conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM work_blocks WHERE key = ? LIMIT ?)",
        (digest(key), BLOCK_CAP),
    ).fetchone()
    if size >= BLOCK_CAP:
        _fill(conn, key, depth, full)


def _fill(conn: sqlite3.Connection, key: str, depth: int, full: KnownBlocks) -> None:
    """Mark a block full and move its works one step down (the narrowest block keeps them:
    lookups still read it)."""
    full.mark(conn, key)
    members = conn.execute(
        f"SELECT {BLOCKED_COLUMNS} FROM works"
        " WHERE id IN (SELECT work_id FROM work_blocks WHERE key = ?)",
        (digest(key),),
    ).fetchall()
    paths = [
        ((row[0], block_kind(row[1], row[2])), dedup.block_path(_row_record(row)))
        for row in members
    ]
    if depth == len(paths[0][1]):
        return
    conn.execute("DELETE FROM work_blocks WHERE key = ?", (digest(key),))
    for work, path in paths:
        _place(conn, work, key, depth, path, full)


def _row_record(row: tuple) -> Record:
    """What blocking reads of a works row (its :data:`BLOCKED_COLUMNS`)."""
    _, _, _, title, authors, pub_date, volume, issue, pages = row
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


def candidate_kinds(record: Record) -> tuple[int, ...]:
    """The kinds of works that can be candidates for ``record`` (see :func:`block_kind`); a work
    holding the record's own PMID is one too, whatever its kind."""
    if record.pmid is None:
        return ALL_KINDS
    return (0, 1) if record.is_preprint else (0, 2)


def lookup_keys(
    conn: sqlite3.Connection, blocking: dedup.Blocking, full: KnownBlocks | None = None
) -> tuple[list[bytes], set[str]]:
    """The blocks to read for a record (their stored keys; at most :data:`BLOCK_CAP` works
    each), and the full blocks on the way (a full title key: a title many works share).
    ``full``: the transaction's, when it has one (see :class:`KnownBlocks`)."""
    return (KnownBlocks() if full is None else full).way_down(conn, blocking)


BLOCK_BATCH = 5000
_BLOCKED_ALL = 2**63 - 1


def backfill_blocks(conn: sqlite3.Connection, batch: int = BLOCK_BATCH) -> int:
    """Block the live works not blocked yet (all of them, once, after an upgrade emptied the
    blocks: schema 12, schema 14), ``batch`` works per write transaction so that other
    processes get the database between batches. Returns how many works were blocked."""
    blocked = 0
    # Every open_db calls this: a database blocked already is not locked for writing (a
    # status check or the web page must not wait behind a crawl), nor written at all (a
    # read-only file stays usable).
    (upto,) = conn.execute("SELECT upto FROM block_backfill").fetchone()
    if upto == _BLOCKED_ALL:
        return blocked
    while True:
        with write_transaction(conn):
            upto = conn.execute("SELECT upto FROM block_backfill").fetchone()[0]
            if upto == _BLOCKED_ALL:
                return blocked
            rows = conn.execute(
                f"SELECT {BLOCKED_COLUMNS} FROM works"
                " WHERE id > ? AND merged_into IS NULL AND deleted_at IS NULL ORDER BY id LIMIT ?",
                (upto, batch),
            ).fetchall()
            if not rows:
                # every work is blocked: from now on the store blocks each new one
                conn.execute("UPDATE block_backfill SET upto = ?", (_BLOCKED_ALL,))
                return blocked
            full = KnownBlocks()
            for row in rows:
                blocking = dedup.blocking(_row_record(row))
                write_blocks(conn, row[0], block_kind(row[1], row[2]), blocking, full=full)
            conn.execute("UPDATE block_backfill SET upto = ?", (rows[-1][0],))
            blocked += len(rows)
