"""The candidate queue: enqueueing scored works, editors' decisions and their undo, the
ranked list, and the audit trail. Every change goes through :func:`apply` (the transition
table of :mod:`litmon.review.states`) inside one ``BEGIN IMMEDIATE`` transaction."""

from __future__ import annotations

import getpass
import json
import math
import os
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlite_utils

from litmon.core.clock import now, today_utc
from litmon.core.errors import Conflict, NotFound, UsageError
from litmon.db import candidates as sql
from litmon.db import drafts as dsql
from litmon.db.merged import follow_merges, live_work
from litmon.db.transactions import write_transaction
from litmon.review import follow
from litmon.review.packet import notices
from litmon.review.states import DECISIONS, PREVIOUS, STATES, target

# Why an editor rejects, unless [queue] reject_reasons in the config says otherwise.
REJECTION_REASONS = (
    "off-topic",
    "not-new-research",
    "animal-or-in-vitro-only",
    "duplicate",
    "retracted-or-corrected",
    "low-quality",
    "other",
)

# Attempts a summarizer gets (claims that failed or expired) before a candidate is dead,
# unless [queue] max_attempts says otherwise.
MAX_ATTEMPTS = 3

# Who the system's own transitions (wake, expire, withdraw) are recorded as.
SYSTEM = "litmon"

# Unless [model] says otherwise: the model's probability at which a work under every
# threshold is queued, and the rank points between a probability of 0 and one of 1.
LET_IN = 0.5
MODEL_WEIGHT = 6.0


def default_editor() -> str:
    """Who a decision is recorded as without --by: $LITMON_EDITOR, else the login name."""
    return os.environ.get("LITMON_EDITOR") or getpass.getuser()


@dataclass(frozen=True, slots=True)
class Page:
    """One page of the ranked list; ``next_after`` continues it (None: this was the last)."""

    items: list[dict]
    next_after: tuple[float | str, int] | None


def view(row: dict) -> dict:
    """A candidate as the API and ``--json`` show it (never the lease token)."""
    return {
        "id": row["id"],
        "work_id": row["work_id"],
        "state": row["state"],
        "score": row["score"],
        "topics": json.loads(row["topics"]),
        "version": row["version"],
        "title": row["title"],
        "pmid": row["pmid"],
        "doi": row["doi"],
        "retracted": bool(row["retracted"]),
        "deferred_until": row["deferred_until"] if row["state"] == "deferred" else None,
        "leased_by": row["leased_by"],
        "lease_expires": row["lease_expires"],
        "attempts": row["attempts"],
        "changed_since_decision": bool(row["changed_since_decision"]),
        "flag": row["flag"],
        "takedown": _takedown(row),
        "journal": row["journal"],
        "pub_date": row["pub_date"],
        "model_score": row["model_score"],
        "let_in_by_model": bool(row["let_in_by_model"]),
    }


def _takedown(row: dict) -> str | None:
    """A withdrawn work's published piece must come down: "pending" until the takedown is
    recorded ("done")."""
    if row["taken_down"]:
        return "done"
    if row["state"] == "withdrawn" and row["was_published"]:
        return "pending"
    return None


def apply(
    conn: sqlite3.Connection,
    row: dict,
    action: str,
    *,
    by: str,
    at: str,
    to: str | None = None,
    reason: str | None = None,
    note: str | None = None,
    label: str | None = None,
    **values: object,
) -> str:
    """Move a candidate by ``action`` if the table allows it from its state (else a
    UsageError), set ``values``, bump its version and append the audit row. ``to`` is only
    for an undo, whose target is read from the trail. Returns the new state."""
    new_state = target(action, row["state"])
    if new_state == PREVIOUS:
        if to is None:
            raise ValueError("an undo needs the state it returns to")
        new_state = to
    if row["state"] == "leased" and new_state != "leased":
        # Leaving "leased" always ends the lease: the holder's done/fail is then refused.
        values = {"lease_token": None, "lease_expires": None, "leased_by": None, **values}
    sql.update(conn, row["id"], at, state=new_state, **values)
    sql.audit(
        conn,
        row["id"],
        at=at,
        by=by,
        action=action,
        from_state=row["state"],
        to_state=new_state,
        reason=reason,
        note=note,
        label=label,
    )
    return new_state


