"""The SQL of drafts and publications (``drafts``, ``publications``).

Plain reads and writes only: when a draft may be written or published is decided by
``litmon.review.drafts``, which calls these inside its own write transactions.
"""

from __future__ import annotations

import json
import sqlite3

from litmon.db.candidates import _RETRACTED, _one, _rows

PARTS = ("finding", "what_was_done", "why_it_matters", "limits")

_DRAFT = (
    "SELECT id, candidate_id, version, finding, what_was_done, why_it_matters, limits, text,"
    " checked, checks, by, origin, created_at FROM drafts"
)


def view(row: dict | None) -> dict | None:
    """A draft as shown: its parts (None for free text), whether the guards ran on it and
    what they said, and which of them failed."""
    if row is None:
        return None
    checks = json.loads(row["checks"])
    parts = {part: row[part] for part in PARTS} if row["checked"] else None
    return {
        "id": row["id"],
        "candidate_id": row["candidate_id"],
        "version": row["version"],
        "parts": parts,
        "text": row["text"],
        "checked": bool(row["checked"]),
        "checks": checks,
        "failed": [check["name"] for check in checks if not check["ok"]],
        "by": row["by"],
        "origin": row["origin"],
        "created_at": row["created_at"],
    }


def latest(conn: sqlite3.Connection, candidate_id: int) -> dict | None:
    return _one(
        conn.execute(_DRAFT + " WHERE candidate_id = ? ORDER BY version DESC LIMIT 1",
                     (candidate_id,))
    )  # fmt: skip


def of(conn: sqlite3.Connection, candidate_id: int) -> list[dict]:
    return _rows(conn.execute(_DRAFT + " WHERE candidate_id = ? ORDER BY version", (candidate_id,)))


def by_id(conn: sqlite3.Connection, draft_id: int) -> dict | None:
    return _one(conn.execute(_DRAFT + " WHERE id = ?", (draft_id,)))


def insert(
    conn: sqlite3.Connection,
    candidate_id: int,
    *,
    parts: dict[str, str] | None,
    text: str,
    checks: list[dict],
    by: str,
    origin: str,
    at: str,
) -> dict:
    """Store the next version of a candidate's draft; returns it."""
    (version,) = conn.execute(
        "SELECT coalesce(max(version), 0) + 1 FROM drafts WHERE candidate_id = ?",
        (candidate_id,),
    ).fetchone()
    values = parts or {}
    cursor = conn.execute(
        "INSERT INTO drafts (candidate_id, version, finding, what_was_done, why_it_matters,"
        " limits, text, checked, checks, by, origin, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (candidate_id, version, *(values.get(part) for part in PARTS), text,
         int(parts is not None), json.dumps(checks), by, origin, at),
    )  # fmt: skip
    return by_id(conn, int(cursor.lastrowid))  # type: ignore[return-value]


def publish(
    conn: sqlite3.Connection, candidate_id: int, draft_id: int, *, by: str, at: str
) -> None:
    """The candidate's published draft is now this one (a republish replaces the row)."""
    conn.execute(
        "INSERT INTO publications (candidate_id, draft_id, published_at, published_by)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (candidate_id) DO UPDATE SET"
        " draft_id = excluded.draft_id, published_at = excluded.published_at,"
        " published_by = excluded.published_by",
        (candidate_id, draft_id, at, by),
    )


def publication(conn: sqlite3.Connection, candidate_id: int) -> dict | None:
    return _one(
        conn.execute(
            "SELECT p.candidate_id, p.draft_id, d.version, p.published_at, p.published_by"
            " FROM publications p JOIN drafts d ON d.id = p.draft_id WHERE p.candidate_id = ?",
            (candidate_id,),
        )
    )


def pieces(conn: sqlite3.Connection) -> list[dict]:
    """Every candidate ever published with its published draft and its work, newest first."""
    return _rows(
        conn.execute(
            "SELECT p.candidate_id, c.work_id, c.state, c.topics, c.merged_into,"
            " d.version AS draft_version,"
            " d.finding, d.what_was_done, d.why_it_matters, d.limits,"
            " p.published_at, p.published_by, w.title, w.journal, w.pub_date, w.pmid, w.doi,"
            f" w.deleted_at, {_RETRACTED} AS retracted"
            " FROM publications p JOIN candidates c ON c.id = p.candidate_id"
            " JOIN drafts d ON d.id = p.draft_id JOIN works w ON w.id = c.work_id"
            " ORDER BY p.published_at DESC, p.candidate_id DESC"
        )
    )


def awaiting(conn: sqlite3.Connection, limit: int) -> list[dict]:
    """Summarized candidates (a draft awaiting review), longest waiting first."""
    return _rows(
        conn.execute(
            "SELECT c.id, c.score, c.version, w.title, w.pmid, w.doi, w.journal, w.pub_date,"
            " c.updated_at FROM candidates c JOIN works w ON w.id = c.work_id"
            " WHERE c.state = 'summarized' AND c.merged_into IS NULL"
            " ORDER BY c.updated_at, c.id LIMIT ?",
            (limit,),
        )
    )


def count_awaiting(conn: sqlite3.Connection) -> int:
    (count,) = conn.execute(
        "SELECT count(*) FROM candidates WHERE state = 'summarized' AND merged_into IS NULL"
    ).fetchone()
    return int(count)


def pending_send_back(conn: sqlite3.Connection, candidate_id: int) -> dict | None:
    """The editor's send-back of the candidate's latest draft (who, when, the note), unless
    a draft was handed in or edited after it."""
    return _one(
        conn.execute(
            "SELECT at, by, note FROM candidate_audit a WHERE candidate_id = ?"
            " AND action = 'send_back' AND NOT EXISTS (SELECT 1 FROM candidate_audit b"
            "  WHERE b.candidate_id = a.candidate_id AND b.id > a.id"
            "  AND b.action IN ('done', 'edit')) ORDER BY id DESC LIMIT 1",
            (candidate_id,),
        )
    )
