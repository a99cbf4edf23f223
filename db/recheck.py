"""Revisiting the store's earlier automatic merges under the current dedup rules.

The rules change (a recurring column's issues are now different papers); merges an earlier
version made on its own stay in the database until something looks at them again. Each
automatic fuzzy merge is judged again as the store would judge it now: the merged records
(the sightings the merge moved) against the rest of the kept work, with the title's
frequency measured from the works stored now. A merge the rules no longer make is undone
through its recorded merge (:func:`litmon.db.merge.undo_merge`), which marks the two works
distinct. An editor's merges are the editor's decision and are never revisited.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import sqlite_utils

from litmon.core.errors import UsageError
from litmon.core.records import Record
from litmon.db import dedup
from litmon.db.merge import undo_merge
from litmon.db.store import fold_records, fuzzy_candidates, record_from_dict, source_priority

# The reasons the store writes for a fuzzy-dedup merge ("automatic: title exact 1.00"); the
# other automatic merges follow a shared identifier and are not a judgement of the rules.
_FUZZY = "automatic: title %"


@dataclass(frozen=True, slots=True)
class Rechecked:
    """A merge the current rules do not make."""

    merge_id: int
    kept_id: int
    merged_id: int
    kept_title: str
    merged_title: str
    why: str  # the current rules' verdict
    undone: bool  # False for a dry run, or when the merge could not be undone
    note: str = ""  # why it could not be undone

    def to_dict(self) -> dict:
        return asdict(self)


def recheck_merges(db: sqlite_utils.Database, dry_run: bool = False) -> list[Rechecked]:
    """The automatic merges the current rules no longer make, newest first, each undone
    unless ``dry_run`` (newest first: a later merge may have moved an earlier one's works)."""
    conn = db.conn
    merges = conn.execute(
        "SELECT m.id, m.kept_id, m.merged_id, m.sighting_ids FROM merges m"
        " JOIN works w ON w.id = m.kept_id"
        " WHERE m.undone_at IS NULL AND m.reason LIKE ? AND w.merged_into IS NULL"
        " AND w.deleted_at IS NULL ORDER BY m.id DESC",
        (_FUZZY,),
    ).fetchall()
    found = []
    for merge_id, kept_id, merged_id, sighting_ids in merges:
        pair = _sides(db, kept_id, set(json.loads(sighting_ids)))
        if pair is None:
            continue
        merged, kept = pair
        verdict = _judge_now(db, merged, kept, kept_id)
        if verdict.same:
            continue
        note = ""
        if not dry_run:
            try:
                undo_merge(db, merge_id)
            except UsageError as exc:
                note = str(exc)
        found.append(
            Rechecked(
                merge_id,
                kept_id,
                merged_id,
                kept.title,
                merged.title,
                verdict.reason,
                undone=not dry_run and not note,
                note=note,
            )
        )
    return found


def _sides(db: sqlite_utils.Database, kept_id: int, moved: set[int]) -> tuple | None:
    """The merged records and the rest of the kept work, each folded into one record; None
    when the kept work holds only one side (its sightings moved on since)."""
    rows = db.conn.execute(
        "SELECT id, record FROM sightings WHERE work_id = ? ORDER BY first_seen, id", (kept_id,)
    ).fetchall()
    sides: tuple[list[Record], list[Record]] = ([], [])
    for sighting_id, payload in rows:
        sides[sighting_id not in moved].append(record_from_dict(json.loads(payload)))
    if not all(sides):
        return None
    merged, kept = (sorted(side, key=lambda r: source_priority(r.source)) for side in sides)
    return fold_records(merged), fold_records(kept)


def _judge_now(
    db: sqlite_utils.Database, merged: Record, kept: Record, kept_id: int
) -> dedup.Verdict:
    """The store's judgement of the merged record against the kept work today."""
    mine, theirs = dedup.profile(merged), dedup.profile(kept)
    others, full_title = fuzzy_candidates(db.conn, merged, dedup.blocking(merged), kept_id)
    stored = [theirs, *(profile for _, profile in others)]
    return dedup.compare(mine, theirs, dedup.is_frequent(mine, stored, full_title))