# -- enqueueing ------------------------------------------------------------------------------


def enqueue(db: sqlite_utils.Database, work_id: int, topics: list[tuple[str, float]]) -> int | None:
    """Make ``work_id`` a candidate with these (topic, score) pairs, or update the scores of
    its candidate: one candidate per work, whatever the topics. Returns the candidate id
    (None for a deleted or unknown work)."""
    with write_transaction(db.conn):
        at = now()
        housekeep(db, at)
        outcome = _enqueue(db.conn, work_id, topics, at)
    return outcome[1] if outcome else None


def enqueue_scored(
    db: sqlite_utils.Database,
    thresholds: dict[str, float],
    *,
    let_in: float = LET_IN,
    weight: float = MODEL_WEIGHT,
) -> dict[str, int]:
    """Enqueue every live work scored at or above its topic's threshold (``work_scores``),
    and every one the active model rates at ``let_in`` or above (marked as let in by the
    model: no work is hidden by the threshold); then withdraw candidates whose work was
    deleted or retracted, and rank them all (:func:`rank`). Returns counts of candidates
    new, updated (scores changed) and withdrawn."""
    counts = {"new": 0, "updated": 0, "withdrawn": 0}
    with write_transaction(db.conn):
        at = now()
        housekeep(db, at)
        per_work: dict[int, list[tuple[str, float]]] = defaultdict(list)
        for work_id, topic, score in sql.scored_works(db.conn, thresholds):
            per_work[work_id].append((topic, score))
        for work_id, topic, score in sql.let_in_by_model(db.conn, thresholds, let_in):
            per_work[work_id].append((topic, score))
        for work_id, topics in per_work.items():
            outcome = _enqueue(db.conn, work_id, topics, at)
            if outcome and outcome[0] in counts:
                counts[outcome[0]] += 1
        counts["withdrawn"] = _withdraw_gone(db.conn, at)
        _rank(db.conn, thresholds, let_in, weight)
    return counts


def rank(best: float, probability: float | None, weight: float = MODEL_WEIGHT) -> float:
    """A candidate's rank score: its best profile score, moved by the model's probability
    (up to ``weight``/2 points either way; none without a model). The probability is a
    continuous number, so works the profile ties are told apart."""
    if probability is None:
        return best
    return round(best + weight * (probability - 0.5), 4)


def _rank(
    conn: sqlite3.Connection, thresholds: dict[str, float], let_in: float, weight: float
) -> None:
    """Every live candidate's rank score, probability and let-in mark, from its topics'
    scores and the active model's probability; written where they changed."""
    changed = []
    for candidate_id, topics, score, model_score, marked, probability in sql.rank_inputs(conn):
        scores = _topic_scores(topics)
        under = all(s < thresholds.get(t, float("inf")) for t, s in scores.items())
        # let in by the model: the profile would not have it; once let in, it stays marked
        # (a retrained model's doubt ranks it low, it does not hide it)
        let = under and (bool(marked) or (probability is not None and probability >= let_in))
        new = (rank(max(scores.values()), probability, weight), probability, int(let))
        if new != (score, model_score, marked):
            changed.append((*new, candidate_id))
    sql.set_ranks(conn, changed)


def _enqueue(
    conn: sqlite3.Connection, work_id: int, topics: list[tuple[str, float]], at: str
) -> tuple[str, int] | None:
    if not topics:
        raise UsageError(f"work {work_id}: a candidate needs at least one topic with its score")
    live = live_work(conn, work_id)
    if live is None or live[1] is not None:
        return None
    work_id = live[0]
    if sql.labels_only(conn, work_id):
        # known only from a labels file: a training label, never an editor's candidate
        return None
    existing = sql.by_work(conn, work_id)
    merged = {} if existing is None else _topic_scores(existing["topics"])
    merged.update({topic: float(score) for topic, score in topics})
    encoded = json.dumps(
        [{"topic": t, "score": s} for t, s in sorted(merged.items(), key=lambda i: (-i[1], i[0]))]
    )
    best = max(merged.values())
    if existing is None:
        candidate_id = sql.insert(conn, work_id, best, encoded, at)
        sql.audit(
            conn, candidate_id, at=at, by=SYSTEM, action="enqueue", from_state=None, to_state="new"
        )
        return "new", candidate_id
    if existing["topics"] == encoded:
        return "unchanged", existing["id"]
    # A rescore after the editor decided (a revised abstract) is shown, not acted on.
    changed = existing["changed_since_decision"] or existing["state"] != "new"
    sql.update(conn, existing["id"], at, score=best, topics=encoded, changed_since_decision=changed)
    return "updated", existing["id"]


