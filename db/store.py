"""Writing records into works: exact-identifier and fuzzy dedup, one transaction per batch.

A work's fields are derived from all its sightings (PubMed's metadata first), so adding,
moving or removing a sighting is enough to merge, enrich or split works.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime

import sqlite_utils

from db import dedup
from db.records import Link, Record

_LIST_FIELDS = ("authors", "publication_types", "mesh", "keywords", "links")
_WORK_FIELDS = tuple(f.name for f in fields(Record) if f.name not in ("source", "source_id"))


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class SaveCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: SaveCounts) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged


def record_from_dict(data: dict) -> Record:
    data = dict(data)
    data["links"] = [Link(**link) for link in data.get("links") or []]
    return Record(**data)


def source_priority(source: str) -> int:
    """Whose metadata wins when sightings disagree: PubMed, then journal feeds, then imports."""
    if source == "pubmed":
        return 0
    if source.startswith("feed:"):
        return 1
    return 2


def save_records(db: sqlite_utils.Database, records: Iterable[Record]) -> SaveCounts:
    """Store records in one transaction; a failure rolls the whole batch back."""
    counts = SaveCounts()
    conn = db.conn
    with conn:
        for record in records:
            _save_one(conn, record, counts)
    return counts


def _save_one(conn: sqlite3.Connection, record: Record, counts: SaveCounts) -> None:
    payload = json.dumps(record.to_dict(), ensure_ascii=False, separators=(",", ":"))
    digest = hashlib.blake2b(payload.encode(), digest_size=16).hexdigest()
    seen = conn.execute(
        "SELECT id, work_id, content_hash, record FROM sightings"
        " WHERE source = ? AND source_id = ?",
        (record.source, record.source_id),
    ).fetchone()
    stamp = now()
    if seen is not None:
        sighting_id, work_id, old_digest, old_payload = seen
        if old_digest == digest or _is_older(record, old_payload):
            counts.unchanged += 1
            return
        conn.execute(
            "UPDATE sightings SET record = ?, content_hash = ?, updated_at = ? WHERE id = ?",
            (payload, digest, stamp, sighting_id),
        )
        refresh_work(conn, work_id)
        counts.updated += 1
        return

    work_id, possible = _find_work(conn, record)
    matched = work_id is not None
    if work_id is None:
        work_id = _insert_work(conn, record, stamp)
        for other_id, verdict in possible:
            conn.execute(
                "INSERT OR IGNORE INTO possible_duplicates"
                " (work_id, other_id, score, reason, created_at) VALUES (?, ?, ?, ?, ?)",
                (work_id, other_id, verdict.score, verdict.reason, stamp),
            )
        counts.new += 1
    else:
        counts.updated += 1
    conn.execute(
        "INSERT INTO sightings (work_id, source, source_id, record, content_hash, first_seen,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (work_id, record.source, record.source_id, payload, digest, stamp, stamp),
    )
    if matched:
        refresh_work(conn, work_id)


def _is_older(record: Record, old_payload: str) -> bool:
    """A record whose revision date is before the stored one's is stale: keep what we have."""
    old_revised = json.loads(old_payload).get("revised")
    return bool(record.revised and old_revised and record.revised < old_revised)


def _live(conn: sqlite3.Connection, work_id: int) -> int:
    while True:
        row = conn.execute("SELECT merged_into FROM works WHERE id = ?", (work_id,)).fetchone()
        if row is None or row[0] is None:
            return work_id
        work_id = row[0]


def _find_work(
    conn: sqlite3.Connection, record: Record
) -> tuple[int | None, list[tuple[int, dedup.Verdict]]]:
    """The stored work this record is, or None with the works it might be."""
    for column, value in (("pmid", record.pmid), ("doi", record.doi), ("pmcid", record.pmcid)):
        if value is None:
            continue
        query = f"SELECT id FROM works WHERE {column} = ?"
        for (work_id,) in conn.execute(query, (value,)).fetchall():
            stored = load_work_record(conn, work_id)
            if _identifiers_agree(record, stored) and not _preprint_pair(record, stored):
                return _live(conn, work_id), []
    key = dedup.title_key(record)
    if key is not None:
        query = "SELECT id FROM works WHERE title_key = ?"
        for (work_id,) in conn.execute(query, (key,)).fetchall():
            stored = load_work_record(conn, work_id)
            if _identifiers_agree(record, stored) and not _preprint_pair(record, stored):
                return _live(conn, work_id), []
    possible: list[tuple[int, dedup.Verdict]] = []
    for work_id in _block_candidates(conn, record):
        stored = load_work_record(conn, work_id)
        if not _identifiers_agree(record, stored):
            continue
        verdict = dedup.judge(record, stored)
        if verdict.same and not _preprint_pair(record, stored):
            return _live(conn, work_id), []
        if verdict.possible:
            possible.append((work_id, verdict))
    return None, possible


