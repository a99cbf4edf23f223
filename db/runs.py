"""Crawl bookkeeping: one ``crawl_runs`` row per run, and per-topic checkpoints."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date

import sqlite_utils

from litmon.core.clock import now, parse_stamp
from litmon.db.store import SaveResult
from litmon.db.transactions import write_transaction

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
    with write_transaction(db.conn):
        cursor = db.conn.execute(
            "INSERT INTO crawl_runs (source, topic, window_start, window_end, started_at,"
            " pid, host, lock_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (source, topic, start, end, now(), pid, host, lock_path),
        )
    return cursor.lastrowid


def update_run(db: sqlite_utils.Database, run_id: int, counts: RunCounts) -> None:
    with write_transaction(db.conn):
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
    notes: list[dict[str, str]] | None = None,
) -> None:
    """Close a run as ok, partial or failed, with its final counts, error text, the
    warnings it noted and the notes its log kept (each a JSON list)."""
    kept = [json.dumps(v, ensure_ascii=False) if v else None for v in (warnings, notes)]
    values = [*(getattr(counts, c) for c in COUNTERS), status, error, *kept, now(), run_id]
    with write_transaction(db.conn):
        db.conn.execute(
            f"UPDATE crawl_runs SET {', '.join(f'{c} = ?' for c in COUNTERS)},"
            " status = ?, error = ?, warnings = ?, notes = ?, finished_at = ? WHERE id = ?",
            values,
        )


def running_runs(db: sqlite_utils.Database) -> list[dict]:
    """Runs still marked 'running', with their owners."""
    return list(
        db.query("SELECT id, pid, host, lock_path FROM crawl_runs WHERE status = 'running'")
    )


def abandon_run(conn: sqlite3.Connection, run_id: int, reason: str) -> None:
    """Close a run whose process ended before finishing it."""
    with write_transaction(conn):
        conn.execute(
            "UPDATE crawl_runs SET status = 'abandoned', finished_at = ?, error = ?"
            " WHERE id = ? AND status = 'running'",
            (now(), reason, run_id),
        )


def database_file(db: sqlite_utils.Database) -> str:
    """The database's file path ('' for an in-memory database)."""
    rows = db.execute("PRAGMA database_list").fetchall()
    return next((row[2] for row in rows if row[1] == "main"), "")


# `litmon runs --failed`: the runs that did not end ok
UNSUCCESSFUL = ("failed", "partial", "abandoned")


def recent_runs(
    db: sqlite_utils.Database,
    limit: int | None = 20,
    *,
    source: str | None = None,
    failed: bool = False,
    since: date | None = None,
) -> list[dict]:
    """The last runs, newest first, with ``warnings`` and ``notes`` as lists and
    ``seconds`` (how long each took; None while running). ``source`` matches a source
    exactly or as the part before its ':' (``feed`` matches every ``feed:NAME``);
    ``since`` keeps runs started on or after that UTC date; ``limit`` None: every run."""
    where, params = [], []
    if source is not None:
        # a range on the (source, id) index rather than LIKE, whose '_' is a wildcard
        where.append("(source = ? OR (source >= ? AND source < ?))")
        params += [source, f"{source}:", f"{source};"]
    if failed:
        where.append(f"status IN ({', '.join('?' * len(UNSUCCESSFUL))})")
        params += UNSUCCESSFUL
    if since is not None:
        where.append("started_at >= ?")
        params.append(since.isoformat())
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    # SQLite reads a negative LIMIT as none
    rows = db.query(
        f"SELECT * FROM crawl_runs{clause} ORDER BY id DESC LIMIT ?",
        [*params, -1 if limit is None else limit],
    )
    return [_decoded(row) for row in rows]


def get_run(db: sqlite_utils.Database, run_id: int) -> dict | None:
    """One run's whole row (decoded as in :func:`recent_runs`), or None."""
    rows = list(db.query("SELECT * FROM crawl_runs WHERE id = ?", [run_id]))
    return _decoded(rows[0]) if rows else None


def _decoded(row: dict) -> dict:
    row["warnings"] = json.loads(row["warnings"]) if row["warnings"] else []
    row["notes"] = json.loads(row["notes"]) if row["notes"] else []
    row["seconds"] = (
        (parse_stamp(row["finished_at"]) - parse_stamp(row["started_at"])).total_seconds()
        if row["finished_at"]
        else None
    )
    return row


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
    with write_transaction(db.conn):
        db.conn.execute(
            "INSERT INTO checkpoints (source, topic, kind, watermark, updated_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (source, topic, kind)"
            " DO UPDATE SET watermark = max(watermark, excluded.watermark),"
            " updated_at = excluded.updated_at",
            (source, topic, kind, watermark.isoformat(), now()),
        )
