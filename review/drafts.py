"""Drafts and their review: what a summarizer handed in, editors' edits (each a new
version, re-checked by the guards), publishing one version, and sending a draft back.

Nothing reaches the public list without an editor: a candidate is ``published`` only by
:func:`publish`, and only a draft with the four parts can be published (free text is
edited into them first). A draft whose checks failed is published only with ``force``:
editors are the authority, and the trail records that they overrode the guards.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import asdict

import sqlite_utils

from litmon.core.errors import Conflict, UsageError
from litmon.db import candidates as sql
from litmon.db import drafts as dsql
from litmon.review.guards import PARTS, Check, GuardSettings, check_draft, failed, parse_parts
from litmon.review.packet import build_packet
from litmon.review.queue import MAX_ATTEMPTS, _acting_on, apply, refresh, view
from litmon.review.states import target

__all__ = [
    "LABELS",
    "awaiting",
    "drafts_of",
    "edit",
    "failure_reason",
    "hand_in",
    "latest_draft",
    "parts_from_text",
    "publish",
    "published_pieces",
    "render",
    "send_back",
    "unpublish",
]

# The four parts as a reader sees them headed.
LABELS = {
    "finding": "The finding",
    "what_was_done": "What the researchers did and found",
    "why_it_matters": "Why it matters to people with MS",
    "limits": "Limits of the study",
}


def render(parts: Mapping[str, str]) -> str:
    """The four parts as one plain text, each under its heading."""
    return "\n\n".join(f"{LABELS[part]}\n{parts[part].strip()}" for part in PARTS)


def parts_from_text(text: str) -> dict[str, str]:
    """The four parts from text as :func:`render` writes it (each part under its heading,
    or under its key, optionally as "# heading" or "key:"), or from a JSON object with
    their keys: what an editor's file for ``drafts edit`` holds. A heading missing is a
    UsageError naming it."""
    if text.lstrip().startswith("{"):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"not a JSON object: {exc}") from None
        if not isinstance(value, dict):
            raise UsageError("not a JSON object with the four parts")
        return value
    headings = {label.lower(): part for part, label in LABELS.items()}
    headings |= {part: part for part in PARTS} | {part.replace("_", " "): part for part in PARTS}
    found: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        key = line.strip().lstrip("#").strip().rstrip(":").strip().lower()
        if key in headings:
            current = headings[key]
            found[current] = []
        elif current is not None:
            found[current].append(line)
    missing = [LABELS[part] for part in PARTS if part not in found]
    if missing:
        raise UsageError(f"no heading for: {', '.join(missing)} (each on a line of its own)")
    return {part: "\n".join(found[part]).strip() for part in PARTS}


def latest_draft(conn: sqlite3.Connection, candidate_id: int) -> dict | None:
    """The newest version of a candidate's draft (None when none was written)."""
    return dsql.view(dsql.latest(conn, candidate_id))


def drafts_of(conn: sqlite3.Connection, candidate_id: int) -> list[dict]:
    """Every version of a candidate's draft, oldest first."""
    return [dsql.view(row) for row in dsql.of(conn, candidate_id)]  # type: ignore[misc]


def _checks(checks: list[Check]) -> list[dict]:
    return [asdict(check) for check in checks]


def _explain(checks: list[Check]) -> str:
    return "; ".join(f"{check.name}: {check.reason}" for check in failed(checks))


def hand_in(
    conn: sqlite3.Connection,
    row: dict,
    text: str,
    *,
    by: str,
    at: str,
    settings: GuardSettings | None = None,
) -> tuple[dict | None, list[Check]]:
    """Inside a write transaction: a worker's hand-in for the leased candidate ``row``. The
    four parts (a JSON object with their keys) go through the guards: passing, they are
    stored as a checked draft; failing, nothing is stored and the failed checks come back
    (the caller fails the lease). Free text is stored as received, unchecked."""
    parts = parse_parts(text)
    if parts is None:
        draft = dsql.insert(conn, row["id"], parts=None, text=text, checks=[], by=by,
                            origin="worker", at=at)  # fmt: skip
        return dsql.view(draft), []
    checks = check_draft(parts, build_packet(conn, row["id"]), settings)
    if failed(checks):
        return None, checks
    draft = dsql.insert(conn, row["id"], parts=parts, text=render(parts), checks=_checks(checks),
                        by=by, origin="worker", at=at)  # fmt: skip
    return dsql.view(draft), checks


