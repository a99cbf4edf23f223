"""Crawl bookkeeping: one ``crawl_runs`` row per run, and per-topic checkpoints."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date

import sqlite_utils

from litmon.core.clock import now
from litmon.db.store import SaveResult

COUNTERS = (
    "requests",
    "fetched",
    "new",
    "updated",
    "unchanged",
    "deleted",
    "refused",
    "errors",
)
# A run is 'running' until it ends ok, partial (some of it committed) or failed; one whose
# process died is closed 'abandoned' by the next run that starts.
STATUSES = ("running", "ok", "partial", "failed", "abandoned")


@dataclass(slots=True)
class RunCounts:
    requests: int = 0
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    refused: int = 0  # records the store would not write over another paper's sighting
    errors: int = 0

    def add_saved(self, fetched: int, saved: SaveResult) -> None:
        """Count a stored batch: how many records it had and what the store made of them."""
        self.fetched += fetched
        self.new += saved.new
        self.updated += saved.updated
        self.unchanged += saved.unchanged
        self.refused += len(saved.refused)


@dataclass(frozen=True, slots=True)
class RunOwner:
    """The process running a run, and the lock it holds while it lives."""

    pid: int
    host: str
    lock_path: str


def start_run(
    db: sqlite_utils.Database,
    source: str,
    topic: str | None = None,
    window: tuple[date, date] | None = None,
    owner: RunOwner | None = None,
) -> int:
    """Record a run as started (committed at once, so a crash leaves a trace)."""
    start, end = (window[0].isoformat(), window[1].isoformat()) if window else (None, None)
    pid, host, lock_path = (owner.pid, owner.host, owner.lock_path) if owner else (None,) * 3
    with db.conn:
        cursor = db.conn.execute(
            "INSERT INTO crawl_runs (source, topic, window_start, window_end, started_at,"
            " pid, host, lock_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (source, topic, start, end, now(), pid, host, lock_path),
        )
    return cursor.lastrowid


def update_run(db: sqlite_utils.Database, run_id: int, counts: RunCounts) -> None:
    with db.conn:
        db.conn.execute(
            f"UPDATE crawl_runs SET {', '.join(f'{c} = ?' for c in COUNTERS)} WHERE id = ?",
            [*(getattr(counts, c) for c in COUNTERS), run_id],
        )


def finish_run(
    db: sqlite_utils.Database,
    run_id: int,
    counts: RunCounts,
    status: str,
    error: str | None = None,
    warnings: list[str] | None = None,
) -> None:
    """Close a run as ok, partial or failed, with its final counts, error text and the
    warnings it noted (kept as a JSON list)."""
    noted = json.dumps(warnings, ensure_ascii=False) if warnings else None
    values = [*(getattr(counts, c) for c in COUNTERS), status, error, noted, now(), run_id]
    with db.conn:
        db.conn.execute(
            f"UPDATE crawl_runs SET {', '.join(f'{c} = ?' for c in COUNTERS)},"
            " status = ?, error = ?, warnings = ?, finished_at = ? WHERE id = ?",
            values,
        )


def running_runs(db: sqlite_utils.Database) -> list[dict]:
    """Runs still marked 'running', with their owners."""
    return list(
        db.query("SELECT id, pid, host, lock_path FROM crawl_runs WHERE status = 'running'")
    )


def abandon_run(conn: sqlite3.Connection, run_id: int, reason: str) -> None:
    """Close a run whose process ended before finishing it."""
    with conn:
        conn.execute(
            "UPDATE crawl_runs SET status = 'abandoned', finished_at = ?, error = ?"
            " WHERE id = ? AND status = 'running'",
            (now(), reason, run_id),
        )


def database_file(db: sqlite_utils.Database) -> str:
    """The database's file path ('' for an in-memory database)."""
    rows = db.execute("PRAGMA database_list").fetchall()
    return next((row[2] for row in rows if row[1] == "main"), "")


def recent_runs(db: sqlite_utils.Database, limit: int = 20) -> list[dict]:
    """The last runs, newest first; ``warnings`` as a list."""
    rows = list(db.query("SELECT * FROM crawl_runs ORDER BY id DESC LIMIT ?", [limit]))
    for row in rows:
        row["warnings"] = json.loads(row["warnings"]) if row["warnings"] else []
    return rows


def get_checkpoint(db: sqlite_utils.Database, source: str, topic: str, kind: str) -> date | None:
    row = db.execute(
        "SELECT watermark FROM checkpoints WHERE source = ? AND topic = ? AND kind = ?",
        (source, topic, kind),
    ).fetchone()
    return date.fromisoformat(row[0]) if row else None


def set_checkpoint(
    db: sqlite_utils.Database, source: str, topic: str, kind: str, watermark: date
) -> None:
    """Move a checkpoint forward to ``watermark``; it never moves back."""
    with db.conn:
        db.conn.execute(
            "INSERT INTO checkpoints (source, topic, kind, watermark, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (source, topic, kind)"
            " DO UPDATE SET watermark = max(watermark, excluded.watermark),"
            " updated_at = excluded.updated_at",
            (source, topic, kind, watermark.isoformat(), now()),
        )
