"""The one way litmon writes: :func:`write_transaction`, used by every writer."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["write_transaction"]

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
