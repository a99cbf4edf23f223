"""The summarizer hand-off, with SQS-like leases: a worker claims the best-ranked approved
candidate for a while, then reports done (with its summary) or failed, presenting the
lease token; a token that is wrong, revoked or expired changes nothing (a Conflict)."""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import asdict
from datetime import timedelta

import sqlite_utils

from litmon.core.clock import now, parse_stamp, stamp
from litmon.core.errors import Conflict, NotFound, UsageError
from litmon.db import candidates as sql
from litmon.db.transactions import write_transaction
from litmon.review.drafts import failure_reason, hand_in
from litmon.review.guards import GuardSettings
from litmon.review.packet import build_packet
from litmon.review.queue import MAX_ATTEMPTS, apply, housekeep

DEFAULT_LEASE = 600  # seconds


def _later(at: str, seconds: float) -> str:
    return stamp(parse_stamp(at) + timedelta(seconds=seconds))


def _check_seconds(seconds: float) -> None:
    if not 1 <= seconds <= 86_400:
        raise UsageError(f"a lease lasts 1 to 86400 seconds, not {seconds}")


def claim(
    db: sqlite_utils.Database,
    worker: str,
    lease_seconds: float = DEFAULT_LEASE,
    *,
    label: str | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> dict | None:
    """Lease the best-ranked approved candidate whose work may be handed out (never a
    retracted or deleted one) to ``worker``, and return its summarization packet; None when
    nothing is waiting. Taken inside ``BEGIN IMMEDIATE``, so two workers never get the same.
    ``worker`` is who claims as far as anyone checked (the API: the token's name; it is
    recorded in the trail and holds the lease); ``label`` what the worker calls itself."""
    if not worker.strip():
        raise UsageError("a claim needs the worker's name")
    _check_seconds(lease_seconds)
    conn = db.conn
    with write_transaction(conn):
        at = now()
        housekeep(db, at, max_attempts)
        best = sql.best_approved(conn)
        if best is None:
            return None
        token = secrets.token_urlsafe(18)
        expires = _later(at, lease_seconds)
        row = sql.get(conn, best["id"])
        apply(conn, row, "claim", by=worker, at=at, label=label, lease_token=token,
              lease_expires=expires, leased_by=worker, attempts=row["attempts"] + 1)  # fmt: skip
    return build_packet(conn, best["id"]) | {"lease_token": token, "lease_expires": expires}


def _held(conn: sqlite3.Connection, candidate_id: int, token: str, at: str) -> dict:
    """The candidate, if ``token`` is its live lease; else a Conflict with its state."""
    row = sql.get(conn, candidate_id)
    if row is None:
        raise NotFound(f"{candidate_id}: no such candidate")
    if row["state"] != "leased" or row["lease_token"] != token:
        raise Conflict(
            f"candidate {candidate_id}: this lease token is not (or no longer) valid;"
            f" the candidate is {row['state']}"
            + (f", leased by {row['leased_by']}" if row["state"] == "leased" else "")
        )
    if row["lease_expires"] < at:
        raise Conflict(f"candidate {candidate_id}: the lease expired at {row['lease_expires']}")
    return row


def done(
    db: sqlite_utils.Database,
    candidate_id: int,
    token: str,
    summary: str,
    *,
    by: str | None = None,
    guards: GuardSettings | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> dict:
    """Hand in the draft: the four parts (a JSON object with their keys) pass the guards
    and are stored as a checked draft, or fail them and the lease fails with the failed
    checks as its reason (``accepted`` false; nothing stored); free text is stored as an
    unchecked draft. Either way stored, the candidate is summarized (awaiting review).
    ``by``: the authenticated identity (a token's name; default: the lease holder). A
    second done with the same token changes nothing and returns the same answer."""
    if not summary.strip():
        raise UsageError("the summary is empty")
    conn = db.conn
    with write_transaction(conn):
        at = now()
        stored = sql.summary_by_token(conn, token)
        if stored is not None and stored["candidate_id"] == candidate_id:
            return {"id": candidate_id, "state": "summarized", "repeated": True, "accepted": True}
        row = _held(conn, candidate_id, token, at)
        writer = by or row["leased_by"]
        draft, checks = hand_in(conn, row, summary, by=writer, at=at, settings=guards)
        checked = [asdict(check) for check in checks]
        if draft is None:
            action = "give_up" if row["attempts"] >= max_attempts else "fail"
            reason = failure_reason(checks)
            state = apply(conn, row, action, by=writer, at=at, reason=reason[:1000])
            return {"id": candidate_id, "state": state, "repeated": False, "accepted": False,
                    "reason": reason, "checks": checked}  # fmt: skip
        sql.insert_summary(conn, work_id=row["work_id"], candidate_id=candidate_id, token=token,
                           worker=row["leased_by"], summary=summary, at=at)  # fmt: skip
        kind = "checked" if draft["checked"] else "free text, unchecked"
        apply(conn, row, "done", by=writer, at=at,
              reason=f"draft v{draft['version']} ({kind})")  # fmt: skip
    return {"id": candidate_id, "state": "summarized", "repeated": False, "accepted": True,
            "draft": {"version": draft["version"], "checked": draft["checked"]},
            "checks": checked}  # fmt: skip


def fail(
    db: sqlite_utils.Database,
    candidate_id: int,
    token: str,
    error: str,
    *,
    by: str | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> dict:
    """The worker gave up: back to approved for another attempt, or dead after the last.
    ``by``: the authenticated identity (a token's name; default: the lease holder)."""
    if not error.strip():
        raise UsageError("say what failed (--error)")
    conn = db.conn
    with write_transaction(conn):
        at = now()
        row = _held(conn, candidate_id, token, at)
        action = "give_up" if row["attempts"] >= max_attempts else "fail"
        state = apply(conn, row, action, by=by or row["leased_by"], at=at,
                      reason=error.strip()[:500])  # fmt: skip
    return {"id": candidate_id, "state": state, "attempts": row["attempts"]}


def extend(
    db: sqlite_utils.Database, candidate_id: int, token: str, seconds: float = DEFAULT_LEASE
) -> dict:
    """Renew a live lease to ``seconds`` from now."""
    _check_seconds(seconds)
    conn = db.conn
    with write_transaction(conn):
        at = now()
        _held(conn, candidate_id, token, at)
        expires = _later(at, seconds)
        sql.set_lease_expiry(conn, candidate_id, expires)
    return {"id": candidate_id, "state": "leased", "lease_expires": expires}
