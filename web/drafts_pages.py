"""Drafts on the editors' pages: Publish / Edit / Send back (and Unpublish) from the
candidate page, CSRF like every form, and the list of drafts awaiting review."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.responses import Response

from litmon import review
from litmon.core.errors import UsageError
from litmon.core.text import clean
from litmon.web.api import CandidateId
from litmon.web.auth import Session
from litmon.web.pages import _done, _refused_change
from litmon.web.security import check_csrf, editor

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/drafts")
def drafts_page(request: Request, session: Annotated[Session, Depends(editor)]) -> Response:
    rows = review.awaiting(
        request.state.db, max_attempts=request.app.state.queue_settings.max_attempts
    )
    templates = request.app.state.templates
    return templates.TemplateResponse(request, "drafts.html", {"session": session, "rows": rows})


@router.post("/candidates/{candidate_id}/draft")
def draft_action(
    request: Request,
    candidate_id: CandidateId,
    session: Annotated[Session, Depends(editor)],
    action: Annotated[str, Form(max_length=20)],
    draft_version: Annotated[int, Form(ge=1, le=1_000_000)],
    csrf_token: Annotated[str | None, Form()] = None,
    force: Annotated[str | None, Form(max_length=5)] = None,
    note: Annotated[str | None, Form(max_length=10_000)] = None,
    finding: Annotated[str | None, Form(max_length=20_000)] = None,
    what_was_done: Annotated[str | None, Form(max_length=20_000)] = None,
    why_it_matters: Annotated[str | None, Form(max_length=20_000)] = None,
    limits: Annotated[str | None, Form(max_length=20_000)] = None,
) -> Response:
    """Publish, edit or send back the draft version the editor saw (a newer one: 409)."""
    check_csrf(request, session, csrf_token)
    db = request.state.db
    settings = request.app.state.queue_settings
    given = {"finding": finding, "what_was_done": what_was_done,
             "why_it_matters": why_it_matters, "limits": limits}  # fmt: skip

    def change() -> None:
        if action == "publish":
            review.publish(db, candidate_id, session.name, draft_version, force=force == "1",
                           max_attempts=settings.max_attempts)  # fmt: skip
        elif action == "edit":
            parts = {part: clean(value or "", lines=True) for part, value in given.items()}
            review.edit(db, candidate_id, parts, session.name, version=draft_version,
                        settings=settings.guards, max_attempts=settings.max_attempts)  # fmt: skip
        elif action == "send_back":
            text = clean(note or "", lines=True)
            review.send_back(db, candidate_id, text, session.name, version=draft_version,
                             max_attempts=settings.max_attempts)  # fmt: skip
        elif action == "unpublish":
            review.unpublish(db, candidate_id, session.name, max_attempts=settings.max_attempts)
        else:
            raise UsageError(f"unknown action {action!r}")

    refused = _refused_change(request, session, candidate_id, change)
    if refused is not None:
        return refused
    if action == "edit":
        return RedirectResponse(f"/candidates/{candidate_id}?did=edit&id={candidate_id}#draft", 303)
    return _done(candidate_id, action)
