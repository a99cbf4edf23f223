"""Writing records into works: exact-identifier and fuzzy dedup, one transaction per batch.

A work's fields are derived from all its sightings (PubMed's metadata first), so adding,
moving or removing a sighting is enough to merge, enrich or split works.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field, fields

import orjson
import sqlite_utils

from litmon.core.clock import now
from litmon.core.records import Deletion, Link, Record
from litmon.db import dedup
from litmon.db.blocks import (
    ALL_KINDS,
    IS_PREPRINT,
    KnownBlocks,
    block_kind,
    candidate_kinds,
    digest,
    lookup_keys,
    write_blocks,
)
from litmon.db.events import append_event
from litmon.db.merged import follow_merges
from litmon.db.transactions import write_transaction

_LIST_FIELDS = ("authors", "publication_types", "mesh", "keywords", "links")
_WORK_FIELDS = tuple(f.name for f in fields(Record) if f.name not in ("source", "source_id"))


@dataclass(frozen=True, slots=True)
class Saved:
    """What the store made of one record."""

    work_id: int  # the live work that holds the record now (refused: that holds its sighting)
    # "new", "updated", "unchanged", "merged" (its work merged into another), or "refused"
    # (its sighting is stored as another paper: nothing was written, see ``reason``)
    outcome: str
    merged_into: int | None = None  # for "merged": the work it was folded into (= work_id)
    reason: str | None = None  # for "refused": why, naming the stored work and the record


@dataclass(slots=True)
class SaveResult:
    """Each record's outcome, in the order given."""

    records: list[Saved] = field(default_factory=list)

    def _count(self, *outcomes: str) -> int:
        return sum(1 for saved in self.records if saved.outcome in outcomes)

    @property
    def new(self) -> int:
        return self._count("new")

    @property
    def updated(self) -> int:
        return self._count("updated", "merged")

    @property
    def unchanged(self) -> int:
        return self._count("unchanged")

    @property
    def refused(self) -> list[Saved]:
        """The records not stored because their sighting is another paper (see
        :func:`save_records`); the rest of the batch was stored."""
        return [saved for saved in self.records if saved.outcome == "refused"]


_RECORD_KEYS = frozenset(f.name for f in fields(Record))
_LINK_KEYS = frozenset(f.name for f in fields(Link))


def record_from_dict(data: dict) -> Record:
    """A record from a stored sighting payload, written by this or another version of
    :class:`Record`: keys it no longer has are dropped, keys it gained take their defaults."""
    values = {key: value for key, value in data.items() if key in _RECORD_KEYS}
    values["links"] = [
        Link(**{key: value for key, value in link.items() if key in _LINK_KEYS})
        for link in values.get("links") or []
    ]
    return Record(**values)


def source_priority(source: str) -> int:
    """Whose metadata wins when sightings disagree: PubMed, then journal feeds, then imports."""
    if source == "pubmed":
        return 0
    if source.startswith("feed:"):
        return 1
    return 2


def save_records(
    db: sqlite_utils.Database, records: Iterable[Record], run_id: int | None = None
) -> SaveResult:
    """Store records in one transaction, with a ``work_events`` row for each change (tagged
    with ``run_id``); a failure rolls the whole batch back.

    A record whose sighting (source, source id) is stored as a different paper is refused
    alone (outcome "refused", in :attr:`SaveResult.refused`): the rest of the batch is stored.
    """
    result = SaveResult()
    conn = db.conn
    batch = list(records)
    with write_transaction(conn):
        writer = Writer(conn, now(), run_id)
        lookahead = _Lookahead(conn, batch, writer.full)
        for record, keys in zip(batch, lookahead.keys, strict=True):
            result.records.append(_save_one(writer, record, keys, lookahead))
    return result


@dataclass(slots=True)
class Writer:
    """What every write in one transaction shares: the connection, its time, its run, what
    it learnt of the blocks (every block write in it goes through ``full``)."""

    conn: sqlite3.Connection
    stamp: str
    run_id: int | None
    full: KnownBlocks = field(default_factory=KnownBlocks)

    def event(self, work_id: int, kind: str, detail: str | None = None) -> None:
        append_event(self.conn, work_id, kind, self.run_id, detail, self.stamp)


