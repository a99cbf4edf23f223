"""One run's life in ``crawl_runs``: started, counted, finished ok / partial / failed, or
closed 'abandoned' by a later run when the process running it died.

Every job (a PubMed topic, a feed poll, a file ingest, the DOI lookup) runs inside
:func:`recorded_run`, so each is logged the same way and none is left 'running'.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import sqlite_utils

from litmon.core.clock import stamp
from litmon.core.errors import SourceError
from litmon.core.locks import file_lock, is_held
from litmon.core.redact import redact_text
from litmon.db import runs
from litmon.db.runs import RunCounts, RunOwner
from litmon.db.storage import as_error, storage_failure
from litmon.db.store import SaveResult

log = logging.getLogger(__name__)

# Notes kept with one run; a crawl retrying for an hour must not grow its row without end.
MAX_NOTES = 50


@dataclass(slots=True)
class Run:
    """A run under way: its counts, and how it ended once :func:`recorded_run` closes it."""

    id: int
    source: str
    topic: str | None = None
    window: tuple[date, date] | None = None
    counts: RunCounts = field(default_factory=RunCounts)
    status: str = "running"
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    # WARNING-and-above log records of the run's thread: retries, 429s, short answers
    notes: list[dict[str, str]] = field(default_factory=list)
    notes_dropped: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def saved(self, fetched: int, result: SaveResult) -> None:
        self.counts.add_saved(fetched, result)

    def fail(self, error: str) -> None:
        """End the run failed (or partial, if some of it was committed) with ``error``
        (secrets in it hidden: it is stored and shown)."""
        self.error = redact_text(error)
        self.counts.errors += 1

    def warn(self, warning: str) -> None:
        """A problem that did not stop the run; kept with it."""
        self.warnings.append(warning)

    def note(self, record: logging.LogRecord) -> None:
        if len(self.notes) >= MAX_NOTES:
            self.notes_dropped += 1
            return
        self.notes.append(
            {
                "at": stamp(datetime.fromtimestamp(record.created, UTC)),
                "level": record.levelname,
                "event": getattr(record, "event", None) or "log",
                "message": record.getMessage(),
            }
        )

    def kept_notes(self) -> list[dict[str, str]]:
        """The notes as stored: the first :data:`MAX_NOTES`, then how many more there were."""
        if not self.notes_dropped:
            return self.notes
        more = {"at": self.notes[-1]["at"], "level": "WARNING", "event": "notes_dropped"}
        return [*self.notes, {**more, "message": f"+{self.notes_dropped} more"}]


class RunNotes(logging.Handler):
    """Keeps the WARNING-and-above records of the ``litmon`` loggers with the run active in
    the thread that logged them (the innermost one, if runs nest). Attached to the
    ``litmon`` logger only while a run is active."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self._active: dict[int, list[Run]] = {}
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        stack = self._active.get(record.thread or 0)
        if stack:
            stack[-1].note(record)

    @contextmanager
    def collecting(self, run: Run) -> Iterator[None]:
        thread = threading.get_ident()
        with self._guard:
            if not self._active:
                logging.getLogger("litmon").addHandler(self)
            self._active.setdefault(thread, []).append(run)
        try:
            yield
        finally:
            with self._guard:
                self._active[thread].pop()
                if not self._active[thread]:
                    del self._active[thread]
                if not self._active:
                    logging.getLogger("litmon").removeHandler(self)


run_notes = RunNotes()


@contextmanager
def recorded_run(
    db: sqlite_utils.Database,
    source: str,
    topic: str | None = None,
    window: tuple[date, date] | None = None,
) -> Iterator[Run]:
    """Start a run, yield it, and close it whatever happens inside.

    A :class:`SourceError` or ``OSError`` inside ends the run failed with its message; any
    other exception is a bug: logged with its traceback, the run ends saying so, and the
    caller carries on (the next topic or feed still runs). What was committed stays.
    KeyboardInterrupt and SystemExit close the run and propagate. A storage failure (a full
    disk, a read-only or unreadable database) ends the run failed, then raises
    :class:`StorageError` with one line naming the file: nothing more could be stored.

    While the run lives, the warnings its thread logs are kept as its notes; it logs
    ``run_started`` and ``run_finished`` events with its id, source, topic and counts.
    """
    path = runs.database_file(db)
    lock_path = _locks_dir(db) / f"run-{uuid.uuid4().hex}.lock"
    try:
        with _before_the_run(path):
            close_abandoned_runs(db)
        # The lock is taken before the row exists, so no other process can see the run
        # 'running' with its lock free.
        with file_lock(lock_path, what="run"):
            owner = RunOwner(os.getpid(), socket.gethostname(), str(lock_path))
            with _before_the_run(path):
                run_id = runs.start_run(db, source, topic, window, owner)
            run = Run(run_id, source, topic, window)
            yield from _recording(db, run, path)
    finally:
        lock_path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # another run may be using the folder
            lock_path.parent.rmdir()


