"""Crawl bookkeeping: one ``crawl_runs`` row per run, and per-topic checkpoints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlite_utils

from db.store import SaveCounts, now

COUNTERS = ("requests", "fetched", "new", "updated", "unchanged", "errors")


@dataclass(slots=True)
class RunCounts:
    requests: int = 0
    fetched: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0

    def add_saved(self, fetched: int, saved: SaveCounts) -> None:
        """Count a stored batch: how many records it had and what the store made of them."""
        self.fetched += fetched
        self.new += saved.new
        self.updated += saved.updated
        self.unchanged += saved.unchanged


def start_run(
    db: sqlite_utils.Database,
    source: str,
    topic: str | None = None,
    window: tuple[date, date] | None = None,
) -> int:
    """Record a run as started (committed at once, so a crash leaves a trace)."""
    start, end = (window[0].isoformat(), window[1].isoformat()) if window else (None, None)
    with db.conn:
        cursor = db.conn.execute(
            "INSERT INTO crawl_runs (source, topic, window_start, window_end, started_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (source, topic, start, end, now()),
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
) -> None:
    """Close a run as ok, partial or failed, with its final counts and error text."""
    update_run(db, run_id, counts)
    with db.conn:
        db.conn.execute(
            "UPDATE crawl_runs SET status = ?, error = ?, finished_at = ? WHERE id = ?",
            (status, error, now(), run_id),
        )


def close_interrupted_runs(db: sqlite_utils.Database, source_prefix: str) -> int:
    """Mark runs left 'running' by a process that died as failed; returns how many."""
    with db.conn:
        cursor = db.conn.execute(
            "UPDATE crawl_runs SET status = 'failed', finished_at = ?,"
            " error = 'interrupted: the crawling process ended before finishing'"
            " WHERE status = 'running' AND source LIKE ?",
            (now(), source_prefix + "%"),
        )
    return cursor.rowcount


def recent_runs(db: sqlite_utils.Database, limit: int = 20) -> list[dict]:
    """The last runs, newest first."""
    return list(db.query("SELECT * FROM crawl_runs ORDER BY id DESC LIMIT ?", [limit]))


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