class _Lookahead:
    """What a batch's records will find, read in a few queries up front, so that records
    matching nothing stored (most of a crawl) skip their own lookups.

    It follows the batch's inserts; after a write it does not follow (a refresh or merge
    changes a work's identifiers and blocks) it stops answering and every lookup goes to
    the database.
    """

    def __init__(self, conn: sqlite3.Connection, batch: list[Record], full: KnownBlocks) -> None:
        self.conn = conn
        self.exact = True
        self.sightings = self._sightings(batch)
        unseen = [r for r in batch if (r.source, r.source_id) not in self.sightings]
        # keys for records already sighted are never needed: their titles are not folded
        self.keys = [
            None if (r.source, r.source_id) in self.sightings else dedup.blocking(r) for r in batch
        ]
        self.identifiers = self._identifiers(unseen)
        wanted = {digest(key): key for blocking in self.keys if blocking for key in blocking.keys}
        # a full block may have lost its own works (merged) while narrower ones hold others
        full.learn(conn, wanted)
        present = self._present("SELECT key FROM work_blocks WHERE key IN ({0})", set(wanted))
        present.update(stored for stored in wanted if full.is_full(conn, wanted[stored]))
        self.blocks = {wanted[stored] for stored in present}

    def _sightings(self, batch: list[Record]) -> dict[tuple[str, str], tuple[int, int, str]]:
        found = {}
        by_source: dict[str, list[str]] = {}
        for record in batch:
            by_source.setdefault(record.source, []).append(record.source_id)
        for source, ids in by_source.items():
            for chunk in chunks(ids):
                rows = self.conn.execute(
                    "SELECT source_id, id, work_id, content_hash FROM sightings"
                    f" WHERE source = ? AND source_id IN ({','.join('?' * len(chunk))})",
                    [source, *chunk],
                )
                for source_id, *row in rows:
                    found[(source, source_id)] = tuple(row)
        return found

    def _identifiers(self, records: list[Record]) -> set[tuple[str, str]]:
        present = set()
        for name in _IDENTIFIERS:
            values = {value for r in records if (value := getattr(r, name))}
            query = f"SELECT {name} FROM works WHERE {name} IN ({{}})"
            present.update((name, value) for value in self._present(query, values))
        return present

    def _present(self, query: str, values: set) -> set:
        found: set = set()
        for chunk in chunks(sorted(values)):
            # numbered parameters: a query may name the values twice
            marks = ",".join(f"?{n}" for n in range(1, len(chunk) + 1))
            rows = self.conn.execute(query.format(marks), chunk)
            found.update(row[0] for row in rows)
        return found

    def sighting(self, record: Record) -> tuple[int, int, str] | None:
        if self.exact:
            return self.sightings.get((record.source, record.source_id))
        return self.conn.execute(
            "SELECT id, work_id, content_hash FROM sightings WHERE source = ? AND source_id = ?",
            (record.source, record.source_id),
        ).fetchone()

    def may_share_identifier(self, record: Record) -> bool:
        return not self.exact or any(
            (name, value) in self.identifiers
            for name in _IDENTIFIERS
            if (value := getattr(record, name))
        )

    def may_share_block(self, blocking: dedup.Blocking) -> bool:
        return not self.exact or any(key in self.blocks for key in blocking.keys)

    def fresh(self, blocking: dedup.Blocking) -> set[str]:
        """The record's keys that have no block yet (nor a full one)."""
        return {key for key in blocking.keys if key not in self.blocks} if self.exact else set()

    def added(
        self, record: Record, blocking: dedup.Blocking, sighting: tuple[int, int, str]
    ) -> None:
        self.sightings[(record.source, record.source_id)] = sighting
        self.identifiers.update(
            (name, value) for name in _IDENTIFIERS if (value := getattr(record, name))
        )
        self.blocks.update(blocking.keys)

    def lose_track(self) -> None:
        self.exact = False


