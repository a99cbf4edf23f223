"""The queue's JSON API for summarizer workers: claim, done, fail, extend, lookups and the
listing, over the same functions as ``litmon queue`` (no second copy of their rules)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, Field, field_validator

from litmon import review
from litmon.core.text import clean
from litmon.review.states import STATES
from litmon.web.security import reader, worker

router = APIRouter(prefix="/api", tags=["hand-off"])

State = Literal[STATES]  # type: ignore[valid-type]
_SURROGATE = re.compile("[\ud800-\udfff]")
_ROWID = 2**63 - 1  # SQLite's largest integer
CandidateId = Annotated[int, Path(ge=1, le=_ROWID, description="The candidate's id.")]

_Lease = Annotated[
    float, Field(ge=1, le=86_400, allow_inf_nan=False, description="Seconds the lease lasts.")
]


def _cleaned(text: str, lines: bool = False) -> str:
    """Text a client sends, without its control characters, before anything stores it."""
    text = clean(text, lines=lines)
    if not text.strip():
        raise ValueError("nothing left once control characters are removed")
    return text


_Line = AfterValidator(_cleaned)
_Lines = AfterValidator(lambda text: _cleaned(text, lines=True))


class _Body(BaseModel):
    """A JSON body: its text must be storable (a lone surrogate, legal in JSON's
    ``\\ud800``, is not Unicode text and cannot be written to the database)."""

    @field_validator("*", mode="after")
    @classmethod
    def _whole_characters(cls, value: object) -> object:
        if isinstance(value, str) and _SURROGATE.search(value):
            raise ValueError("text with a lone surrogate (\\ud800-\\udfff) is not Unicode")
        return value


class ClaimBody(_Body):
    worker: Annotated[
        str,
        Field(
            min_length=1,
            max_length=200,
            description="A label for the worker (a process, a host), kept in the trail beside"
            " the token's name, which is who claims.",
        ),
        _Line,
    ]
    lease_seconds: _Lease | None = None


class DoneBody(_Body):
    token: Annotated[str, Field(min_length=1, max_length=200)]
    summary: Annotated[str, Field(min_length=1, max_length=200_000), _Lines]


class FailBody(_Body):
    token: Annotated[str, Field(min_length=1, max_length=200)]
    error: Annotated[str, Field(min_length=1, max_length=10_000), _Lines]


class ExtendBody(_Body):
    token: Annotated[str, Field(min_length=1, max_length=200)]
    lease_seconds: _Lease | None = None


class Problem(BaseModel):
    detail: str


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The request cannot be carried out as asked."},
    401: {"model": Problem, "description": "No valid bearer token."},
    404: {"model": Problem, "description": "No such candidate."},
    409: {"model": Problem, "description": "Wrong or expired lease token, or a changed state."},
}


def _queue(request: Request) -> Any:
    return request.app.state.queue_settings


@router.post(
    "/claim",
    responses={204: {"description": "Nothing approved is waiting."}, **_ERRORS},
    summary="Lease the best-ranked approved candidate and get its packet",
)
def claim(
    body: ClaimBody, request: Request, token: Annotated[dict, Depends(worker)]
) -> dict[str, Any]:
    settings = _queue(request)
    packet = review.claim(
        request.state.db,
        token["name"],  # who claims is the token; the name in the body is only a label
        body.lease_seconds or settings.lease_seconds,
        label=body.worker,
        max_attempts=settings.max_attempts,
    )
    if packet is None:
        return Response(status_code=204)  # type: ignore[return-value]
    return packet


class Rejected(BaseModel):
    detail: str
    state: str
    checks: list[dict[str, Any]]


@router.post(
    "/candidates/{candidate_id}/done",
    responses={
        **_ERRORS,
        422: {
            "model": Rejected,
            "description": "The four parts failed the guards: the lease failed with the failed"
            " checks as its reason (nothing stored; the candidate is approved again, or dead).",
        },
    },
    summary="Hand in the draft",
)
def done(
    candidate_id: CandidateId,
    body: DoneBody,
    request: Request,
    token: Annotated[dict, Depends(worker)],
) -> dict[str, Any]:
    """The draft: a JSON object with the four parts (``finding``, ``what_was_done``,
    ``why_it_matters``, ``limits``) as a string, checked by the guards; or free text,
    stored unchecked. The draft is recorded as written by the token's name."""
    settings = _queue(request)
    outcome = review.done(request.state.db, candidate_id, body.token, body.summary,
                          by=token["name"], guards=settings.guards,
                          max_attempts=settings.max_attempts)  # fmt: skip
    if not outcome["accepted"]:
        detail = f"candidate {candidate_id}: {outcome['reason']}; it is {outcome['state']} now"
        content = {"detail": detail, "state": outcome["state"], "checks": outcome["checks"]}
        return JSONResponse(status_code=422, content=content)  # type: ignore[return-value]
    return outcome


@router.post("/candidates/{candidate_id}/fail", responses=_ERRORS, summary="Give the lease back")
def fail(
    candidate_id: CandidateId,
    body: FailBody,
    request: Request,
    token: Annotated[dict, Depends(worker)],
) -> dict[str, Any]:
    settings = _queue(request)
    return review.fail(
        request.state.db,
        candidate_id,
        body.token,
        body.error,
        by=token["name"],
        max_attempts=settings.max_attempts,
    )


@router.post("/candidates/{candidate_id}/extend", responses=_ERRORS, summary="Extend the lease")
def extend(
    candidate_id: CandidateId,
    body: ExtendBody,
    request: Request,
    token: Annotated[dict, Depends(worker)],
) -> dict[str, Any]:
    seconds = body.lease_seconds or _queue(request).lease_seconds
    return review.extend(request.state.db, candidate_id, body.token, seconds)


@router.get("/candidates/{candidate_id}", responses=_ERRORS, summary="One candidate, whole")
def candidate(
    candidate_id: CandidateId, request: Request, who: Annotated[str, Depends(reader)]
) -> dict[str, Any]:
    return review.show(
        request.state.db, str(candidate_id), max_attempts=_queue(request).max_attempts
    )


@router.get("/candidates", responses=_ERRORS, summary="The ranked queue, a page at a time")
def candidates(
    request: Request,
    who: Annotated[str, Depends(reader)],
    state: State | None = None,
    topic: Annotated[str | None, Query(max_length=200)] = None,
    min_score: float | None = None,
    q: Annotated[str | None, Query(max_length=500, description="Search words.")] = None,
    after_score: float | None = None,
    after_id: Annotated[int | None, Query(ge=0, le=_ROWID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    after = (after_score, after_id) if after_score is not None and after_id is not None else None
    page = review.list_candidates(
        request.state.db,
        state=state,
        topic=topic,
        min_score=min_score,
        search=q,
        after=after,
        limit=limit,
        max_attempts=_queue(request).max_attempts,
    )
    following = None
    if page.next_after is not None:
        following = {"after_score": page.next_after[0], "after_id": page.next_after[1]}
    return {"items": page.items, "next": following}
