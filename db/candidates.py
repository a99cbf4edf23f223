"""The SQL of the candidate queue (``candidates``, ``candidate_audit``, ``summaries``).

Plain reads and writes only: which transitions are allowed, and when, is decided by
``litmon.review``, which calls these inside its own write transactions.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator

from litmon.db.labels import LABELS_SOURCE

# Columns a transition may set; the rest (id, work_id, created_at) never change.
_SETTABLE = frozenset(
    {
        "state",
        "score",
        "topics",
        "deferred_until",
        "lease_token",
        "lease_expires",
        "leased_by",
        "attempts",
        "changed_since_decision",
        "flag",
        "merged_into",
        "work_id",
    }
)

# A work is retracted when it carries PubMed's RetractionIn link (db/store.py writes it so).
_RETRACTED = """(w.links LIKE '%"RetractionIn"%')"""


def _rows(cursor: sqlite3.Cursor) -> list[dict]:
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _one(cursor: sqlite3.Cursor) -> dict | None:
    rows = _rows(cursor)
    return rows[0] if rows else None


_CANDIDATE_COLUMNS = f"""
SELECT c.*, w.pmid, w.doi, w.title, w.journal, w.pub_date, w.deleted_at AS work_deleted_at,
       {_RETRACTED} AS retracted,
       EXISTS (SELECT 1 FROM publications p WHERE p.candidate_id = c.id) AS was_published,
       EXISTS (SELECT 1 FROM candidate_audit a
               WHERE a.candidate_id = c.id AND a.action = 'ack_takedown') AS taken_down
