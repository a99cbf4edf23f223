"""The editors' pages: sign-in, the ranked queue, one candidate with its decisions, and the
ops panel. Server-rendered; every change is a POSTed form carrying the CSRF token."""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from litmon import review
from litmon.core.clock import today_utc
from litmon.core.errors import Conflict, NotFound, UsageError
from litmon.core.text import clean
from litmon.db import candidates as sql
from litmon.db import drafts as dsql
from litmon.db import merge, runs
from litmon.db.feed_state import feed_status
from litmon.review.queue import is_date_prefix, order_key, page_marker
from litmon.review.states import DECISIONS, STATES, TRANSITIONS
from litmon.web import auth
from litmon.web.api import CandidateId
from litmon.web.auth import Session, SignInRefused
from litmon.web.draft_view import draft_panel
from litmon.web.security import SESSION_COOKIE, check_csrf, editor, same_origin
from litmon.web.text import highlight, safe_url

router = APIRouter(include_in_schema=False)

_FILTERS = ("state", "topic", "min_score", "journal", "since", "until", "q", "order")
_ID = re.compile(r"[1-9][0-9]{0,18}")  # a candidate id as a form or a link writes it (ASCII)


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    templates = request.app.state.templates
    context.setdefault("session", None)
    return templates.TemplateResponse(request, name, context, status_code=status)


def _local(path: str | None, default: str = "/") -> str:
    """Only a path on this site (never //host or a scheme) as a place to go back to."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return default


# -- signing in ------------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return _render(request, "login.html", next=_local(next), error=None)


@router.post("/login")
def login(
    request: Request,
    name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    same_origin(request)
    client = request.client.host if request.client else "unknown"
    try:
        session_id, _ = auth.sign_in(request.state.db, name, password, client)
    except SignInRefused as exc:
        status = 429 if "too many" in str(exc) else 401
        return _render(request, "login.html", status, next=_local(next), error=str(exc))
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(auth.SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=request.app.state.secure_cookies or request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
def logout(
    request: Request,
    session: Annotated[Session, Depends(editor)],
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    check_csrf(request, session, csrf_token)
    auth.sign_out(request.state.db, request.cookies[SESSION_COOKIE])
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- the queue -------------------------------------------------------------------------------


def _filters(request: Request) -> dict[str, str]:
    """The queue filters of this request's query string (state defaults to new)."""
    params = request.query_params
    chosen = {key: params[key].strip() for key in _FILTERS if params.get(key, "").strip()}
    chosen.setdefault("state", "new")
    if chosen["state"] == "all":
        del chosen["state"]
    return chosen


def _criteria(filters: dict[str, str]) -> dict[str, Any]:
    """The filters as the queue's list and count take them (a UsageError naming the field
    at fault, never echoing it)."""
    for key in ("since", "until"):
        if key in filters and not is_date_prefix(filters[key]):
            raise UsageError(f"{key}: not a date like 2026, 2026-03 or 2026-03-31")
    min_score = None
    if "min_score" in filters:
        try:
            min_score = float(filters["min_score"])
        except ValueError:
            min_score = math.nan
        if not math.isfinite(min_score):
            raise UsageError("min score: not a number")
    state = filters.get("state")
    if state is not None and state not in STATES:
        raise UsageError("state: not one of the states listed")
    return {
        "state": state,
        "topic": filters.get("topic"),
        "min_score": min_score,
        "search": filters.get("q"),
        "journal": filters.get("journal"),
        "published": (filters.get("since"), filters.get("until")),
    }


# The orders the queue page offers, in the order its menu lists them (each one of
# db/candidates.ORDERS); the default first.
ORDERS = (
    ("rank", "best first"),
    ("date", "newest first"),
    ("journal", "journal A–Z"),
    ("uncertain", "the model least sure first"),
)


def _order(filters: dict[str, str]) -> str:
    order = filters.get("order", ORDERS[0][0])
    if order not in dict(ORDERS):
        raise UsageError("order: not one of the orders listed")
    return order


def _page(request: Request, filters: dict[str, str], **paging: Any) -> review.Page:
    _order(filters)
    return review.list_candidates(
        request.state.db,
        **_criteria(filters),
        order=filters.get("order", "rank"),
        max_attempts=request.app.state.queue_settings.max_attempts,
        **paging,
    )


