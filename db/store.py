"""Writing records into works: exact-identifier and fuzzy dedup, one transaction per batch.

A work's fields are derived from all its sightings (PubMed's metadata first), so adding,
moving or removing a sighting is enough to merge, enrich or split works.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
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

    work_id = _find_by_identifier(conn, record)
    if work_id is not None:
        _insert_sighting(conn, work_id, record, payload, digest, stamp)
        refresh_work(conn, work_id)
        counts.updated += 1
        return
    found = _find_fuzzy(conn, record)
    work_id = _insert_work(conn, record, stamp)
    _insert_sighting(conn, work_id, record, payload, digest, stamp)
    if found.same is not None:
        kept_id, verdict = found.same
        merge_into(conn, kept_id, work_id, f"automatic: {verdict.reason}")
        counts.updated += 1
        return
    for other_id, verdict in found.possible:
        conn.execute(
            "INSERT OR IGNORE INTO possible_duplicates"
            " (work_id, other_id, score, reason, created_at) VALUES (?, ?, ?, ?, ?)",
            (*ordered_pair(work_id, other_id), verdict.score, verdict.reason, stamp),
        )
    for other_id, relation in found.related:
        pair = (work_id, other_id) if record.is_preprint else (other_id, work_id)
        conn.execute(
            "INSERT OR IGNORE INTO work_relations (work_id, other_id, relation, created_at)"
            " VALUES (?, ?, ?, ?)",
            (*pair, relation, stamp),
        )
    counts.new += 1


def ordered_pair(work_id: int, other_id: int) -> tuple[int, int]:
    """How a pair of works is keyed in possible_duplicates: smaller id first."""
    return (work_id, other_id) if work_id < other_id else (other_id, work_id)


def _insert_sighting(
    conn: sqlite3.Connection, work_id: int, record: Record, payload: str, digest: str, stamp: str
) -> None:
    conn.execute(
        "INSERT INTO sightings (work_id, source, source_id, record, content_hash, first_seen,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (work_id, record.source, record.source_id, payload, digest, stamp, stamp),
    )


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


def _find_by_identifier(conn: sqlite3.Connection, record: Record) -> int | None:
    """The stored work with this record's PMID, DOI or PMCID, unless another identifier
    disagrees or one of the two is a preprint."""
    for column, value in (("pmid", record.pmid), ("doi", record.doi), ("pmcid", record.pmcid)):
        if value is None:
            continue
        query = f"SELECT id FROM works WHERE {column} = ?"
        for (work_id,) in conn.execute(query, (value,)).fetchall():
            stored = load_work_record(conn, work_id)
            if _identifiers_agree(record, stored) and record.is_preprint == stored.is_preprint:
                return _live(conn, work_id)
    return None


def _identifiers_agree(record: Record, stored: Record) -> bool:
    """Two records with different PMIDs or different DOIs are never the same work."""
    for name in ("pmid", "doi", "pmcid"):
        mine, theirs = getattr(record, name), getattr(stored, name)
        if mine and theirs and mine != theirs:
            return False
    return True


@dataclass(slots=True)
class _Found:
    same: tuple[int, dedup.Verdict] | None = None
    possible: list[tuple[int, dedup.Verdict]] = field(default_factory=list)
    related: list[tuple[int, str]] = field(default_factory=list)


_CANDIDATE_FIELDS = (
    "title",
    "authors",
    "journal",
    "journal_abbrev",
    "volume",
    "pages",
    "pub_date",
    "publication_types",
)
_IS_PREPRINT = "(publication_types LIKE '%\"Preprint\"%')"
# A work whose identifier differs from the record's cannot be it, unless one of the two is a
# preprint (its own DOI) and the other its journal version: filtered in SQL so that blocks
# full of PubMed works cost nothing for a new PubMed record.
_CANDIDATES = f"""
SELECT id, {", ".join(_CANDIDATE_FIELDS)} FROM works
WHERE id IN (SELECT work_id FROM work_blocks WHERE key IN ({{keys}}))
  AND merged_into IS NULL
  AND (:pmid IS NULL OR pmid IS NULL OR pmid = :pmid OR {_IS_PREPRINT} != :preprint)
  AND (:doi IS NULL OR doi IS NULL OR doi = :doi OR {_IS_PREPRINT} != :preprint)
"""


def _find_fuzzy(conn: sqlite3.Connection, record: Record) -> _Found:
    """Works sharing a block key with the record, judged: the best sure match, or the
    possible duplicates and related works."""
    found = _Found()
    keys = dedup.block_keys(record)
    if not keys:
        return found
    params = {f"k{i}": key for i, key in enumerate(keys)}
    query = _CANDIDATES.format(keys=",".join(f":{name}" for name in params))
    params.update(pmid=record.pmid, doi=record.doi, preprint=record.is_preprint)
    mine = dedup.profile(record)
    for work_id, *values in conn.execute(query, params).fetchall():
        candidate = dict(zip(_CANDIDATE_FIELDS, values, strict=True))
        candidate["authors"] = json.loads(candidate["authors"])
        candidate["publication_types"] = json.loads(candidate["publication_types"])
        verdict = dedup.compare(mine, dedup.profile(Record(source="", source_id="", **candidate)))
        if verdict.same and (found.same is None or verdict.score > found.same[1].score):
            found.same = (work_id, verdict)
        elif verdict.possible:
            found.possible.append((work_id, verdict))
        elif verdict.relation is not None:
            found.related.append((work_id, verdict.relation))
    return found


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
    conn.execute("DELETE FROM work_blocks WHERE work_id = ?", (work_id,))
    _write_blocks(conn, work_id, folded)


def merge_into(conn: sqlite3.Connection, kept_id: int, merged_id: int, reason: str) -> int:
    """Move every sighting of ``merged_id`` to ``kept_id`` and record it; returns the merge id.

    The merged work keeps its row (``merged_into`` set) but gives up its identifiers and
    blocking keys, so lookups find only the kept work.
    """
    moved = [
        row[0] for row in conn.execute("SELECT id FROM sightings WHERE work_id = ?", (merged_id,))
    ]
    stamp = now()
    conn.execute("UPDATE sightings SET work_id = ? WHERE work_id = ?", (kept_id, merged_id))
    conn.execute(
        "UPDATE works SET merged_into = ?, pmid = NULL, doi = NULL, pmcid = NULL,"
        " title_key = NULL, updated_at = ? WHERE id = ?",
        (kept_id, stamp, merged_id),
    )
    conn.execute("DELETE FROM work_blocks WHERE work_id = ?", (merged_id,))
    cursor = conn.execute(
        "INSERT INTO merges (kept_id, merged_id, sighting_ids, reason, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (kept_id, merged_id, json.dumps(moved), reason, stamp),
    )
    refresh_work(conn, kept_id)
    return cursor.lastrowid
