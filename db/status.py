"""The figures ``litmon status`` and ``litmon check`` report, read from the database: each
source's runs, the database's size and counts, the queue's depth, its dead letters and the
withdrawn summaries still to be taken down. Read-only; what is healthy is the shell's call."""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

# A run that ended without doing its job: 'partial' committed some of it, 'abandoned' died.
_FAILED = ("failed", "partial", "abandoned")


@dataclass(frozen=True, slots=True)
class SourceRuns:
    """What the crawl log says about one source (a PubMed topic, a feed)."""

    source: str
    topic: str | None
    runs: int  # how many runs of it the log holds (0: it never ran, or they were pruned)
    first_started: str | None
    last_success: str | None  # when the last 'ok' run finished
    last_failure: str | None  # when the last failed, partial or abandoned run finished
    last_error: str | None
    consecutive_failures: int  # finished runs since the last ok one
    running_since: str | None  # a run of it is under way now


def source_runs(db: sqlite_utils.Database, source: str, topic: str | None) -> SourceRuns:
    """The crawl-log figures of ``source`` (and ``topic``; None for a source without)."""
    match = "source = ? AND topic IS ?"
    args = (source, topic)
    count, first = db.execute(
        f"SELECT count(*), min(started_at) FROM crawl_runs WHERE {match}", args
    ).fetchone()
    ok = db.execute(
        f"SELECT id, finished_at FROM crawl_runs WHERE {match} AND status = 'ok'"
        " ORDER BY id DESC LIMIT 1",
        args,
    ).fetchone()
    failed = db.execute(
        f"SELECT finished_at, error FROM crawl_runs WHERE {match}"
        f" AND status IN ({', '.join('?' * len(_FAILED))}) ORDER BY id DESC LIMIT 1",
        (*args, *_FAILED),
    ).fetchone()
    since_ok = db.execute(
        f"SELECT count(*) FROM crawl_runs WHERE {match} AND id > ? AND status != 'running'",
        (*args, ok[0] if ok else 0),
    ).fetchone()[0]
    running = db.execute(
        f"SELECT min(started_at) FROM crawl_runs WHERE {match} AND status = 'running'", args
    ).fetchone()[0]
    return SourceRuns(
        source=source,
        topic=topic,
        runs=count,
        first_started=first,
        last_success=ok[1] if ok else None,
        last_failure=failed[0] if failed else None,
        last_error=failed[1] if failed else None,
        consecutive_failures=since_ok,
        running_since=running,
    )


def first_run_started(db: sqlite_utils.Database) -> str | None:
    """When the oldest run in the log started: how long this database has been crawled."""
    return db.execute("SELECT min(started_at) FROM crawl_runs").fetchone()[0]


def feed_next_poll(db: sqlite_utils.Database, name: str) -> str | None:
    """When the feed's own schedule (its interval, backoff, the server's hints) lets it be
    polled next; None before its first poll."""
    row = db.execute("SELECT next_poll_at FROM feeds WHERE name = ?", (name,)).fetchone()
    return row[0] if row else None


def counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Works (every row, live ones: neither merged away nor deleted by NLM) and candidates
    (those not merged into another)."""
    works, live = db.execute(
        "SELECT count(*), count(*) FILTER (WHERE merged_into IS NULL AND deleted_at IS NULL)"
        " FROM works"
    ).fetchone()
    candidates = db.execute("SELECT count(*) FROM candidates WHERE merged_into IS NULL")
    return {"works": works, "live_works": live, "candidates": candidates.fetchone()[0]}


def queue_depth(db: sqlite_utils.Database) -> dict[str, int]:
    """Live candidates per state (only the states that have any)."""
    rows = db.execute(
        "SELECT state, count(*) FROM candidates WHERE merged_into IS NULL GROUP BY state"
    ).fetchall()
    return dict(rows)


def oldest_approved(db: sqlite_utils.Database) -> dict | None:
    """The approved candidate (or leased, not yet summarized) that has waited longest since
    an editor sent it to the summarizers (approve, retry, undo; a failed or expired lease
    does not restart the wait): id, work_id, pmid, since."""
    rows = list(
        db.query(
            "SELECT c.id, c.work_id, w.pmid, max(a.at) AS since FROM candidates c"
            " JOIN works w ON w.id = c.work_id"
            " JOIN candidate_audit a ON a.candidate_id = c.id AND a.to_state = 'approved'"
            "  AND a.action NOT IN ('fail', 'expire')"
            " WHERE c.merged_into IS NULL AND c.state IN ('approved', 'leased')"
            " GROUP BY c.id ORDER BY since, c.id LIMIT 1"
        )
    )
    return rows[0] if rows else None


def dead_letters(db: sqlite_utils.Database) -> list[dict]:
    """Candidates whose summarizing failed on every attempt and that no editor has retried
    or discarded yet: id, work_id, pmid, attempts."""
    return list(
        db.query(
            "SELECT c.id, c.work_id, w.pmid, c.attempts FROM candidates c"
            " JOIN works w ON w.id = c.work_id"
            " WHERE c.merged_into IS NULL AND c.state = 'dead' ORDER BY c.id"
        )
    )


def pending_takedowns(db: sqlite_utils.Database) -> list[dict]:
    """Withdrawn candidates that were published and whose takedown is not acknowledged
    (``queue ack-takedown``, or the ``publish`` that took the page down): id, work_id, pmid."""
    return list(
        db.query(
            "SELECT c.id, c.work_id, w.pmid FROM candidates c JOIN works w ON w.id = c.work_id"
            " WHERE c.state = 'withdrawn'"
            " AND EXISTS (SELECT 1 FROM publications p WHERE p.candidate_id = c.id)"
            " AND NOT EXISTS (SELECT 1 FROM candidate_audit a"
            "  WHERE a.candidate_id = c.id AND a.action = 'ack_takedown') ORDER BY c.id"
        )
    )