@router.get("/")
def queue_page(
    request: Request,
    session: Annotated[Session, Depends(editor)],
    after: str | None = None,
    last: bool = False,
) -> Response:
    filters = _filters(request)
    try:
        marker = page_marker(after, _order(filters)) if after else None
        page = _page(request, filters, after=marker, from_end=last, limit=50)
        total, error = review.count_candidates(request.state.db, **_criteria(filters)), None
    except UsageError as exc:
        page, total, error = review.Page([], None), 0, str(exc)
    query = urlencode(filters)
    more = None
    if page.next_after is not None:
        key, ident = page.next_after
        following = f"{key if isinstance(key, str) else repr(key)},{ident}"
        more = f"/?{urlencode(filters | {'after': following} | ({'last': '1'} if last else {}))}"
    return _render(
        request,
        "queue.html",
        400 if error else 200,
        session=session,
        items=page.items,
        filters=filters,
        states=STATES,
        query=query,
        more=more,
        backwards=last,
        total=total,
        orders=ORDERS,
        progress=review.progress(request.state.db),
        reasons=request.app.state.queue_settings.reject_reasons,
        default_until=(today_utc() + timedelta(days=30)).isoformat(),
        **_done_notice(request),
        error=error or _refused_message(request, session),
        drafts_waiting=dsql.count_awaiting(request.state.db.conn),
    )


_REF = re.compile(r"[1-9][0-9]{0,18}@[0-9]{1,9}")  # ID@VERSION, as the queue page writes it


