"""``work_scores``: each live work's relevance to each topic, with its explanation; and the
reads scoring needs (the works behind a batch of events, every live work in id order)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence

import orjson
import sqlite_utils

_LIVE = "merged_into IS NULL AND deleted_at IS NULL"
_TEXT_COLUMNS = "id, title, abstract, keywords, mesh, publication_types, journal"

# (id, title, abstract, keywords, mesh, publication_types, journal), the lists decoded
WorkRow = tuple[int, str, str, list[str], list[str], list[str], str]
# (work_id, topic, score, explanation as JSON-able list, profile hash, scored_at)
ScoreRow = tuple[int, str, float, list, str, str]


def _decode(row: tuple) -> WorkRow:
    work_id, title, abstract, keywords, mesh, types, journal = row
    loads = orjson.loads
    return (
        work_id, title or "", abstract or "", loads(keywords), loads(mesh), loads(types),
        journal or "",
    )  # fmt: skip


def live_works(conn: sqlite3.Connection, work_ids: Sequence[int]) -> list[WorkRow]:
    """The live ones (neither merged away nor deleted) of ``work_ids``, in id order."""
    rows: list[WorkRow] = []
    for start in range(0, len(work_ids), 500):
        chunk = list(work_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        query = f"SELECT {_TEXT_COLUMNS} FROM works WHERE id IN ({marks}) AND {_LIVE}"
        rows += map(_decode, conn.execute(query, chunk))
    return sorted(rows)


def iter_live_works(db: sqlite_utils.Database, batch: int = 1000) -> Iterator[list[WorkRow]]:
    """Every live work, ``batch`` at a time in id order (keyset paging: memory stays flat)."""
    after = 0
    while True:
        rows = db.execute(
            f"SELECT {_TEXT_COLUMNS} FROM works WHERE id > ? AND {_LIVE} ORDER BY id LIMIT ?",
            (after, batch),
        ).fetchall()
        if not rows:
            return
        after = rows[-1][0]
        yield [_decode(row) for row in rows]


def replace_scores(conn: sqlite3.Connection, work_ids: Iterable[int], rows: list[ScoreRow]) -> None:
    """Make ``rows`` the only scores of ``work_ids`` (a topic that no longer scores goes)."""
    drop_scores(conn, work_ids)
    conn.executemany(
        "INSERT INTO work_scores (work_id, topic, score, explanation, profile, scored_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [(w, t, s, orjson.dumps(e).decode(), p, at) for w, t, s, e, p, at in rows],
    )


def drop_scores(conn: sqlite3.Connection, work_ids: Iterable[int]) -> int:
    """Delete the scores of ``work_ids``; returns how many of them had any."""
    ids = orjson.dumps(list(work_ids)).decode()
    deleted = conn.execute(
        "DELETE FROM work_scores WHERE work_id IN (SELECT value FROM json_each(?))"
        " RETURNING work_id",
        (ids,),
    ).fetchall()
    return len(set(deleted))


def drop_stale(conn: sqlite3.Connection, topics: Sequence[str]) -> int:
    """Drop scores of topics no longer profiled, and of works no longer live."""
    marks = ",".join("?" * len(topics))
    before = conn.total_changes
    conn.execute(f"DELETE FROM work_scores WHERE topic NOT IN ({marks})", list(topics))
    conn.execute(
        f"DELETE FROM work_scores WHERE work_id IN (SELECT id FROM works WHERE NOT ({_LIVE}))"
    )
    return conn.total_changes - before


def outdated_scores(conn: sqlite3.Connection, hashes: dict[str, str]) -> dict[str, int]:
    """Per topic (of ``hashes``: topic -> its profile's hash now), how many stored scores
    were made with another profile or other scoring rules; topics with none are left out."""
    found = {}
    for topic, profile in hashes.items():
        (count,) = conn.execute(
            "SELECT count(*) FROM work_scores WHERE topic = ? AND profile != ?", (topic, profile)
        ).fetchone()
        if count:
            found[topic] = count
    return found


def queue_eligible(
    conn: sqlite3.Connection, work_ids: Sequence[int], thresholds: dict[str, float]
) -> set[int]:
    """Those of ``work_ids`` that are candidates or scored at a topic's threshold."""
    ids = orjson.dumps(list(work_ids)).decode()
    limits = orjson.dumps(thresholds).decode()
    rows = conn.execute(
        "SELECT work_id FROM candidates WHERE merged_into IS NULL"
        " AND work_id IN (SELECT value FROM json_each(:ids))"
        " UNION SELECT s.work_id FROM work_scores s"
        " WHERE s.work_id IN (SELECT value FROM json_each(:ids))"
        " AND s.score >= json_extract(:limits, '$.\"' || s.topic || '\"')",
        {"ids": ids, "limits": limits},
    ).fetchall()
    return {row[0] for row in rows}
