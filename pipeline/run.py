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
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import sqlite_utils

from litmon.core.errors import SourceError, UsageError
from litmon.core.locks import file_lock, is_held
from litmon.db import runs
from litmon.db.runs import RunCounts, RunOwner
from litmon.db.store import SaveResult

log = logging.getLogger(__name__)


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

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def saved(self, fetched: int, result: SaveResult) -> None:
        self.counts.add_saved(fetched, result)

    def fail(self, error: str) -> None:
        """End the run failed (or partial, if some of it was committed) with ``error``."""
        self.error = error
        self.counts.errors += 1

    def warn(self, warning: str) -> None:
        """A problem that did not stop the run; kept with it."""
        self.warnings.append(warning)


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
    KeyboardInterrupt and SystemExit close the run and propagate.
    """
    close_abandoned_runs(db)
    lock_path = _locks_dir(db) / f"run-{uuid.uuid4().hex}.lock"
    # The lock is taken before the row exists, so no other process can see the run
    # 'running' with its lock free.
    with file_lock(lock_path, what="run"):
        owner = RunOwner(os.getpid(), socket.gethostname(), str(lock_path))
        run = Run(runs.start_run(db, source, topic, window, owner), source, topic, window)
        try:
            yield run
        except UsageError as exc:  # the request was wrong, not the source: the shell says so
            run.fail(str(exc))
            raise
        except (SourceError, OSError) as exc:
            run.fail(str(exc) or type(exc).__name__)
        except Exception as exc:
            log.exception(
                "%s%s: stopped by an internal error", source, f" {topic}" if topic else ""
            )
            run.fail(f"internal error: {type(exc).__name__}: {exc}")
        except BaseException as exc:
            run.fail(f"interrupted ({type(exc).__name__})")
            raise
        finally:
            _finish(db, run)
    lock_path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # another run may be using the folder
        lock_path.parent.rmdir()


def _finish(db: sqlite_utils.Database, run: Run) -> None:
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
        log.error("%s%s: %s", run.source, f" {run.topic}" if run.topic else "", run.error)
    runs.finish_run(db, run.id, run.counts, run.status, run.error, run.warnings)


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