@contextmanager
def _before_the_run(path: str) -> Iterator[None]:
    """A storage failure before the run's row exists: said in one line, with no run."""
    try:
        yield
    except sqlite3.Error as exc:
        error = as_error(exc, path)
        if error is None:
            raise
        raise type(error)(f"{error} (no run could be recorded)") from exc


def _recording(db: sqlite_utils.Database, run: Run, path: str) -> Iterator[Run]:
    started = time.monotonic()
    log.info(
        "run %d started: %s", run.id, _label(run), extra={"event": "run_started", **_fields(run)}
    )
    try:
        with run_notes.collecting(run):
            yield run
    except (SourceError, OSError) as exc:
        run.fail(str(exc) or type(exc).__name__)
    except Exception as exc:
        error = as_error(exc, path)
        if error is None:
            log.exception("%s: stopped by an internal error", _label(run))
            run.fail(f"internal error: {type(exc).__name__}: {exc}")
        else:
            # the request was wrong, or nothing more can be stored (a full disk, a write
            # lock held past the busy timeout): the job stops here, the shell says so
            run.fail(str(error))
            if error is exc:
                raise
            raise error from exc
    except BaseException as exc:
        run.fail(f"interrupted ({type(exc).__name__})")
        raise
    finally:
        _finish(db, run, time.monotonic() - started)


def _finish(db: sqlite_utils.Database, run: Run, seconds: float) -> None:
    if run.error is None and run.counts.refused:
        # a refused record is a conflict a person must look at, not a note
        run.fail(
            f"{run.counts.refused} records refused: their source id is stored as another"
            " paper (see the warnings)"
        )
    if run.error is None:
        run.status = "ok"
    else:
        run.status = "partial" if run.counts.fetched else "failed"
    try:
        runs.finish_run(
            db, run.id, run.counts, run.status, run.error, run.warnings, run.kept_notes()
        )
    except sqlite3.Error as exc:
        # the disk that failed the run may refuse its record too: say so, once, and let the
        # caller report the run itself; the next run that starts closes it 'abandoned'
        failure = storage_failure(exc, runs.database_file(db)) or f"{type(exc).__name__}: {exc}"
        log.error(
            "run %d could not be recorded as %s: %s",
            run.id,
            run.status,
            failure,
            extra={"event": "run_not_recorded", "run_id": run.id, "error": failure},
        )
    level = logging.INFO if run.ok else logging.ERROR
    log.log(
        level,
        "run %d %s: %s%s",
        run.id,
        _label(run),
        run.status,
        f": {run.error}" if run.error else "",
        extra={
            "event": "run_finished",
            **_fields(run),
            "status": run.status,
            "seconds": round(seconds, 3),
            "counts": {name: getattr(run.counts, name) for name in runs.COUNTERS},
            "error": run.error,
        },
    )


def _label(run: Run) -> str:
    return f"{run.source}{f' {run.topic}' if run.topic else ''}"


def _fields(run: Run) -> dict[str, object]:
    window = f"{run.window[0]}..{run.window[1]}" if run.window else None
    return {"run_id": run.id, "source": run.source, "topic": run.topic, "window": window}


def close_abandoned_runs(db: sqlite_utils.Database) -> int:
    """Close runs left 'running' by processes that died: those of this host whose lock is
    free (a live run always holds its lock), and those from before runs had owners.
    Returns how many were closed."""
    host = socket.gethostname()
    closed = 0
    for row in runs.running_runs(db):
        if row["lock_path"] is None:
            reason = "abandoned: the process ended before finishing (run has no owner)"
        elif row["host"] == host and not is_held(Path(row["lock_path"])):
            reason = f"abandoned: process {row['pid']} on {host} ended before finishing"
            Path(row["lock_path"]).unlink(missing_ok=True)
        else:
            continue
        runs.abandon_run(db.conn, row["id"], reason)
        closed += 1
    return closed


def _locks_dir(db: sqlite_utils.Database) -> Path:
    """Where runs keep their locks: beside the database file."""
    path = runs.database_file(db)
    return (
        Path(f"{path}.runs") if path else Path(tempfile.gettempdir(), f"litmon-{os.getuid()}.runs")
    )