def delete_works(
    db: sqlite_utils.Database, deletion: Deletion, run_id: int | None = None
) -> list[int]:
    """Mark deleted the works holding the sightings a source withdrew (PubMed's
    DeleteCitation), with a ``deleted`` event each; returns their ids. The works are kept
    (an editor can still see what was there) but hidden from exports and later stages.
    Ids the store never saw are ignored.

    Like a merged work, a deleted one gives up its identifiers and blocking keys (its
    sightings keep them): NLM deletes a PMID mostly as a duplicate of another record, and
    a new record with that DOI or title belongs with the live one, or is a work of its own
    (its PMID then free for it), not swallowed into a hidden work.

    A work other sources saw too (a feed item, an import row) stays live: only the
    withdrawn sighting leaves it, for a deleted work of its own, and the work is re-derived
    from the sightings it keeps (``updated``).
    """
    conn = db.conn
    deleted = []
    with write_transaction(conn):
        writer = Writer(conn, now(), run_id)
        for chunk in chunks(list(deletion.source_ids)):
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                "SELECT id, work_id, record FROM sightings"
                f" WHERE source = ? AND source_id IN ({marks})",
                [deletion.source, *chunk],
            ).fetchall()
            for sighting_id, work_id, payload in rows:
                live = _live(conn, work_id)
                (others,) = conn.execute(
                    "SELECT count(*) FROM sightings WHERE work_id = ? AND id != ?",
                    (live, sighting_id),
                ).fetchone()
                if others:
                    deleted.append(_detach_deleted(writer, live, sighting_id, payload, deletion))
                elif _mark_deleted(writer, live):
                    writer.event(live, "deleted", f"{deletion.source} withdrew it")
                    deleted.append(live)
    return deleted


def _mark_deleted(writer: Writer, work_id: int) -> bool:
    """Hide a work; False when it already was."""
    cursor = writer.conn.execute(
        "UPDATE works SET deleted_at = ?, updated_at = ?, pmid = NULL, doi = NULL,"
        " pmcid = NULL WHERE id = ? AND deleted_at IS NULL",
        (writer.stamp, writer.stamp, work_id),
    )
    writer.conn.execute("DELETE FROM work_blocks WHERE work_id = ?", (work_id,))
    return bool(cursor.rowcount)


def _detach_deleted(
    writer: Writer, work_id: int, sighting_id: int, payload: str, deletion: Deletion
) -> int:
    """Move a withdrawn sighting off a work other sources saw, into a deleted work of its
    own; returns that work's id."""
    conn = writer.conn
    values = _work_columns(record_from_dict(json.loads(payload)))
    values.update(dict.fromkeys(_IDENTIFIERS))  # the live work keeps them
    values["created_at"] = values["updated_at"] = values["deleted_at"] = writer.stamp
    cursor = conn.execute(
        f"INSERT INTO works ({','.join(values)}) VALUES ({','.join('?' * len(values))})",
        list(values.values()),
    )
    withdrawn = cursor.lastrowid
    conn.execute("UPDATE sightings SET work_id = ? WHERE id = ?", (withdrawn, sighting_id))
    writer.event(withdrawn, "deleted", f"{deletion.source} withdrew it from work {work_id}")
    _updated(writer, work_id)
    return withdrawn


def sighted_ids(db: sqlite_utils.Database, source: str, source_ids: list[str]) -> set[str]:
    """Which of ``source_ids`` the store already has a sighting of from ``source``."""
    found: set[str] = set()
    for chunk in chunks(source_ids):
        marks = ",".join("?" * len(chunk))
        rows = db.execute(
            f"SELECT source_id FROM sightings WHERE source = ? AND source_id IN ({marks})",
            [source, *chunk],
        )
        found.update(row[0] for row in rows)
    return found