"""
_CANDIDATE_FROM = "FROM candidates c JOIN works w ON w.id = c.work_id\n"
_CANDIDATE = _CANDIDATE_COLUMNS + _CANDIDATE_FROM

# The orders the list can be read in: the sort key and whether a bigger key comes first.
# "rank": the rank score; "uncertain": the model's probability closest to 0.5 first (what
# an editor's decision teaches it most), candidates without one last. Ties: by id.
ORDERS: dict[str, tuple[str, bool]] = {
    "rank": ("c.score", True),
    "uncertain": ("coalesce(abs(c.model_score - 0.5), 1)", False),
    # newest first, undated last; journals A-Z (SQLite's lower(): ASCII only), none last
    "date": ("coalesce(w.pub_date, '')", True),
    "journal": ("coalesce(lower(w.journal), '~')", False),
}
# The orders whose key is text, not a number (a page marker keeps it as it is).
TEXT_ORDERS = frozenset({"date", "journal"})


def get(conn: sqlite3.Connection, candidate_id: int) -> dict | None:
    return _one(conn.execute(_CANDIDATE + "WHERE c.id = ?", (candidate_id,)))


def by_work(conn: sqlite3.Connection, work_id: int) -> dict | None:
    """The live candidate of a work (not one merged into another candidate)."""
    return _one(
        conn.execute(_CANDIDATE + "WHERE c.work_id = ? AND c.merged_into IS NULL", (work_id,))
    )


def work_ids_by(conn: sqlite3.Connection, column: str, value: str) -> list[int]:
    """Works with this PMID or DOI (``column`` is "pmid" or "doi"), live ones first."""
    if column not in ("pmid", "doi"):
        raise ValueError(column)
    rows = conn.execute(
        f"SELECT id FROM works WHERE {column} = ? ORDER BY merged_into IS NOT NULL, id",
        (value,),
    ).fetchall()
    return [row[0] for row in rows]


def insert(conn: sqlite3.Connection, work_id: int, score: float, topics: str, at: str) -> int:
    cursor = conn.execute(
        "INSERT INTO candidates"
        " (work_id, origin_work_id, state, score, topics, created_at, updated_at)"
        " VALUES (?, ?, 'new', ?, ?, ?, ?)",
        (work_id, work_id, score, topics, at, at),
    )
    return int(cursor.lastrowid)


def update(conn: sqlite3.Connection, candidate_id: int, at: str, **values: object) -> None:
    """Set columns and bump the version, so an editor who saw the old one is refused."""
    unknown = set(values) - _SETTABLE
    if unknown:
        raise ValueError(f"not settable: {sorted(unknown)}")
    assignments = "".join(f"{name} = ?, " for name in values)
    conn.execute(
        f"UPDATE candidates SET {assignments}version = version + 1, updated_at = ? WHERE id = ?",
        (*values.values(), at, candidate_id),
    )


def set_lease_expiry(conn: sqlite3.Connection, candidate_id: int, expires: str) -> None:
    """A renewed lease is not a change an editor needs to see: the version stays."""
    conn.execute("UPDATE candidates SET lease_expires = ? WHERE id = ?", (expires, candidate_id))


def audit(
    conn: sqlite3.Connection,
    candidate_id: int,
    *,
    at: str,
    by: str,
    action: str,
    from_state: str | None,
    to_state: str,
    reason: str | None = None,
    note: str | None = None,
    label: str | None = None,
) -> None:
    """One audit row: ``by`` is who it was (authenticated), ``label`` what a worker called
    itself."""
    conn.execute(
        "INSERT INTO candidate_audit"
        " (candidate_id, at, by, action, from_state, to_state, reason, note, label)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (candidate_id, at, by, action, from_state, to_state, reason, note, label),
    )


def history(conn: sqlite3.Connection, candidate_ids: list[int]) -> list[dict]:
    """The audit rows of these candidates (one, or one and those merged into it), in order."""
    marks = ",".join("?" * len(candidate_ids))
    return _rows(
        conn.execute(
            "SELECT id, candidate_id, at, by, label, action, from_state, to_state, reason, note"
            f" FROM candidate_audit WHERE candidate_id IN ({marks}) ORDER BY id",
            candidate_ids,
        )
    )


def notes(conn: sqlite3.Connection, candidate_id: int) -> list[dict]:
    return _rows(
        conn.execute(
            "SELECT at, by, note FROM candidate_audit"
            " WHERE candidate_id = ? AND note IS NOT NULL ORDER BY id",
            (candidate_id,),
        )
    )


def due_deferred(conn: sqlite3.Connection, today: str) -> list[dict]:
    return _rows(
        conn.execute(
            "SELECT id, state FROM candidates"
            " WHERE state = 'deferred' AND deferred_until <= ? AND merged_into IS NULL",
            (today,),
        )
    )


def expired_leases(conn: sqlite3.Connection, at: str) -> list[dict]:
    return _rows(
        conn.execute(
            "SELECT id, attempts, leased_by FROM candidates"
            " WHERE state = 'leased' AND lease_expires < ?",
            (at,),
        )
    )


def best_approved(conn: sqlite3.Connection) -> dict | None:
    """The best-ranked approved candidate whose work may be handed out (live, not
    retracted), walking the ranked index."""
    return _one(
        conn.execute(
            "SELECT c.id, c.attempts FROM candidates c JOIN works w ON w.id = c.work_id"
            " WHERE c.state = 'approved' AND c.merged_into IS NULL"
            f" AND w.deleted_at IS NULL AND NOT {_RETRACTED}"
            " ORDER BY c.score DESC, c.id LIMIT 1"
        )
    )


def _where(
    conn: sqlite3.Connection,
    *,
    state: str | None,
    topic: str | None,
    min_score: float | None,
    match: str | None,
    journal: str | None,
    published: tuple[str | None, str | None],
) -> tuple[list[str], list[object]]:
    """The conditions (and their parameters) of the list's filters: one copy for a page
    and for the count of everything that matches."""
    where = ["c.merged_into IS NULL"]
    params: list[object] = []
    if state is not None:
        where.append("c.state = ?")
        params.append(state)
    if topic is not None:
        where.append(
            "EXISTS (SELECT 1 FROM json_each(c.topics) t"
            " WHERE json_extract(t.value, '$.topic') = ?)"
        )
        params.append(topic)
    if min_score is not None:
        where.append("c.score >= ?")
        params.append(min_score)
    if match is not None:
        where.append(_text_filter(conn, match))
        params.append(match)
    if journal is not None:
        where.append("(lower(w.journal) = lower(?) OR lower(w.journal_abbrev) = lower(?))")
        params.extend((journal, journal))
    start, end = published
    if start is not None:
        where.append("w.pub_date >= ?")
        params.append(start)
    if end is not None:
        # a date of the last day, or a shorter prefix, covers everything that starts with it
        where.append("w.pub_date < ? || '~'")
        params.append(end)
    return where, params


def count(
    conn: sqlite3.Connection,
    *,
    state: str | None,
    topic: str | None,
    min_score: float | None,
    match: str | None = None,
    journal: str | None = None,
    published: tuple[str | None, str | None] = (None, None),
) -> int:
    """How many candidates the filters of :func:`page` match, on every page together."""
    where, params = _where(
        conn, state=state, topic=topic, min_score=min_score, match=match, journal=journal,
        published=published,
    )  # fmt: skip
    return conn.execute(
        f"SELECT count(*) {_CANDIDATE_FROM}WHERE {' AND '.join(where)}", params
    ).fetchone()[0]


def decided_since(conn: sqlite3.Connection, since: str, actions: tuple[str, ...]) -> int:
    """How many candidates had one of ``actions`` recorded at or after ``since``."""
    marks = ",".join("?" * len(actions))
    return conn.execute(
        "SELECT count(DISTINCT candidate_id) FROM candidate_audit"
        f" WHERE at >= ? AND action IN ({marks})",
        (since, *actions),
    ).fetchone()[0]


def page(
    conn: sqlite3.Connection,
    *,
    state: str | None,
    topic: str | None,
    min_score: float | None,
    after: tuple[float | str, int] | None,
    from_end: bool,
    limit: int,
    match: str | None = None,
    journal: str | None = None,
    published: tuple[str | None, str | None] = (None, None),
    order: str = "rank",
) -> list[dict]:
    """One page of the list in ``order`` (one of :data:`ORDERS`; then by id), keyset-paged:
    ``after`` is the (sort key, id) of the last row of the previous page (each row's
    ``sort_key``); ``from_end`` reads the order backwards from its end (the last page
    first), still through the index.

    ``match`` is an FTS5 query over title and abstract (quoted by the caller), ``journal``
    a journal title or abbreviation (case-insensitive), ``published`` a range of
    publication dates (ISO prefixes, either end open)."""
    where, params = _where(
        conn, state=state, topic=topic, min_score=min_score, match=match, journal=journal,
        published=published,
    )  # fmt: skip
    key, descending = ORDERS[order]
    if after is not None:
        # Written as a range on the key plus a tie-break, so SQLite seeks the index to the
        # page's start. Backwards, "after" means before in the order.
        ahead = "<" if descending != from_end else ">"
        tie = "<" if from_end else ">"
        where.append(f"{key} {ahead}= ? AND ({key} {ahead} ? OR c.id {tie} ?)")
        params.extend((after[0], after[0], after[1]))
    first = "DESC" if descending != from_end else "ASC"
    sort = f"{key} {first}, c.id {'DESC' if from_end else 'ASC'}"
    rows = _rows(
        conn.execute(
            _CANDIDATE_COLUMNS
            + f", {key} AS sort_key "
            + _CANDIDATE_FROM
            + f"WHERE {' AND '.join(where)} ORDER BY {sort} LIMIT ?",
            (*params, limit),
        )
    )
    return rows[::-1] if from_end else rows


# A search matching at least this many works walks the ranking and checks each candidate
# against the index (the page fills after a few hundred rows); a rarer one reads its
# matches first. Either way round costs a few ms at 100,000 works; the wrong way round,
# 200-800 ms (bench/web_bench.py).
_DENSE_MATCHES = 5000


def _text_filter(conn: sqlite3.Connection, match: str) -> str:
    probe = "SELECT count(*) FROM (SELECT rowid FROM works_fts WHERE works_fts MATCH ? LIMIT ?)"
    if conn.execute(probe, (match, _DENSE_MATCHES)).fetchone()[0] >= _DENSE_MATCHES:
        return "EXISTS (SELECT 1 FROM works_fts WHERE works_fts MATCH ? AND rowid = c.work_id)"
    return "c.work_id IN (SELECT rowid FROM works_fts WHERE works_fts MATCH ?)"


def scored_works(conn: sqlite3.Connection, thresholds: dict[str, float]) -> Iterator[tuple]:
    """(work_id, topic, score) of every live work at or above its topic's threshold, grouped
    by work."""
    for topic, threshold in sorted(thresholds.items()):
        yield from conn.execute(
            "SELECT s.work_id, s.topic, s.score FROM work_scores s"
            " JOIN works w ON w.id = s.work_id"
            " WHERE s.topic = ? AND s.score >= ? AND w.merged_into IS NULL"
            " AND w.deleted_at IS NULL",
            (topic, threshold),
        )


def labels_only(conn: sqlite3.Connection, work_id: int) -> bool:
    """Whether every sighting of a work is from a labels file (training labels only)."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM sightings WHERE work_id = ?)"
        " AND NOT EXISTS (SELECT 1 FROM sightings WHERE work_id = ? AND source NOT LIKE ? || '%')",
        (work_id, work_id, LABELS_SOURCE),
    ).fetchone()
    return bool(row[0])