def _topic_scores(encoded: str) -> dict[str, float]:
    return {item["topic"]: item["score"] for item in json.loads(encoded)}


def _withdraw_gone(conn: sqlite3.Connection, at: str) -> int:
    rows = sql.to_withdraw(conn)
    for row in rows:
        reason = "deleted by NLM" if row["deleted"] else "retracted"
        apply(conn, row, "withdraw", by=SYSTEM, at=at, reason=reason)
    return len(rows)


def withdraw_gone(db: sqlite_utils.Database) -> int:
    """Withdraw candidates whose work NLM deleted or that were retracted; returns how many."""
    with write_transaction(db.conn):
        return _withdraw_gone(db.conn, now())


# -- what the system does lazily -----------------------------------------------------------


def housekeep(db: sqlite_utils.Database, at: str, max_attempts: int = MAX_ATTEMPTS) -> None:
    """Inside a write transaction: the queue catches up with the works (merges, undone
    merges, deletions, retractions); deferrals whose date came return to new; expired
    leases return their candidate to approved, or make it dead on its last attempt."""
    conn = db.conn
    follow.follow(db, at, _withdraw_gone)
    for row in sql.due_deferred(conn, today_utc().isoformat()):
        apply(conn, row, "wake", by=SYSTEM, at=at, reason="deferral date reached")
    for row in sql.expired_leases(conn, at):
        current = sql.get(conn, row["id"])
        action = "give_up" if row["attempts"] >= max_attempts else "expire"
        reason = f"lease of {row['leased_by']} expired"
        apply(conn, current, action, by=SYSTEM, at=at, reason=reason)


def refresh(db: sqlite_utils.Database, max_attempts: int = MAX_ATTEMPTS) -> None:
    """Apply what is due before a read (listing, showing): a write only when something is."""
    at = now()
    due = sql.due_deferred(db.conn, today_utc().isoformat()) or sql.expired_leases(db.conn, at)
    if due or follow.pending(db):
        with write_transaction(db.conn):
            housekeep(db, now(), max_attempts)


# -- finding candidates ----------------------------------------------------------------------


def resolve(conn: sqlite3.Connection, ref: str) -> tuple[dict, int | None]:
    """A candidate by its id, ``pmid:N`` or ``doi:…``, each optionally ``@VERSION`` (the
    version the editor saw). A candidate merged into another stands for that one."""
    text, _, version_text = ref.strip().partition("@")
    version = None
    if version_text:
        if not version_text.isdigit():
            raise UsageError(f"{ref}: the version after @ must be a number")
        version = int(version_text)
    kind, colon, value = text.partition(":")
    if not colon:
        if not text.isdigit():
            raise UsageError(f"{ref}: not a candidate id, pmid:N or doi:…")
        row = sql.get(conn, int(text))
    else:
        if kind.lower() not in ("pmid", "doi") or not value:
            raise UsageError(f"{ref}: not a candidate id, pmid:N or doi:…")
        column = kind.lower()
        value = value.strip().lower() if column == "doi" else value.strip()
        row = None
        for work_id in sql.work_ids_by(conn, column, value):
            live = live_work(conn, work_id)
            if live and (row := sql.by_work(conn, live[0])):
                break
    if row is not None and row["merged_into"] is not None:
        row = sql.get(conn, follow_merges(conn, "candidates", row["id"]))
    if row is None:
        raise NotFound(f"{ref}: no such candidate")
    return row, version


def _check_version(row: dict, version: int | None) -> None:
    if version is not None and version != row["version"]:
        raise Conflict(
            f"candidate {row['id']} changed since version {version}: it is now {row['state']}"
            f" (version {row['version']})"
        )