def _identifiers_agree(record: Record, stored: Record) -> bool:
    """Two records with different PMIDs or different DOIs are never the same work."""
    for name in ("pmid", "doi", "pmcid"):
        mine, theirs = getattr(record, name), getattr(stored, name)
        if mine and theirs and mine != theirs:
            return False
    return True


def _preprint_pair(record: Record, stored: Record) -> bool:
    """A preprint and its journal version are related works, not one work."""
    return record.is_preprint != stored.is_preprint


def _block_candidates(conn: sqlite3.Connection, record: Record) -> list[int]:
    keys = dedup.block_keys(record)
    if not keys:
        return []
    marks = ",".join("?" * len(keys))
    rows = conn.execute(
        f"SELECT DISTINCT b.work_id FROM work_blocks b JOIN works w ON w.id = b.work_id"
        f" WHERE b.key IN ({marks}) AND w.merged_into IS NULL",
        keys,
    )
    return [row[0] for row in rows]


def _work_columns(record: Record) -> dict:
    values = {name: getattr(record, name) for name in _WORK_FIELDS}
    for name in _LIST_FIELDS:
        values[name] = json.dumps(
            [v if isinstance(v, str) else asdict(v) for v in values[name]], ensure_ascii=False
        )
    values["title_key"] = dedup.title_key(record)
    return values


def _insert_work(conn: sqlite3.Connection, record: Record, stamp: str) -> int:
    values = _work_columns(record)
    values["created_at"] = values["updated_at"] = stamp
    columns = ",".join(values)
    marks = ",".join("?" * len(values))
    cursor = conn.execute(f"INSERT INTO works ({columns}) VALUES ({marks})", list(values.values()))
    work_id = cursor.lastrowid
    _write_blocks(conn, work_id, record)
    return work_id


def _write_blocks(conn: sqlite3.Connection, work_id: int, record: Record) -> None:
    conn.execute("DELETE FROM work_blocks WHERE work_id = ?", (work_id,))
    conn.executemany(
        "INSERT OR IGNORE INTO work_blocks (key, work_id) VALUES (?, ?)",
        [(key, work_id) for key in dedup.block_keys(record)],
    )


def sighting_records(conn: sqlite3.Connection, work_id: int) -> list[Record]:
    rows = conn.execute(
        "SELECT record FROM sightings WHERE work_id = ? ORDER BY first_seen, id", (work_id,)
    ).fetchall()
    records = [record_from_dict(json.loads(row[0])) for row in rows]
    return sorted(records, key=lambda r: source_priority(r.source))


def fold_records(records: list[Record]) -> Record:
    """One record from several sightings: each field from the best source that has it."""
    best = records[0]
    merged = {name: getattr(best, name) for name in _WORK_FIELDS}
    for other in records[1:]:
        for name in _WORK_FIELDS:
            if not merged[name]:
                merged[name] = getattr(other, name)
    return Record(source=best.source, source_id=best.source_id, **merged)


_SELECT_WORK = f"SELECT {', '.join(_WORK_FIELDS)} FROM works WHERE id = ?"


def load_work_record(conn: sqlite3.Connection, work_id: int) -> Record:
    """A stored work as one record (its row holds its sightings folded together)."""
    row = conn.execute(_SELECT_WORK, (work_id,)).fetchone()
    values = dict(zip(_WORK_FIELDS, row, strict=True))
    for name in _LIST_FIELDS:
        values[name] = json.loads(values[name])
    values["links"] = [Link(**link) for link in values["links"]]
    return Record(source="", source_id="", **values)


def refresh_work(conn: sqlite3.Connection, work_id: int) -> None:
    """Re-derive a work's fields from its sightings."""
    records = sighting_records(conn, work_id)
    if not records:
        return
    folded = fold_records(records)
    values = _work_columns(folded)
    values["updated_at"] = now()
    assignments = ",".join(f"{name} = ?" for name in values)
    conn.execute(f"UPDATE works SET {assignments} WHERE id = ?", [*values.values(), work_id])
    _write_blocks(conn, work_id, folded)