def failure_reason(checks: list[Check]) -> str:
    """The one-line reason a candidate is failed with when its draft fails the guards."""
    return f"the draft failed its checks: {_explain(checks)}"


def _latest_of(conn: sqlite3.Connection, row: dict, seen: int | None) -> dict:
    """The candidate's latest draft, refused as a Conflict when it is not the version the
    editor saw (``seen``; None: whatever is latest)."""
    draft = dsql.latest(conn, row["id"])
    if draft is None:
        raise UsageError(f"candidate {row['id']}: no draft of it was written")
    if seen is not None and seen != draft["version"]:
        raise Conflict(
            f"candidate {row['id']}: its draft is at version {draft['version']}, not the"
            f" version {seen} you saw"
        )
    return draft


def publish(
    db: sqlite_utils.Database,
    candidate_id: int,
    by: str,
    version: int | None = None,
    *,
    force: bool = False,
    max_attempts: int = MAX_ATTEMPTS,
) -> dict:
    """Publish the latest draft of a summarized candidate (``version``: the draft version
    the editor reviewed; a newer one is a Conflict). Free text must be edited into the four
    parts first; a draft whose checks failed needs ``force``, and the trail says so."""
    with _acting_on(db, str(candidate_id), max_attempts) as (row, at):
        target("publish", row["state"])
        draft = dsql.view(_latest_of(db.conn, row, version))
        assert draft is not None
        if not draft["checked"]:
            raise UsageError(
                f"candidate {row['id']}: draft v{draft['version']} is free text, unchecked:"
                " edit it into the four parts first"
            )
        reason = f"draft v{draft['version']}"
        if draft["failed"]:
            if not force:
                raise UsageError(
                    f"candidate {row['id']}: draft v{draft['version']} failed its checks"
                    f" ({', '.join(draft['failed'])}): edit it, or publish with --force"
                )
            reason += f", published over failed checks ({', '.join(draft['failed'])})"
        dsql.publish(db.conn, row["id"], draft["id"], by=by, at=at)
        apply(db.conn, row, "publish", by=by, at=at, reason=reason)
        return view(sql.get(db.conn, row["id"])) | {
            "draft": draft,
            "publication": dsql.publication(db.conn, row["id"]),
        }


