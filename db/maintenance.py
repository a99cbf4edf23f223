"""Keeping the database file sound: integrity check, VACUUM, and online backups."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import sqlite_utils

from litmon.db.runs import database_file


def quick_check(conn: sqlite3.Connection) -> list[str]:
    """``PRAGMA quick_check``: the problems SQLite finds (empty when the file is sound). A
    file damaged where the check itself stops ("database disk image is malformed") is one."""
    try:
        rows = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    return [] if rows == ["ok"] else [" ".join(row.split()) for row in rows]


def vacuum(db: sqlite_utils.Database) -> tuple[int, int]:
    """Rebuild the file without its free pages, then fold the write-ahead log back in and
    truncate it (VACUUM writes the whole database through it). Returns the size in bytes
    before and after, file and log together."""
    before = database_size(db)
    db.conn.execute("VACUUM")
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return before, database_size(db)


def backup(db: sqlite_utils.Database, target: Path) -> list[str]:
    """Copy the database to ``target`` with SQLite's online backup API, in one step, so the
    copy is one consistent snapshot while other processes go on writing (WAL lets them);
    then ``quick_check`` the copy. Returns the check's problems (empty: the copy is sound).

    The copy is written beside ``target`` and renamed onto it only when sound, so a failed
    backup never replaces a good one."""
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    copy = sqlite3.connect(partial)
    try:
        db.conn.backup(copy)
        problems = quick_check(copy)
    finally:
        copy.close()
    if problems:
        partial.unlink()
        return problems
    os.replace(partial, target)
    return []


def database_size(db: sqlite_utils.Database) -> int:
    """Bytes on disk: the file and its write-ahead log."""
    path = database_file(db)
    return sum(os.path.getsize(p) for p in (path, f"{path}-wal") if os.path.exists(p))