def show(db: sqlite_utils.Database, ref: str, *, max_attempts: int = MAX_ATTEMPTS) -> dict:
    """A candidate with its audit trail, summaries as handed in, drafts (every version)
    and publication, possible duplicates and notices (retraction, errata; or, for a
    notice, its article)."""
    refresh(db, max_attempts)
    row, _ = resolve(db.conn, ref)
    shown = view(row)
    shown["history"] = history(db, str(row["id"]))
    shown["summaries"] = sql.summaries(db.conn, row["id"])
    shown["drafts"] = [dsql.view(draft) for draft in dsql.of(db.conn, row["id"])]
    shown["publication"] = dsql.publication(db.conn, row["id"])
    shown["possible_duplicates"] = sql.possible_duplicates(db.conn, row["work_id"])
    shown["notices"] = notices(db.conn, sql.work(db.conn, row["work_id"]))
    shown["model_explanation"] = sql.model_explanation(db.conn, row["work_id"])
    return shown


def history(db: sqlite_utils.Database, ref: str) -> list[dict]:
    """Every transition of a candidate, oldest first."""
    row, _ = resolve(db.conn, ref)
    return sql.history(db.conn, [row["id"]])


def list_candidates(
    db: sqlite_utils.Database,
    *,
    state: str | None = None,
    topic: str | None = None,
    min_score: float | None = None,
    search: str | None = None,
    journal: str | None = None,
    published: tuple[str | None, str | None] = (None, None),
    after: tuple[float | str, int] | None = None,
    from_end: bool = False,
    limit: int = 50,
    explain: bool = False,
    order: str = "rank",
    max_attempts: int = MAX_ATTEMPTS,
) -> Page:
    """One page of candidates ranked by score (best first), or in another ``order``
    ("uncertain": the model's least sure first). Pass ``next_after`` of a page as
    ``after`` for the next; ``from_end`` gives the last page (and pages backwards).
    ``search`` keeps the candidates whose title or abstract has every word (stemmed, any
    case and accents; ``word*`` for a prefix, ``"two words"`` for a phrase); ``journal``
    and ``published`` (from, to: dates or prefixes like 2026-03) filter on the work.
    ``explain`` adds each topic's scoring explanation (what matched, where, what it added)
    and the model's (the terms that moved its probability up or down)."""
    if order not in sql.ORDERS:
        raise UsageError(f"unknown order {order!r} (one of {', '.join(sql.ORDERS)})")
    where = _where(state, topic, min_score, search, journal, published)
    if limit < 1:
        raise UsageError("the page size must be at least 1")
    refresh(db, max_attempts)
    rows = sql.page(
        db.conn,
        **where,
        after=after,
        from_end=from_end,
        limit=limit + 1,
        order=order,
    )
    more = len(rows) > limit
    if more:
        rows = rows[1:] if from_end else rows[:limit]
    items = [view(row) for row in rows]
    if explain:
        for item in items:
            explanations = sql.explanations(db.conn, item["work_id"])
            for topic in item["topics"]:
                if topic["topic"] in explanations:
                    topic["explanation"] = json.loads(explanations[topic["topic"]])
            item["model_explanation"] = sql.model_explanation(db.conn, item["work_id"])
    edge = rows[0] if from_end else (rows[-1] if rows else None)
    next_after = (edge["sort_key"], edge["id"]) if more and edge else None
    return Page(items, next_after)


def order_key(item: dict, order: str) -> float | str:
    """Where a candidate (as :func:`view` shows it) stands in ``order``: the first half of
    the marker :func:`list_candidates` pages by (the SQL of ``ORDERS``, in Python)."""
    if order == "uncertain":
        probability = item["model_score"]
        return 1.0 if probability is None else abs(probability - 0.5)
    if order == "date":
        return item["pub_date"] or ""
    if order == "journal":
        journal = item["journal"]
        return "~" if journal is None else "".join(c.lower() if c.isascii() else c for c in journal)
    return item["score"]


def count_candidates(
    db: sqlite_utils.Database,
    *,
    state: str | None = None,
    topic: str | None = None,
    min_score: float | None = None,
    search: str | None = None,
    journal: str | None = None,
    published: tuple[str | None, str | None] = (None, None),
) -> int:
    """How many candidates :func:`list_candidates` with these filters lists in all."""
    return sql.count(db.conn, **_where(state, topic, min_score, search, journal, published))