def let_in_by_model(
    conn: sqlite3.Connection, thresholds: dict[str, float], let_in: float
) -> Iterator[tuple]:
    """(work_id, topic, score) of every live work the active model rates at ``let_in`` or
    above whose profile scores are under every threshold, grouped by work."""
    limits = json.dumps(thresholds)
    yield from conn.execute(
        "SELECT s.work_id, s.topic, s.score FROM work_model_scores m"
        " JOIN model_versions v ON v.id = m.model_id AND v.active = 1"
        " JOIN works w ON w.id = m.work_id"
        " JOIN work_scores s ON s.work_id = m.work_id"
        " WHERE m.probability >= ? AND w.merged_into IS NULL AND w.deleted_at IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM work_scores t WHERE t.work_id = m.work_id"
        "   AND t.score >= json_extract(?, '$.\"' || t.topic || '\"'))"
        " ORDER BY s.work_id",
        (let_in, limits),
    )


def rank_inputs(conn: sqlite3.Connection) -> list[tuple]:
    """(id, topics, score, model_score, let_in_by_model, probability by the active model)
    of every live candidate."""
    return conn.execute(
        "SELECT c.id, c.topics, c.score, c.model_score, c.let_in_by_model, m.probability"
        " FROM candidates c LEFT JOIN (work_model_scores m"
        "   JOIN model_versions v ON v.id = m.model_id AND v.active = 1)"
        " ON m.work_id = c.work_id WHERE c.merged_into IS NULL"
    ).fetchall()