def chunks(values: list[str], size: int = 500) -> Iterable[list[str]]:
    """Slices small enough for one ``IN (...)`` query."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _save_one(
    writer: Writer, record: Record, keys: dedup.Blocking | None, lookahead: _Lookahead
) -> Saved:
    conn, stamp = writer.conn, writer.stamp
    # orjson writes the dataclass as compact JSON, the same text as json.dumps with
    # ensure_ascii=False and no spaces, about five times faster
    encoded = orjson.dumps(record)
    payload = encoded.decode()
    digest = hashlib.blake2b(encoded, digest_size=16).hexdigest()
    seen = lookahead.sighting(record)
    if seen is not None:
        return _save_seen(writer, record, seen, payload, digest, lookahead)

    if lookahead.may_share_identifier(record):
        work_id = _find_by_identifier(conn, record)
        if work_id is not None:
            _insert_sighting(conn, work_id, record, payload, digest, stamp)
            _updated(writer, work_id)
            lookahead.lose_track()
            return Saved(work_id, "updated")
    blocking = keys if keys is not None else dedup.blocking(record)
    shares = lookahead.may_share_block(blocking)
    found = _find_fuzzy(conn, record, blocking, writer.full) if shares else _Found()
    work_id = _insert_work(conn, record, stamp, blocking, lookahead.fresh(blocking), writer.full)
    sighting_id = _insert_sighting(conn, work_id, record, payload, digest, stamp)
    lookahead.added(record, blocking, (sighting_id, work_id, digest))
    if found.same is not None:
        kept_id, verdict = found.same
        merge_into(writer, kept_id, work_id, f"automatic: {verdict.reason}", verdict.score)
        lookahead.lose_track()
        return Saved(kept_id, "merged", kept_id)
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
    writer.event(work_id, "new")
    if _is_retracted(record):
        writer.event(work_id, "retracted")
    return Saved(work_id, "new")


def _save_seen(
    writer: Writer,
    record: Record,
    seen: tuple[int, int, str],
    payload: str,
    digest: str,
    lookahead: _Lookahead,
) -> Saved:
    """A record whose sighting is stored: unchanged, stale, a revision of the same paper
    (re-matched if its identifiers now name another work), or refused as another paper."""
    conn = writer.conn
    sighting_id, work_id, old_digest = seen
    if old_digest == digest:
        return Saved(work_id, "unchanged")
    (stored,) = conn.execute("SELECT record FROM sightings WHERE id = ?", (sighting_id,)).fetchone()
    old = record_from_dict(json.loads(stored))
    # A record whose revision date is before the stored one's is stale: keep what we have.
    if record.revised and old.revised and record.revised < old.revised:
        return Saved(work_id, "unchanged")
    why = _other_paper(old, record)
    if why is not None:
        (title,) = conn.execute("SELECT title FROM works WHERE id = ?", (work_id,)).fetchone()
        return Saved(
            work_id,
            "refused",
            reason=f"refused {record.source} {record.source_id!r}: that sighting is work"
            f" {work_id} ({title!r}), the new record {record.title!r} is another paper"
            f" ({why}); the stored sighting is kept",
        )
    conn.execute(
        "UPDATE sightings SET record = ?, content_hash = ?, updated_at = ? WHERE id = ?",
        (payload, digest, writer.stamp, sighting_id),
    )
    lookahead.lose_track()
    # A revision may carry an identifier another work holds (an import row corrected to
    # another PMID): it belongs with that work. Folding it into its own work instead would
    # give two works one PMID.
    target = _find_by_identifier(conn, record, current=work_id)
    if target is None or target == work_id:
        _updated(writer, work_id)
        return Saved(work_id, "updated")
    carried = ", ".join(
        f"{name} {value}" for name in _IDENTIFIERS if (value := getattr(record, name))
    )
    reason = f"automatic: {record.source} {record.source_id!r} now carries {carried}"
    others = conn.execute(
        "SELECT 1 FROM sightings WHERE work_id = ? AND id != ? LIMIT 1", (work_id, sighting_id)
    ).fetchone()
    if others is None:
        merge_into(writer, target, work_id, reason)
        return Saved(target, "merged", target)
    _move_sighting(writer, target, work_id, sighting_id, reason)
    return Saved(target, "updated")


def _other_paper(old: Record, new: Record) -> str | None:
    """Why ``new``, stored under the same sighting as ``old``, is another paper, or None
    when it can be a revision of it (a corrected title, an added abstract).

    A source id can be reused (an import's row numbers, a feed's recycled GUID), and writing
    over the sighting would silently turn one paper into another. Only a pair that the dedup
    judges different outright, or whose identifiers clash without the rest agreeing, is
    another paper: a revision may well change a title or year a little. A PubMed record
    keyed by its own PMID is that citation whatever NLM revised ("[Not Available]." given
    its translated title, authors added), so it is never refused.
    """
    if new.source == "pubmed" and new.pmid == new.source_id:
        return None
    verdict = dedup.judge(new, old)
    clashes = [
        f"{name} {mine} vs {theirs}"
        for name in _IDENTIFIERS
        if (mine := getattr(new, name)) and (theirs := getattr(old, name)) and mine != theirs
    ]
    if clashes and not verdict.same:
        return ", ".join(clashes)
    if not (verdict.same or verdict.possible or verdict.relation):
        return verdict.reason
    return None


def _updated(writer: Writer, work_id: int) -> None:
    """Re-derive a work after a change to its sightings, with its events."""
    newly_retracted = refresh_work(writer.conn, work_id, writer.full)
    writer.event(work_id, "updated")
    if newly_retracted:
        writer.event(work_id, "retracted")


def _is_retracted(record: Record) -> bool:
    return any(link.type == "RetractionIn" for link in record.links)


def ordered_pair(work_id: int, other_id: int) -> tuple[int, int]:
    """How a pair of works is keyed in possible_duplicates: smaller id first."""
    return (work_id, other_id) if work_id < other_id else (other_id, work_id)


def _insert_sighting(
    conn: sqlite3.Connection, work_id: int, record: Record, payload: str, digest: str, stamp: str
) -> int:
    cursor = conn.execute(
        "INSERT INTO sightings (work_id, source, source_id, record, content_hash, first_seen,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (work_id, record.source, record.source_id, payload, digest, stamp, stamp),
    )
    return cursor.lastrowid


def _live(conn: sqlite3.Connection, work_id: int) -> int:
    return follow_merges(conn, "works", work_id) or work_id


_IDENTIFIERS = ("pmid", "doi", "pmcid")


def _find_by_identifier(
    conn: sqlite3.Connection, record: Record, current: int | None = None
) -> int | None:
    """The stored work with this record's PMID; else with its DOI or PMCID, unless another
    identifier disagrees, one of the two is a preprint, or (for a record not from PubMed)
    one of the two is a notice about the other. Among equal matches ``current``, the work
    already holding the record, wins.

    A PMID names one PubMed record, so a PMID match wins even when a DOI disagrees (an
    export with a mistyped DOI): PMIDs are unique among works. PubMed gives errata and
    comments their own PMIDs and DOIs, but a feed item or an import row titled "Comment on:
    <article>" often carries the article's DOI.
    """
    mine = {name: getattr(record, name) for name in _IDENTIFIERS}
    wanted = [name for name in _IDENTIFIERS if mine[name] is not None]
    if not wanted:
        return None
    guarded = record.source != "pubmed"
    rows = conn.execute(
        f"SELECT id, pmid, doi, pmcid, {IS_PREPRINT}, title, publication_types FROM works"
        f" WHERE {' OR '.join(f'{name} = ?' for name in wanted)}",
        [mine[name] for name in wanted],
    ).fetchall()
    rows.sort(key=lambda row: row[0] != current)
    for row in rows:
        if mine["pmid"] is not None and row[1] == mine["pmid"]:
            return _live(conn, row[0])
    kind = dedup.notice_kind(record) if guarded and rows else ""
    for name in wanted:  # then DOI, then PMCID
        position = 1 + _IDENTIFIERS.index(name)
        for row in rows:
            theirs = dict(zip(_IDENTIFIERS, row[1:4], strict=True))
            if (
                row[position] == mine[name]
                and _identifiers_agree(mine, theirs)
                and bool(row[4]) == record.is_preprint
                and (not guarded or _row_kind(row[5], row[6]) == kind)
            ):
                return _live(conn, row[0])
    return None


def _row_kind(title: str, publication_types: str) -> str:
    """The notice kind of a stored work (see :func:`dedup.notice_kind`)."""
    work = Record(
        source="", source_id="", title=title, publication_types=json.loads(publication_types)
    )
    return dedup.notice_kind(work)


def _identifiers_agree(mine: dict, theirs: dict) -> bool:
    """Two records with different PMIDs, DOIs or PMCIDs are never the same work."""
    return all(
        not (mine[name] and theirs[name] and mine[name] != theirs[name]) for name in _IDENTIFIERS
    )


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
    "issue",
    "pages",
    "pub_date",
    "publication_types",
    "doi",
)
# A work whose identifier differs from the record's cannot be it, unless one of the two is a
# preprint (its own DOI) and the other its journal version. For PMIDs the block index holds
# the filter (candidate_kinds): blocks full of PubMed works cost a new PubMed record
# nothing; a work holding the record's own PMID is read whatever its kind (_OWN_PMID, when
# there can be one).
_CANDIDATES = f"""
SELECT id, {", ".join(_CANDIDATE_FIELDS)} FROM works
WHERE id IN (
    SELECT work_id FROM work_blocks WHERE key IN ({{keys}}){{kinds}}{{own}})
  AND id != :exclude
  AND merged_into IS NULL
  AND (:doi IS NULL OR doi IS NULL OR doi = :doi OR {IS_PREPRINT} != :preprint)