def edit(
    db: sqlite_utils.Database,
    candidate_id: int,
    parts: Mapping[str, str],
    by: str,
    *,
    version: int | None = None,
    settings: GuardSettings | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> dict:
    """An editor's new version of a summarized candidate's draft: the four parts, checked by
    the guards and stored whatever they say (the failed checks are shown, and publishing
    it then needs ``force``). The same parts as the latest version change nothing.
    ``version``: the draft version the editor edited; a newer one is a Conflict."""
    missing = [part for part in PARTS if not isinstance(parts.get(part), str)]
    if missing:
        raise UsageError(f"an edit gives all four parts as text; missing: {', '.join(missing)}")
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        raise UsageError(
            f"an edit gives the four parts only ({', '.join(PARTS)}), not {', '.join(unknown)}"
        )
    parts = {part: parts[part].strip() for part in PARTS}
    with _acting_on(db, str(candidate_id), max_attempts) as (row, at):
        target("edit", row["state"])
        latest = _latest_of(db.conn, row, version)
        if latest["checked"] and all(latest[part] == parts[part] for part in PARTS):
            return dsql.view(latest) | {"unchanged": True}  # type: ignore[operator]
        checks = check_draft(parts, build_packet(db.conn, row["id"]), settings)
        draft = dsql.insert(db.conn, row["id"], parts=parts, text=render(parts),
                            checks=_checks(checks), by=by, origin="editor", at=at)  # fmt: skip
        reason = f"draft v{draft['version']}"
        if failed(checks):
            reason += f", failed checks: {', '.join(check.name for check in failed(checks))}"
        apply(db.conn, row, "edit", by=by, at=at, reason=reason)
        return dsql.view(draft) | {"unchanged": False}  # type: ignore[operator]


def send_back(
    db: sqlite_utils.Database,
    candidate_id: int,
    note: str,
    by: str,
    *,
    version: int | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> dict:
    """Return a summarized candidate to the summarizers (approved, attempts reset) with a
    note; the next worker's packet carries the note and the draft it replaces.
    ``version``: the draft version the editor read; a newer one is a Conflict."""
    if not note or not note.strip():
        raise UsageError("sending a draft back needs a note saying what to change (--note)")
    with _acting_on(db, str(candidate_id), max_attempts) as (row, at):
        target("send_back", row["state"])
        draft = _latest_of(db.conn, row, version)
        apply(db.conn, row, "send_back", by=by, at=at, reason=f"draft v{draft['version']}",
              note=note.strip(), attempts=0)  # fmt: skip
        return view(sql.get(db.conn, row["id"]))


def unpublish(
    db: sqlite_utils.Database,
    candidate_id: int,
    by: str,
    *,
    note: str | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> dict:
    """Take a published piece back to review (to be edited and published again): the next
    ``litmon publish`` takes its page down."""
    with _acting_on(db, str(candidate_id), max_attempts) as (row, at):
        apply(db.conn, row, "unpublish", by=by, at=at, note=note)
        return view(sql.get(db.conn, row["id"]))


def awaiting(
    db: sqlite_utils.Database, *, limit: int = 500, max_attempts: int = MAX_ATTEMPTS
) -> list[dict]:
    """Drafts awaiting review (summarized candidates), longest waiting first, each with its
    latest draft's version, whether it was checked and which checks failed."""
    refresh(db, max_attempts)
    items = []
    for row in dsql.awaiting(db.conn, limit):
        draft = latest_draft(db.conn, row["id"])
        items.append(row | {"draft": draft})
    return items


def published_pieces(conn: sqlite3.Connection) -> list[dict]:
    """Every piece ever published, newest first: the candidate, its work, the published
    draft's four parts, when and by whom, the work's citation and topics, and whether it is
    ``listed`` now (still published; the work neither withdrawn, retracted nor deleted;
    the candidate not merged into another).
    A piece not listed was taken down or is to be."""
    pieces = []
    for row in dsql.pieces(conn):
        pieces.append(
            {
                "candidate_id": row["candidate_id"],
                "work_id": row["work_id"],
                "draft_version": row["draft_version"],
                "parts": {part: row[part] for part in PARTS},
                "published_at": row["published_at"],
                "published_by": row["published_by"],
                "title": row["title"],
                "journal": row["journal"],
                "date": row["pub_date"],
                "pmid": row["pmid"],
                "doi": row["doi"],
                "links": {
                    "pubmed": f"https://pubmed.ncbi.nlm.nih.gov/{row['pmid']}/"
                    if row["pmid"]
                    else None,
                    "doi": f"https://doi.org/{row['doi']}" if row["doi"] else None,
                },
                "topics": [item["topic"] for item in json.loads(row["topics"])],
                "state": row["state"],
                "withdrawn": row["state"] == "withdrawn",
                "retracted": bool(row["retracted"]),
                "deleted": row["deleted_at"] is not None,
                # merged into another candidate (its work merged into another work): the
                # surviving candidate's piece stands for both
                "merged": row["merged_into"] is not None,
                "listed": row["state"] == "published"
                and not row["retracted"]
                and row["deleted_at"] is None
                and row["merged_into"] is None,
            }
        )
    return pieces