def set_ranks(conn: sqlite3.Connection, rows: Iterable[tuple]) -> None:
    """Set (score, model_score, let_in_by_model, id) of candidates. A new rank is not a
    change an editor needs to see (nor one that should refuse their decision): the version
    stays."""
    conn.executemany(
        "UPDATE candidates SET score = ?, model_score = ?, let_in_by_model = ? WHERE id = ?",
        list(rows),
    )


def model_explanation(conn: sqlite3.Connection, work_id: int) -> list | None:
    """What moved the active model's probability of a work (None: no model, or none kept)."""
    row = conn.execute(
        "SELECT m.explanation FROM work_model_scores m"
        " JOIN model_versions v ON v.id = m.model_id AND v.active = 1 WHERE m.work_id = ?",
        (work_id,),
    ).fetchone()
    return json.loads(row[0]) if row and row[0] else None


def explanations(conn: sqlite3.Connection, work_id: int) -> dict[str, str]:
    """Each topic's stored score explanation (JSON text) for a work."""
    rows = conn.execute(
        "SELECT topic, explanation FROM work_scores WHERE work_id = ?", (work_id,)
    ).fetchall()
    return dict(rows)


def to_withdraw(conn: sqlite3.Connection) -> list[dict]:
    """Candidates whose work NLM deleted or that were retracted, not yet withdrawn."""
    return _rows(
        conn.execute(
            "SELECT c.id, c.state, w.deleted_at IS NOT NULL AS deleted"
            " FROM candidates c JOIN works w ON w.id = c.work_id"
            " WHERE c.state != 'withdrawn' AND c.merged_into IS NULL"
            f" AND (w.deleted_at IS NOT NULL OR {_RETRACTED})"
        )
    )


