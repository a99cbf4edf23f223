"""How a summarizer reaches the queue: one small interface (claim, done, fail, extend) over
the Python API of :mod:`litmon.review` (same host, same database file) or over the HTTP API
of a ``litmon serve`` on another host. The worker cannot tell them apart."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

import requests
import sqlite_utils

from litmon import review
from litmon.core.errors import Conflict, NotFound, SourceError, UsageError
from litmon.core.version import user_agent
from litmon.review.guards import GuardSettings

__all__ = ["HandOff", "HttpHandOff", "LocalHandOff", "draft_text"]


class HandOff(Protocol):
    """The hand-off as a worker sees it. A claim returns the packet with its
    ``lease_token`` (None: nothing is waiting); a token that is no longer the lease's is a
    :class:`~litmon.core.errors.Conflict`."""

    where: str  # the database file or API URL, for messages

    def claim(self, worker: str, lease_seconds: float) -> dict | None: ...

    def done(self, candidate_id: int, token: str, draft: Mapping[str, str]) -> dict: ...

    def fail(self, candidate_id: int, token: str, reason: str) -> dict: ...

    def extend(self, candidate_id: int, token: str, seconds: float) -> dict: ...


def draft_text(draft: Mapping[str, str]) -> str:
    """A draft as ``done`` takes it: the JSON object of its four parts."""
    return json.dumps(dict(draft), ensure_ascii=False)


class LocalHandOff:
    """The hand-off through :mod:`litmon.review`, on a database this process opens."""

    def __init__(
        self,
        db: sqlite_utils.Database,
        *,
        guards: GuardSettings | None = None,
        max_attempts: int = review.MAX_ATTEMPTS,
    ) -> None:
        self._db = db
        self._guards = guards
        self._max_attempts = max_attempts
        self.where = str(db.conn.execute("PRAGMA database_list").fetchone()[2])

    def claim(self, worker: str, lease_seconds: float) -> dict | None:
        return review.claim(self._db, worker, lease_seconds, max_attempts=self._max_attempts)

    def done(self, candidate_id: int, token: str, draft: Mapping[str, str]) -> dict:
        return review.done(self._db, candidate_id, token, draft_text(draft), guards=self._guards,
                           max_attempts=self._max_attempts)  # fmt: skip

    def fail(self, candidate_id: int, token: str, reason: str) -> dict:
        return review.fail(self._db, candidate_id, token, reason, max_attempts=self._max_attempts)

    def extend(self, candidate_id: int, token: str, seconds: float) -> dict:
        return review.extend(self._db, candidate_id, token, seconds)


class HttpHandOff:
    """The hand-off through ``/api`` of a ``litmon serve`` (a worker token, ``litmon tokens
    create NAME``, as the bearer). Refusals come back as the same exceptions the Python API
    raises: 409 a Conflict, 404 NotFound, other 4xx a UsageError; a server that cannot be
    reached or answers 5xx is a SourceError naming the URL."""

    def __init__(self, url: str, token: str, *, timeout: float = 30.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise UsageError(f"--api {url!r}: must be the http(s) URL of a litmon serve")
        if not token:
            raise UsageError(
                "LITMON_API_TOKEN is not set: a worker token of the server is needed"
                " (litmon tokens create NAME, on the server)"
            )
        self.where = url.rstrip("/")
        self._timeout = timeout
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {token}"
        self._session.headers["User-Agent"] = user_agent()

    def claim(self, worker: str, lease_seconds: float) -> dict | None:
        return self._post("/api/claim", {"worker": worker, "lease_seconds": lease_seconds})

    def done(self, candidate_id: int, token: str, draft: Mapping[str, str]) -> dict:
        body = {"token": token, "summary": draft_text(draft)}
        return self._post(f"/api/candidates/{candidate_id}/done", body) or {}

    def fail(self, candidate_id: int, token: str, reason: str) -> dict:
        body = {"token": token, "error": reason}
        return self._post(f"/api/candidates/{candidate_id}/fail", body) or {}

    def extend(self, candidate_id: int, token: str, seconds: float) -> dict:
        body = {"token": token, "lease_seconds": seconds}
        return self._post(f"/api/candidates/{candidate_id}/extend", body) or {}

    def _post(self, path: str, body: dict[str, Any]) -> dict | None:
        url = self.where + path
        try:
            answer = self._session.post(url, json=body, timeout=self._timeout)
        except requests.RequestException as exc:
            raise SourceError(f"{url}: no answer: {type(exc).__name__}") from None
        if answer.status_code == 204:
            return None
        if answer.ok:
            return answer.json()
        detail = _detail(answer)
        refused = answer.status_code == 422 and path.endswith("/done")
        if refused and "checks" in (body := _json(answer)):
            # the server's guards refused the draft and failed the lease, as review.done does
            return {"accepted": False, "reason": detail, "state": body.get("state"),
                    "checks": body["checks"]}  # fmt: skip
        if answer.status_code == 409:
            raise Conflict(detail)
        if answer.status_code == 404:
            raise NotFound(f"{url}: {detail}")
        if answer.status_code in (401, 403):
            raise UsageError(
                f"{url}: the server refused the token (HTTP {answer.status_code}: {detail});"
                " LITMON_API_TOKEN must be a live worker token of that server"
            )
        if answer.status_code < 500:
            raise UsageError(f"{url}: HTTP {answer.status_code}: {detail}")
        raise SourceError(f"{url}: HTTP {answer.status_code}: {detail}")

    def close(self) -> None:
        self._session.close()


def _json(answer: requests.Response) -> dict:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _detail(answer: requests.Response) -> str:
    detail = _json(answer).get("detail")
    text = detail if isinstance(detail, str) else json.dumps(detail) if detail else answer.reason
    return " ".join(str(text).split())[:300]