"""
_OWN_PMID = """
    UNION SELECT work_id FROM work_blocks
    WHERE key IN ({keys}) AND work_id = (SELECT id FROM works WHERE pmid = :pmid)"""


def fuzzy_candidates(
    conn: sqlite3.Connection, record: Record, blocking: dedup.Blocking, exclude: int = 0
) -> tuple[list[tuple[int, dedup.Profile]], bool]:
    """The live works sharing a block with the record (other than ``exclude``), profiled,
    and whether its title is frequent: its title block is full, or at least
    :data:`dedup.FREQUENT_TITLE` of them are works of its kind with the same title."""
    candidates, full = _candidates(conn, record, blocking, exclude)
    return candidates, blocking.title_key in full


def _candidates(
    conn: sqlite3.Connection,
    record: Record,
    blocking: dedup.Blocking,
    exclude: int = 0,
    known: KnownBlocks | None = None,
    pmid_stored: bool = True,
) -> tuple[list[tuple[int, dedup.Profile]], set[str]]:
    """:func:`fuzzy_candidates`, with the full blocks on the record's way down.
    ``pmid_stored`` False: no stored work holds the record's PMID, so when the blocks hold
    no work of a kind that can be a candidate (a crowded title's blocks of PubMed records
    only) there is nothing to read."""
    keys, full = lookup_keys(conn, blocking, known) if blocking.keys else ([], set())
    if not keys:
        return [], full
    kinds = candidate_kinds(record)
    filtered = len(kinds) < len(ALL_KINDS)
    if filtered and known is not None and not pmid_stored:
        if not known.may_hold(conn, keys, kinds):
            return [], full
    params = {f"k{i}": key for i, key in enumerate(keys)}
    marks = ",".join(f":{name}" for name in params)
    own = _OWN_PMID.format(keys=marks) if record.pmid and pmid_stored else ""
    # a kind filter that lets every kind through would cost an index seek per kind
    kind_filter = f" AND kind IN ({','.join(map(str, kinds))})" if filtered else ""
    query = _CANDIDATES.format(keys=marks, kinds=kind_filter, own=own)
    params.update(pmid=record.pmid, doi=record.doi, preprint=record.is_preprint, exclude=exclude)
    rows = conn.execute(query, params).fetchall()
    return [(row[0], _stored_profile(row[1:])) for row in rows], full


@functools.lru_cache(maxsize=8192)
def _stored_profile(values: tuple) -> dedup.Profile:
    """The profile of a stored work's candidate fields. A block's works are candidates for
    every record that reaches the block; a profile is a function of the fields alone, so
    each is made once while it is in use."""
    candidate = dict(zip(_CANDIDATE_FIELDS, values, strict=True))
    candidate["authors"] = json.loads(candidate["authors"])
    candidate["publication_types"] = json.loads(candidate["publication_types"])
    return dedup.profile(Record(source="", source_id="", **candidate))


def _find_fuzzy(
    conn: sqlite3.Connection, record: Record, blocking: dedup.Blocking, known: KnownBlocks
) -> _Found:
    """Works sharing a block key with the record, judged: the best sure match, or the
    possible duplicates and related works (``known``: the transaction's blocks)."""
    # No stored work holds the record's PMID: _find_by_identifier would have matched it.
    candidates, full = _candidates(conn, record, blocking, known=known, pmid_stored=False)
    found = _Found()
    if not candidates:
        return found
    mine = dedup.profile(record)  # only when there is a candidate: most records have none
    full_title = blocking.title_key in full
    frequent = dedup.is_frequent(mine, [theirs for _, theirs in candidates], full_title)
    for work_id, theirs in candidates:
        verdict = dedup.compare(mine, theirs, frequent)
        if verdict.same and (found.same is None or verdict.score > found.same[1].score):
            found.same = (work_id, verdict)
        elif verdict.possible:
            found.possible.append((work_id, verdict))
        elif verdict.relation is not None:
            found.related.append((work_id, verdict.relation))
    return found


def _work_columns(record: Record) -> dict:
    """A works row from a record: list fields as JSON text."""
    values = {name: getattr(record, name) for name in _WORK_FIELDS}
    for name in _LIST_FIELDS:
        values[name] = orjson.dumps(values[name]).decode() if values[name] else "[]"
    return values


def _insert_work(
    conn: sqlite3.Connection,
    record: Record,
    stamp: str,
    blocking: dedup.Blocking,
    fresh: set[str],
    full: KnownBlocks,
) -> int:
    values = _work_columns(record)
    values["created_at"] = values["updated_at"] = stamp
    columns = ",".join(values)
    marks = ",".join("?" * len(values))
    cursor = conn.execute(f"INSERT INTO works ({columns}) VALUES ({marks})", list(values.values()))
    work_id = cursor.lastrowid
    kind = block_kind(values["pmid"], values["publication_types"])
    write_blocks(conn, work_id, kind, blocking, fresh, full)
    _write_links(conn, work_id, record)
    return work_id


def _write_links(conn: sqlite3.Connection, work_id: int, record: Record) -> None:
    """Index the work's comments/corrections links by the PMID they point at, so the notices
    about an article (an erratum stored as a work of its own) are found without a scan."""
    rows = [(link.pmid, link.type, work_id) for link in record.links if link.pmid]
    if rows:
        conn.executemany(
            "INSERT OR IGNORE INTO work_links (pmid, type, work_id) VALUES (?, ?, ?)", rows
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


def refresh_work(conn: sqlite3.Connection, work_id: int, full: KnownBlocks | None = None) -> bool:
    """Re-derive a work's fields from its sightings; True when this gave it a retraction
    notice (a RetractionIn link) it did not have. ``full``: what the transaction knows of
    the blocks, when it keeps that (a :class:`Writer`'s).

    A deleted work keeps no identifiers or blocking keys (see :func:`delete_works`)."""
    records = sighting_records(conn, work_id)
    if not records:
        return False
    old_links, deleted_at = conn.execute(
        "SELECT links, deleted_at FROM works WHERE id = ?", (work_id,)
    ).fetchone()
    was_retracted = '"RetractionIn"' in (old_links or "")
    folded = fold_records(records)
    values = _work_columns(folded)
    values["updated_at"] = now()
    if deleted_at is not None:
        values.update(dict.fromkeys(_IDENTIFIERS))
    assignments = ",".join(f"{name} = ?" for name in values)
    conn.execute(f"UPDATE works SET {assignments} WHERE id = ?", [*values.values(), work_id])
    conn.execute("DELETE FROM work_blocks WHERE work_id = ?", (work_id,))
    conn.execute("DELETE FROM work_links WHERE work_id = ?", (work_id,))
    if deleted_at is None:
        kind = block_kind(values["pmid"], values["publication_types"])
        write_blocks(conn, work_id, kind, dedup.blocking(folded), full=full)
        _write_links(conn, work_id, folded)
    return _is_retracted(folded) and not was_retracted


def merge_into(
    writer: Writer, kept_id: int, merged_id: int, reason: str, score: float = 0.0
) -> int:
    """Move every sighting of ``merged_id`` to ``kept_id`` and record it; returns the merge id.

    The merged work keeps its row (``merged_into`` set) but gives up its identifiers and
    blocking keys, so lookups find only the kept work. Both works get a ``merged`` event,
    and the pair is listed as merged (with ``score``, the dedup's similarity, for a pair
    it was not proposed with before).
    """
    conn = writer.conn
    moved = [
        row[0] for row in conn.execute("SELECT id FROM sightings WHERE work_id = ?", (merged_id,))
    ]
    conn.execute("UPDATE sightings SET work_id = ? WHERE work_id = ?", (kept_id, merged_id))
    conn.execute(
        "UPDATE works SET merged_into = ?, pmid = NULL, doi = NULL, pmcid = NULL,"
        " updated_at = ? WHERE id = ?",
        (kept_id, writer.stamp, merged_id),
    )
    conn.execute("DELETE FROM work_blocks WHERE work_id = ?", (merged_id,))
    conn.execute("DELETE FROM work_links WHERE work_id = ?", (merged_id,))
    merge_id = _record_merge(writer, kept_id, merged_id, moved, reason, score)
    newly_retracted = refresh_work(conn, kept_id, writer.full)
    writer.event(kept_id, "merged", f"work {merged_id} merged into it: {reason}")
    writer.event(merged_id, "merged", f"merged into work {kept_id}: {reason}")
    if newly_retracted:
        writer.event(kept_id, "retracted")
    return merge_id


def _move_sighting(
    writer: Writer, target_id: int, work_id: int, sighting_id: int, reason: str
) -> int:
    """Move one sighting of ``work_id``, which keeps others and stays live, to ``target_id``;
    recorded like a merge of that sighting, so an editor can undo it. Returns the merge id."""
    conn = writer.conn
    conn.execute("UPDATE sightings SET work_id = ? WHERE id = ?", (target_id, sighting_id))
    merge_id = _record_merge(writer, target_id, work_id, [sighting_id], reason, 0.0)
    # The work losing the sighting first: it gives up the identifiers the target takes.
    for changed, detail in (
        (work_id, f"sighting {sighting_id} moved to work {target_id}: {reason}"),
        (target_id, f"sighting {sighting_id} moved from work {work_id}: {reason}"),
    ):
        newly_retracted = refresh_work(conn, changed, writer.full)
        writer.event(changed, "updated", detail)
        if newly_retracted:
            writer.event(changed, "retracted")
    return merge_id


def _record_merge(
    writer: Writer, kept_id: int, merged_id: int, moved: list[int], reason: str, score: float
) -> int:
    cursor = writer.conn.execute(
        "INSERT INTO merges (kept_id, merged_id, sighting_ids, reason, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (kept_id, merged_id, json.dumps(moved), reason, writer.stamp),
    )
    decide_pair(writer.conn, kept_id, merged_id, "merged", writer.stamp, score, reason)
    return cursor.lastrowid


def decide_pair(
    conn: sqlite3.Connection,
    work_id: int,
    other_id: int,
    status: str,
    stamp: str,
    score: float = 0.0,
    reason: str = "editor",
) -> None:
    """Set a pair's status in ``possible_duplicates`` ("merged", "distinct"), creating the
    pair with ``score`` and ``reason`` if it was never proposed."""
    conn.execute(
        "INSERT INTO possible_duplicates (work_id, other_id, score, reason, status, created_at,"
        " decided_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (work_id, other_id) DO UPDATE SET status = excluded.status,"
        " decided_at = excluded.decided_at",
        (*ordered_pair(work_id, other_id), score, reason, status, stamp, stamp),
    )
