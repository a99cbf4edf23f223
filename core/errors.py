"""The one table of errors: every kind of failure litmon expects, each with its exit code
(the command line, the crawl jobs) and its HTTP status (the web app and the API).

A :class:`LitmonError` is an expected failure whose message is one line saying why; the
command line prints it and exits with its :attr:`~LitmonError.exit_code`, the web answers
its :attr:`~LitmonError.http_status`. Any other exception is a bug and keeps its traceback.
Errors raised by libraries (SQLite's "database is locked", a full disk) are turned into
these where they are met (:func:`litmon.db.storage.as_error`), so the shells map only
this table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from litmon.core.redact import redact_text

__all__ = [
    "CONFLICT",
    "FAILED",
    "LOCKED",
    "NOTHING_TO_DO",
    "OK",
    "USAGE",
    "Conflict",
    "DatabaseBusy",
    "Interrupted",
    "LitmonError",
    "Locked",
    "NoDatabase",
    "NotFound",
    "SourceError",
    "StopCheck",
    "StorageError",
    "UsageError",
    "exit_code",
    "stop_if_asked",
    "worst",
]

# Exit codes, the same for every command (docs/commands.md, "Exit codes"), for cron and monitoring.
OK = 0
FAILED = 1  # a run failed or partly failed; what was committed stays, a rerun finishes
USAGE = 2  # bad arguments or configuration: one line names the file, key or value
NOTHING_TO_DO = 3  # e.g. nothing to claim
CONFLICT = 4  # a stale lease token, a decision on a candidate that changed meanwhile
LOCKED = 75  # EX_TEMPFAIL: a lock is held, or a crawl was stopped by SIGTERM; try again later


class LitmonError(Exception):
    """An expected failure; the message says why in one line. Secrets in it (a URL's
    user-info, a token in its query) are hidden as it is built, so no screen, log line or
    database row that shows it can show them."""

    exit_code: ClassVar[int] = FAILED
    http_status: ClassVar[int] = 500
    # what the command line puts before the message ("conflict: ...")
    kind: ClassVar[str] = ""
    # seconds a client should wait before trying again (HTTP Retry-After); None: never
    retry_after: ClassVar[int | None] = None

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(redact_text(str(message)), *args)

    def line(self) -> str:
        """The one line the command line prints after ``litmon: ``."""
        return f"{self.kind}: {self}" if self.kind else str(self)


class SourceError(LitmonError):
    """A source gave no usable answer (a broken file, a failing server): the run it
    happened in ends failed with the message as its one-line reason."""

    http_status = 502


class UsageError(LitmonError):
    """A request that cannot be carried out as asked (an unknown feed name, a date in the
    future); the message says what to change."""

    exit_code = USAGE
    http_status = 400


class NotFound(UsageError):
    """A request naming something that does not exist (an unknown candidate id)."""

    http_status = 404


class NoDatabase(UsageError):
    """A command that only reads or changes data was pointed at a database file that is
    not there: a mistyped ``--db`` or ``LITMON_DB``, or nothing has run yet."""

    http_status = 503


class Conflict(LitmonError):
    """A normal race, not a mistake: a stale lease token, or a decision on a candidate that
    changed since the editor saw it. Nothing was changed; the message gives the current
    state."""

    exit_code = CONFLICT
    http_status = 409
    kind = "conflict"


class Locked(LitmonError):
    """Another process holds a lock this one needs (a job's lock file); the message names
    the holder. Nothing was done: try again later."""

    exit_code = LOCKED
    http_status = 503
    retry_after = 30


class DatabaseBusy(Locked):
    """Another connection held the database's write lock for longer than the busy timeout
    (a long crawl batch, a stuck process). Nothing was written."""

    retry_after = 5


class StorageError(LitmonError):
    """The database file cannot be written or read: a full disk, a read-only file, an I/O
    error. The message is one line naming the file; someone must free space or fix
    rights."""

    http_status = 503
    retry_after = 60


def exit_code(exc: BaseException) -> int | None:
    """The exit code the table gives ``exc``; None for an exception that is a bug."""
    if isinstance(exc, LitmonError | Interrupted):
        return exc.exit_code
    return None


def worst(*codes: int) -> int:
    """One code for a command that ran several jobs: the most serious of theirs."""
    rank = {OK: 0, NOTHING_TO_DO: 1, FAILED: 2, CONFLICT: 3, LOCKED: 4, USAGE: 5}
    return max(codes, key=lambda code: rank.get(code, 6), default=OK)


class Interrupted(BaseException):
    """The process was asked to stop (SIGTERM / SIGINT to ``litmon schedule``).

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` swallows it:
    the stage raises it between batches, the run it was in is closed as interrupted, and
    the job ends without starting another batch. Nothing half-written: each batch is one
    transaction, and checkpoints move only after a whole window is committed.
    """

    exit_code: ClassVar[int] = LOCKED  # nothing lost; the next run redoes the rest


StopCheck = Callable[[], bool]


def stop_if_asked(should_stop: StopCheck | None) -> None:
    """Raise :class:`Interrupted` when ``should_stop`` says so; the stages call it between
    batches."""
    if should_stop is not None and should_stop():
        raise Interrupted("asked to stop")