def _where(
    state: str | None,
    topic: str | None,
    min_score: float | None,
    search: str | None,
    journal: str | None,
    published: tuple[str | None, str | None],
) -> dict[str, Any]:
    """The filters of :func:`list_candidates` and :func:`count_candidates`, checked, as
    the queries take them (``search`` as a full-text query)."""
    if state is not None and state not in STATES:
        raise UsageError(f"unknown state {state!r} (one of {', '.join(STATES)})")
    return {
        "state": state,
        "topic": topic,
        "min_score": min_score,
        "match": fts_query(search) if search and search.strip() else None,
        "journal": journal,
        "published": published,
    }


def progress(db: sqlite_utils.Database) -> dict[str, int]:
    """The editors' day: how many candidates were decided (approved, rejected or deferred)
    since midnight UTC, and how many new ones wait for a decision."""
    since = f"{today_utc().isoformat()}T00:00:00Z"
    return {
        "decided_today": sql.decided_since(db.conn, since, DECISIONS),
        "waiting": sql.count(db.conn, state="new", topic=None, min_score=None),
    }


def page_marker(text: str, order: str = "rank") -> tuple[float | str, int]:
    """The (key, id) a page of :func:`list_candidates` in ``order`` ends with, written
    "KEY,ID" (as ``queue list`` prints it and the review page links it): a number, or for
    the text orders (date, journal) the text, commas and all."""
    key, _, ident = text.rpartition(",")
    wrong = UsageError("the page marker is not SCORE,ID, the marker a page ends with")
    try:
        number = int(ident)
        score = math.nan if order in sql.TEXT_ORDERS else float(key)
    except ValueError:
        raise wrong from None
    if not 0 <= number < 2**63:  # SQLite's integers
        raise wrong
    if order in sql.TEXT_ORDERS:
        return key, number
    if not math.isfinite(score):
        raise wrong
    return score, number


def is_date_prefix(text: str) -> bool:
    """A year, a year and month, or a whole date (as works' publication dates begin), and
    one that exists: the ``published`` filter of :func:`list_candidates`."""
    if not re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", text):
        return False
    year, month, day = (text.split("-") + ["01", "01"])[:3]
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def fts_query(text: str) -> str:
    """An editor's search words as an FTS5 query that cannot be a syntax error: each word
    or "quoted phrase" must appear; a trailing * keeps a prefix search; FTS operators and
    punctuation are taken as text."""
    parts = []
    for phrase, word in re.findall(r'"([^"]*)"|(\S+)', text):
        if phrase:
            words = re.findall(r"\w+", phrase)
            if words:
                parts.append('"' + " ".join(words) + '"')
            continue
        tokens = [f'"{token}"' for token in re.findall(r"\w+", word)]
        if tokens and word.endswith("*"):
            tokens[-1] += "*"
        parts.extend(tokens)
    return " ".join(parts) or '""'


# -- editors' decisions --------------------------------------------------------------------


def decide(
    db: sqlite_utils.Database,
    refs: list[str],
    action: str,
    *,
    by: str | None = None,
    reason: str | None = None,
    note: str | None = None,
    until: date | None = None,
    reasons: Sequence[str] = REJECTION_REASONS,
    max_attempts: int = MAX_ATTEMPTS,
) -> list[dict]:
    """Approve, reject or defer candidates, all or none: one refused candidate (a
    UsageError) or one changed since the version given with its ref (a Conflict) changes
    nothing. ``reasons`` are the rejection reasons allowed. Returns the candidates as they
    now are."""
    if action not in DECISIONS:
        raise UsageError(f"unknown decision {action!r} (one of {', '.join(DECISIONS)})")
    if not refs:
        raise UsageError("name at least one candidate")
    values: dict[str, object] = {"changed_since_decision": 0}
    if action == "reject":
        if reason not in reasons:
            raise UsageError(
                f"a rejection needs a reason (--reason), one of: {', '.join(reasons)}"
                + (f" (not {reason!r})" if reason else "")
            )
    if action == "defer":
        if until is None:
            raise UsageError("a deferral needs the date to come back on (--until YYYY-MM-DD)")
        if until <= today_utc():
            raise UsageError(f"the deferral date {until.isoformat()} is not after today (UTC)")
        values["deferred_until"] = until.isoformat()
    elif until is not None:
        raise UsageError("--until goes with defer only")
    editor = by or default_editor()
    with write_transaction(db.conn):
        at = now()
        housekeep(db, at, max_attempts)
        ids = []
        for ref in refs:
            row, version = resolve(db.conn, ref)
            _check_version(row, version)
            if row["id"] in ids:
                raise UsageError(f"{ref}: candidate {row['id']} is named twice")
            apply(db.conn, row, action, by=editor, at=at, reason=reason, note=note, **values)
            ids.append(row["id"])
    return [view(sql.get(db.conn, candidate_id)) for candidate_id in ids]