def displaced(conn: sqlite3.Connection) -> list[dict]:
    """Candidates away from the work they were made for (moved with a merge, or merged into
    another candidate) whose work is live again: a merge was undone. Moved ones first, so
    that each work has one live candidate at every step of putting them back."""
    return _rows(
        conn.execute(
            "SELECT c.id, c.state, c.origin_work_id, c.merged_into FROM candidates c"
            " JOIN works w ON w.id = c.origin_work_id"
            " WHERE (c.merged_into IS NOT NULL OR c.work_id != c.origin_work_id)"
            " AND w.merged_into IS NULL ORDER BY c.merged_into IS NOT NULL, c.id"
        )
    )


def possible_duplicates(conn: sqlite3.Connection, work_id: int) -> list[dict]:
    """Open possible duplicates of a work: the other work, how similar, and why."""
    return _rows(
        conn.execute(
            "SELECT CASE WHEN p.work_id = :w THEN p.other_id ELSE p.work_id END AS work_id,"
            " p.score, p.reason FROM possible_duplicates p"
            " WHERE (p.work_id = :w OR p.other_id = :w) AND p.status = 'open'"
            " ORDER BY p.score DESC",
            {"w": work_id},
        )
    )


def merged_into(conn: sqlite3.Connection, work_id: int) -> int | None:
    row = conn.execute("SELECT merged_into FROM works WHERE id = ?", (work_id,)).fetchone()
    return row[0] if row else None


def summary_by_token(conn: sqlite3.Connection, token: str) -> dict | None:
    return _one(
        conn.execute(
            "SELECT id, candidate_id, work_id, summary FROM summaries WHERE lease_token = ?",
            (token,),
        )
    )


def insert_summary(
    conn: sqlite3.Connection,
    *,
    work_id: int,
    candidate_id: int,
    token: str,
    worker: str | None,
    summary: str,
    at: str,
) -> None:
    conn.execute(
        "INSERT INTO summaries (work_id, candidate_id, lease_token, worker, summary, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (work_id, candidate_id, token, worker, summary, at),
    )


def summaries(conn: sqlite3.Connection, candidate_id: int) -> list[dict]:
    return _rows(
        conn.execute(
            "SELECT worker, summary, created_at FROM summaries WHERE candidate_id = ? ORDER BY id",
            (candidate_id,),
        )
    )


def work(conn: sqlite3.Connection, work_id: int) -> dict | None:
    return _one(
        conn.execute(
            "SELECT id, pmid, doi, pmcid, title, abstract, authors, journal, journal_abbrev,"
            " issn, volume, issue, pages, pub_date, publication_types, mesh, keywords,"
            " language, links, url, deleted_at FROM works WHERE id = ?",
            (work_id,),
        )
    )


def works_by_pmids(conn: sqlite3.Connection, pmids: list[str]) -> dict[str, dict]:
    """Stored (live) works for PMIDs (their id and title), e.g. the retraction notices a work
    links to."""
    if not pmids:
        return {}
    marks = ",".join("?" * len(pmids))
    rows = conn.execute(
        f"SELECT pmid, id, title FROM works WHERE pmid IN ({marks}) AND merged_into IS NULL",
        pmids,
    ).fetchall()
    return {pmid: {"id": work_id, "title": title} for pmid, work_id, title in rows}


def linking_to(conn: sqlite3.Connection, pmid: str, types: tuple[str, ...]) -> list[dict]:
    """Stored (live) works with a link of one of ``types`` to ``pmid``: the notices (an
    erratum, a retraction notice) stored as works of their own that point at an article,
    found through the ``work_links`` index the store keeps."""
    marks = ",".join("?" * len(types))
    return _rows(
        conn.execute(
            "SELECT w.id AS work_id, w.pmid, w.title, l.type FROM work_links l"
            " JOIN works w ON w.id = l.work_id"
            f" WHERE l.pmid = ? AND l.type IN ({marks})"
            " AND w.merged_into IS NULL AND w.deleted_at IS NULL ORDER BY w.id",
            (pmid, *types),
        )
    )


def sightings(conn: sqlite3.Connection, work_id: int) -> list[dict]:
    """Which sources saw a work, and when first."""
    return _rows(
        conn.execute(
            "SELECT source, source_id, first_seen FROM sightings WHERE work_id = ?"
            " ORDER BY first_seen, id",
            (work_id,),
        )
    )
