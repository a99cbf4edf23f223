"""The full-text search index of works' titles and abstracts (``works_fts``, FTS5).

A work is indexed once it is stored, by :func:`index_new_works`, which every job calls
after its last batch and :func:`~litmon.db.schema.open_db` calls on opening; a change to
an indexed work's title or abstract is applied at once by triggers (schema 11). Indexing
a 2 KB abstract costs about as much as storing the whole record, so it stays out of the
store's write transactions: they stay short for the readers, and ingest fast
(bench/ingest_bench.py).
"""

from __future__ import annotations

import sqlite3

from litmon.db.transactions import write_transaction

BATCH = 5000


def index_new_works(conn: sqlite3.Connection, batch: int = BATCH) -> int:
    """Index the works stored since the index last caught up, ``batch`` per write
    transaction so that other processes get the database between batches (an upgraded
    database is indexed whole this way). Returns how many works were indexed."""
    indexed = 0
    upto = conn.execute("SELECT upto FROM search_backfill").fetchone()[0]
    if conn.execute("SELECT 1 FROM works WHERE id > ? LIMIT 1", (upto,)).fetchone() is None:
        return indexed  # up to date: no write lock
    while True:
        with write_transaction(conn):
            upto = conn.execute("SELECT upto FROM search_backfill").fetchone()[0]
            last = conn.execute(
                "SELECT max(id) FROM (SELECT id FROM works WHERE id > ? ORDER BY id LIMIT ?)",
                (upto, batch),
            ).fetchone()[0]
            if last is None:
                return indexed
            cursor = conn.execute(
                "INSERT INTO works_fts (rowid, title, abstract)"
                " SELECT id, title, abstract FROM works WHERE id > ? AND id <= ?",
                (upto, last),
            )
            conn.execute("UPDATE search_backfill SET upto = ?", (last,))
            indexed += cursor.rowcount
