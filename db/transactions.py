"""The one way litmon writes: :func:`write_transaction`, used by every writer."""

from __future__ import annotations

import itertools
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from litmon.db.storage import as_error, read_only_file

__all__ = ["write_problem", "write_transaction"]

# Free space below which the database is reported full: room for a few WAL frames of
# 16 KB pages (a decision, a session) and the -shm file's growth.
MIN_FREE_BYTES = 1024 * 1024

_savepoints = itertools.count(1)


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, begun IMMEDIATE: it takes the write lock before the reads the
    writes depend on, so two processes can never both decide to insert the same work.

    Inside another one it is a savepoint: a failure undoes only its own writes, and only
    the outermost commits. A COMMIT that fails (a deferred constraint, a full disk) is
    rolled back, so the connection is never left inside a half-done transaction."""
    if conn.in_transaction:
        name = f"litmon_{next(_savepoints)}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            raise
        conn.execute(f"RELEASE {name}")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.commit()
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise


def write_problem(conn: sqlite3.Connection, path: Path, wait: float = 1.0) -> str | None:
    """Why the database at ``path`` cannot take a write now, in one line without the path
    (``/health`` answers anyone); None when it can.

    A real check, for ``/health``: the write lock is taken (waiting at most ``wait``
    seconds for another writer) and given back at once, nothing written; the file and its
    folder must be writable, and the disk must have room for a few pages."""
    if read_only_file(path):
        return "the database is read-only"
    stat = os.statvfs(path.parent)
    if stat.f_bavail * stat.f_frsize < MIN_FREE_BYTES:
        return "database or disk is full"
    previous = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.rollback()
    except sqlite3.Error as exc:
        error = as_error(exc, None)
        return str(error) if error is not None else f"{type(exc).__name__}: {exc}"
    finally:
        conn.execute(f"PRAGMA busy_timeout = {previous}")
    return None
