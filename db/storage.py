"""Telling a storage failure (a full disk, a read-only file, an I/O error) from the other
errors SQLite raises, and wording it for the person who must free space or fix rights.

Busy and locked databases are not storage failures: they pass once the other writer is
done, and the busy timeout already waits for that.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

_READ_ONLY = "the database is read-only"
# SQLite's primary result codes (``sqlite_errorname`` without an extended suffix) -> words.
_FAILURES = {
    "SQLITE_FULL": "database or disk is full",
    "SQLITE_READONLY": _READ_ONLY,
    "SQLITE_IOERR": "disk I/O error on the database",
}


# The same failures met by writes beside the database (lock files, the log file).
_OS_FAILURES = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
}


class StorageError(Exception):
    """The database file cannot be written or read: a full disk, a read-only file, an I/O
    error. The message is one line naming the file."""


def storage_failure(exc: BaseException | None, path: str | Path | None) -> str | None:
    """One line naming the failure and the database file when ``exc`` (or the error it was
    raised from) is a storage failure; None for every other error. An ``OSError`` names the
    file it was about instead."""
    while exc is not None and not isinstance(exc, sqlite3.Error | OSError):
        exc = exc.__cause__
    if isinstance(exc, OSError):
        words = _OS_FAILURES.get(exc.errno or 0)
        if words is None:
            return None
        return f"{words}: {exc.filename}" if exc.filename else words
    if exc is None:
        return None
    primary = "_".join(getattr(exc, "sqlite_errorname", "").split("_")[:2])
    words = _FAILURES.get(primary)
    if primary == "SQLITE_CANTOPEN" and path and _read_only(Path(path)):
        # a WAL database on a read-only file system: its -shm file cannot be made
        words = _READ_ONLY
    if words is None:
        return None
    return f"{words}: {path}" if path else words


def _read_only(path: Path) -> bool:
    """The database file exists but it or its folder cannot be written (rights, or a
    read-only file system, which stops root too)."""
    return path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))