@router.post("/decisions")
def decisions(
    request: Request,
    session: Annotated[Session, Depends(editor)],
    action: Annotated[str, Form(max_length=20)],
    csrf_token: Annotated[str | None, Form()] = None,
    ref: Annotated[list[str] | None, Form(max_length=500)] = None,
    reason: Annotated[str | None, Form(max_length=200)] = None,
    until: Annotated[str | None, Form(max_length=20)] = None,
    query: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Several candidates of the queue page decided at once, all or none (as
    ``litmon review ID... approve``): each ``ref`` is ID@VERSION, the version the editor
    saw; one refused or changed meanwhile changes none, and the queue says why."""
    check_csrf(request, session, csrf_token)
    ref = ref or []
    if not all(_REF.fullmatch(one) for one in ref):
        raise UsageError("ref: not a candidate's ID@VERSION")
    settings = request.app.state.queue_settings
    back = f"/?{query}&" if _plain(query) else "/?"
    try:
        review.decide(
            request.state.db,
            ref,
            action,
            by=session.name,
            reason=(reason or None) if action == "reject" else None,
            until=_until(until) if action == "defer" else None,
            reasons=settings.reject_reasons,
            max_attempts=settings.max_attempts,
        )
    except (Conflict, UsageError) as exc:
        text = str(exc)[:300]
        return RedirectResponse(
            back + urlencode({"refused": text, "sig": _signature(session, text)}), 303
        )
    ids = ",".join(one.partition("@")[0] for one in ref)
    return RedirectResponse(back + urlencode({"did": action, "ids": ids}), 303)


_DONE = {
    "approve": "approved",
    "reject": "rejected",
    "defer": "deferred",
    "undo": "decision undone",
    "note": "note added",
    "merge": "works merged",
    "distinct": "works marked as different papers",
    "retry": "back in the queue, approved, its attempts reset",
    "discard": "discarded",
    "ack_takedown": "takedown of its summary recorded",
    "publish": "draft published",
    "edit": "draft saved as a new version, checked again",
    "send_back": "draft sent back to the summarizers",
    "unpublish": "taken back to review",
}


def _done_notice(request: Request) -> dict[str, Any]:
    """What the last POST did, from a fixed list (never text echoed from the URL), and,
    after a decision, the candidate it decided as it is now, to undo it from the notice
    (``undo_last``: its id and version, when its state can be undone)."""
    action = request.query_params.get("did")
    ident = request.query_params.get("id", "")
    several = request.query_params.get("ids", "").split(",")
    if action in DECISIONS and len(several) > 1 and all(map(_ID.fullmatch, several)):
        shown = ", ".join(several[:20]) + (" and more" if len(several) > 20 else "")
        return {"done": f"Candidates {shown}: {_DONE[action]}.", "undo_last": None}
    if action in DECISIONS and len(several) == 1 and _ID.fullmatch(several[0]):
        ident = several[0]
    if action not in _DONE or not _ID.fullmatch(ident):
        return {"done": None, "undo_last": None}
    undo_last = None
    if action in DECISIONS:
        row = sql.get(request.state.db.conn, int(ident))
        if row is not None and row["state"] in TRANSITIONS["undo"]:
            undo_last = {"id": row["id"], "version": row["version"]}
    return {"done": f"Candidate {ident}: {_DONE[action]}.", "undo_last": undo_last}


def _allowed(state: str, actions: tuple[str, ...] = (*DECISIONS, "undo", "note")) -> frozenset[str]:
    """The ``actions`` (an editor's; or an admin's) the transition table allows from
    ``state``: the page offers these and no others."""
    return frozenset(action for action in actions if state in TRANSITIONS[action])


def _signature(session: Session, text: str) -> str:
    return hmac.new(session.csrf.encode(), text.encode(), hashlib.sha256).hexdigest()[:32]


def _refused_message(request: Request, session: Session) -> str | None:
    """Why the last change was refused, carried by the redirect after it: shown only when
    signed with this session's secret (a link from elsewhere cannot put words here)."""
    text = request.query_params.get("refused", "")
    signature = request.query_params.get("sig", "")
    if not text or not hmac.compare_digest(signature, _signature(session, text)):
        return None
    return f"Not saved: {text}"


# -- one candidate ---------------------------------------------------------------------------


# where a matched term is in the text shown (not a MeSH heading or a publication type)
_TEXT_FIELDS = ("title", "abstract", "keywords")


def _spellings(request: Request, topics: list[dict]) -> set[str]:
    """The spellings of the terms that matched this work, to highlight them."""
    matched = {
        match["term"]
        for topic in topics
        for part in topic.get("explanation", [])
        for match in part.get("matches", [])
        if match.get("field") in _TEXT_FIELDS and part.get("points", 0) > 0
    }
    spellings = set(matched)
    for profile in request.app.state.profiles:
        for group in profile.groups:
            for term in group.terms:
                if term.name in matched:
                    spellings.update(term.variants)
    return spellings


def _neighbour(request: Request, filters: dict[str, str], row: dict) -> int | None:
    """The candidate after this one in the queue as filtered, for j / next."""
    try:
        marker = (order_key(row, _order(filters)), row["id"])
        page = _page(request, filters, after=marker, limit=1)
    except UsageError:
        return None
    return page.items[0]["id"] if page.items else None


def _candidate_context(request: Request, session: Session, candidate_id: int) -> dict[str, Any]:
    db = request.state.db
    settings = request.app.state.queue_settings
    shown = review.show(db, str(candidate_id), max_attempts=settings.max_attempts)
    packet = review.build_packet(db.conn, shown["id"])
    work = packet["work"]
    spellings = _spellings(request, packet["topics"])
    sections = [
        {"label": section["label"], "text": highlight(section["text"], spellings)}
        for section in work["abstract_sections"]
    ]
    sections, draft = draft_panel(db.conn, shown, packet, sections)
    links = {name: safe_url(url) for name, url in work["links"].items()}
    filters = _filters(request)
    duplicates = []
    for pair in shown["possible_duplicates"]:
        other = sql.work(db.conn, pair["work_id"])
        duplicates.append(pair | {"title": other["title"] if other else "(gone)"})
    return {
        "session": session,
        "candidate": shown,
        "work": work,
        "title": highlight(work["title"], spellings),
        "sections": sections,
        "links": links,
        "facts": packet["facts"],
        "topics": packet["topics"],
        "model": packet["model"],
        "sources": sql.sightings(db.conn, shown["work_id"]),
        "duplicates": duplicates,
        "reasons": settings.reject_reasons,
        "filters": filters,
        "query": urlencode(filters),
        "next_id": _neighbour(request, filters, shown),
        **_done_notice(request),
        "allowed": _allowed(shown["state"]),
        "admin_allowed": _allowed(shown["state"], tuple(_ADMIN_ACTIONS)),
        "error": _refused_message(request, session),
        "default_until": (today_utc() + timedelta(days=30)).isoformat(),
        "history": shown["history"],
        **draft,
    }


@router.get("/candidates/{candidate_id}")
def candidate_page(
    request: Request, candidate_id: CandidateId, session: Annotated[Session, Depends(editor)]
) -> Response:
    return _render(request, "candidate.html", **_candidate_context(request, session, candidate_id))


@router.post("/candidates/{candidate_id}/decision")
def decision(
    request: Request,
    candidate_id: CandidateId,
    session: Annotated[Session, Depends(editor)],
    action: Annotated[str, Form(max_length=20)],
    version: Annotated[int, Form()],
    csrf_token: Annotated[str | None, Form()] = None,
    reason: Annotated[str | None, Form(max_length=200)] = None,
    note: Annotated[str | None, Form(max_length=10_000)] = None,
    until: Annotated[str | None, Form(max_length=20)] = None,
    next_id: Annotated[str | None, Form(max_length=20)] = None,
    query: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    check_csrf(request, session, csrf_token)
    if next_id and not _ID.fullmatch(next_id):  # refused before anything is saved
        raise UsageError("next_id: not a candidate id")
    db = request.state.db
    settings = request.app.state.queue_settings
    ref = f"{candidate_id}@{version}"
    note = clean(note, lines=True).strip() or None if note else None

    def change() -> None:
        if action in ("approve", "reject", "defer"):
            review.decide(
                db,
                [ref],
                action,
                by=session.name,
                reason=reason or None,
                note=note,
                until=_until(until) if action == "defer" else None,
                reasons=settings.reject_reasons,
                max_attempts=settings.max_attempts,
            )
        elif action == "undo":
            review.undo(db, ref, by=session.name, note=note, max_attempts=settings.max_attempts)
        elif action == "note":
            review.add_note(
                db, ref, note or "", by=session.name, max_attempts=settings.max_attempts
            )
        else:
            raise UsageError(f"unknown action {action!r}")

    if (refused := _refused_change(request, session, candidate_id, change, query)) is not None:
        return refused
    # after a decision, on to the next candidate of the queue; after undo or a note, stay
    moving = action in ("approve", "reject", "defer") and next_id
    target = int(next_id) if moving else candidate_id
    params = f"did={action}&id={candidate_id}" + (f"&{query}" if _plain(query) else "")
    return RedirectResponse(f"/candidates/{target}?{params}", status_code=303)


def _plain(query: str) -> bool:
    """The queue filters passed through a form, as this page wrote them."""
    return bool(query) and re.fullmatch(r"[\w%.+=&~-]*", query) is not None


def _until(text: str | None) -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise UsageError("defer needs a date (YYYY-MM-DD)") from None


def _refused_change(
    request: Request,
    session: Session,
    candidate_id: int,
    change: Callable[[], object],
    query: str = "",
) -> Response | None:
    """Make ``change``; when the queue refuses it (it changed meanwhile, or the change
    cannot be made as asked), back to the candidate's own page (303), as it is now, with
    why: a reload then shows the page, never re-posts the form."""
    try:
        change()
    except (Conflict, UsageError) as exc:
        text = str(exc)[:300]
        params = urlencode({"refused": text, "sig": _signature(session, text)})
        filters = f"{query}&" if _plain(query) else ""  # the queue it was reached from
        return RedirectResponse(f"/candidates/{candidate_id}?{filters}{params}", 303)
    return None


def _done(candidate_id: int, action: str) -> Response:
    return RedirectResponse(f"/candidates/{candidate_id}?did={action}&id={candidate_id}", 303)


_ADMIN_ACTIONS = {
    "retry": review.retry,
    "discard": review.discard,
    "ack_takedown": review.ack_takedown,
}


@router.post("/candidates/{candidate_id}/admin")
def admin_action(
    request: Request,
    candidate_id: CandidateId,
    session: Annotated[Session, Depends(editor)],
    action: Annotated[str, Form(max_length=20)],
    version: Annotated[int, Form()],
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    """An admin's end of the queue: a dead letter retried or discarded, a withdrawn
    work's summary recorded as taken down."""
    check_csrf(request, session, csrf_token)
    if session.role != "admin":
        raise HTTPException(403, "only an admin may retry, discard or acknowledge a takedown")
    if action not in _ADMIN_ACTIONS:
        raise UsageError(f"unknown action {action!r}")
    ref = f"{candidate_id}@{version}"
    max_attempts = request.app.state.queue_settings.max_attempts

    def change() -> None:
        _ADMIN_ACTIONS[action](request.state.db, ref, by=session.name, max_attempts=max_attempts)

    return _refused_change(request, session, candidate_id, change) or _done(candidate_id, action)


@router.post("/candidates/{candidate_id}/duplicates/{other_id}")
def duplicates(
    request: Request,
    candidate_id: CandidateId,
    other_id: CandidateId,
    session: Annotated[Session, Depends(editor)],
    action: Annotated[str, Form(max_length=20)],
    csrf_token: Annotated[str | None, Form()] = None,
) -> Response:
    check_csrf(request, session, csrf_token)
    db = request.state.db
    row = sql.get(db.conn, candidate_id)
    if row is None:
        raise NotFound(f"{candidate_id}: no such candidate")

    def change() -> None:
        if action == "merge":
            merge.merge_works(db, row["work_id"], other_id, f"editor {session.name}")
        elif action == "distinct":
            merge.split_works(db, row["work_id"], other_id)
        else:
            raise UsageError(f"unknown action {action!r}")
        review.withdraw_gone(db)

    return _refused_change(request, session, candidate_id, change) or _done(candidate_id, action)


# -- ops -----------------------------------------------------------------------------------


@router.get("/ops")
def ops_page(request: Request, session: Annotated[Session, Depends(editor)]) -> Response:
    db = request.state.db
    recent = runs.recent_runs(db, 50)
    order = {"failed": 0, "abandoned": 1, "partial": 2, "running": 3}
    recent.sort(key=lambda row: (order.get(row["status"], 4), -row["id"]))
    feeds = sorted(feed_status(db), key=lambda row: -row["consecutive_failures"])
    figures = request.app.state.status(db) if request.app.state.status else None
    return _render(request, "ops.html", session=session, runs=recent, feeds=feeds, health=figures)
