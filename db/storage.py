"""Telling a storage failure (a full disk, a read-only file, an I/O error) and a database
locked past the busy timeout from the other errors SQLite raises, and wording them for the
person who must free space, fix rights or find the stuck writer (:func:`as_error`).
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from litmon.core.errors import DatabaseBusy, LitmonError, StorageError

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
    if primary == "SQLITE_CANTOPEN" and path and read_only_file(Path(path)):
        # a WAL database on a read-only file system: its -shm file cannot be made
        words = _READ_ONLY
    if words is None:
        return None
    return f"{words}: {path}" if path else words


def read_only_file(path: Path) -> bool:
    """The database file exists but it or its folder cannot be written (rights, or a
    read-only file system, which stops root too)."""
    return path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def as_error(exc: BaseException, path: str | Path | None) -> LitmonError | None:
    """``exc`` as an error of the table in :mod:`litmon.core.errors`: a database whose write
    lock another connection held past the busy timeout is :class:`DatabaseBusy`, a storage
    failure (also when it is the cause of another error) :class:`StorageError`, an error of
    the table itself; None for anything else, which is a bug. ``path`` names the database
    in the message (None: say "the database", for a web page)."""
    if isinstance(exc, LitmonError):
        return exc
    if _busy(exc):
        return DatabaseBusy(
            f"the database is locked: another process held its write lock too long"
            f"{f' ({path})' if path else ''}; nothing was written, try again"
        )
    failure = storage_failure(exc, path)
    return None if failure is None else StorageError(failure)


def _busy(exc: BaseException | None) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED, here or as the cause of ``exc``."""
    while exc is not None and not isinstance(exc, sqlite3.Error):
        exc = exc.__cause__
    name = getattr(exc, "sqlite_errorname", "")
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