@contextmanager
def _acting_on(
    db: sqlite_utils.Database, ref: str, max_attempts: int
) -> Iterator[tuple[dict, str]]:
    """One change to one candidate: a write transaction, the queue brought up to date, the
    candidate named by ``ref`` (refused as a Conflict if it changed since the version the
    ref carries), and the transaction's time."""
    with write_transaction(db.conn):
        at = now()
        housekeep(db, at, max_attempts)
        row, version = resolve(db.conn, ref)
        _check_version(row, version)
        yield row, at


def undo(
    db: sqlite_utils.Database,
    ref: str,
    *,
    by: str | None = None,
    note: str | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> dict:
    """Undo the latest decision on a candidate, if nothing happened to it since: it returns
    to the state before (approved, if the decision had revoked a lease). Audited as a
    transition of its own."""
    with _acting_on(db, ref, max_attempts) as (row, at):
        trail = sql.history(db.conn, [row["id"]])
        last = trail[-1] if trail else None
        if last is None or last["action"] not in DECISIONS or last["to_state"] != row["state"]:
            done = f"{last['action']}" if last else "nothing"
            raise UsageError(
                f"candidate {row['id']}: nothing to undo (its last transition was {done})"
            )
        previous = last["from_state"]
        # The revoked lease is gone; its worker's token is refused.
        back = "approved" if previous == "leased" else previous
        apply(db.conn, row, "undo", by=by or default_editor(), at=at, to=back, note=note,
              reason=f"undo {last['action']}")  # fmt: skip
        return view(sql.get(db.conn, row["id"]))


def retry(
    db: sqlite_utils.Database, ref: str, *, by: str | None = None, max_attempts: int = MAX_ATTEMPTS
) -> dict:
    """A dead candidate goes back to approved with its attempts reset."""
    return _dead_end(db, ref, "retry", by, max_attempts, attempts=0)


def discard(
    db: sqlite_utils.Database, ref: str, *, by: str | None = None, max_attempts: int = MAX_ATTEMPTS
) -> dict:
    """A dead candidate is given up for good."""
    return _dead_end(db, ref, "discard", by, max_attempts)


def _dead_end(
    db: sqlite_utils.Database,
    ref: str,
    action: str,
    by: str | None,
    max_attempts: int,
    **values: object,
) -> dict:
    with _acting_on(db, ref, max_attempts) as (row, at):
        apply(db.conn, row, action, by=by or default_editor(), at=at, **values)
        return view(sql.get(db.conn, row["id"]))


def add_note(
    db: sqlite_utils.Database,
    ref: str,
    note: str,
    *,
    by: str | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> dict:
    """An editor's note on a candidate, in whatever state it is; kept in its trail."""
    if not note.strip():
        raise UsageError("the note is empty")
    with _acting_on(db, ref, max_attempts) as (row, at):
        apply(db.conn, row, "note", by=by or default_editor(), at=at, note=note.strip())
        return view(sql.get(db.conn, row["id"]))


def ack_takedown(
    db: sqlite_utils.Database,
    ref: str,
    *,
    by: str | None = None,
    note: str | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> dict:
    """Record that the published piece of a withdrawn candidate was taken down."""
    with _acting_on(db, ref, max_attempts) as (row, at):
        if row["state"] == "withdrawn" and not row["was_published"]:
            raise UsageError(f"candidate {row['id']}: it was never published")
        apply(db.conn, row, "ack_takedown", by=by or default_editor(), at=at, note=note)
        return view(sql.get(db.conn, row["id"]))
