"""One log line per request for ops: method, path, status, milliseconds, and who asked (the
editor's or the token's name, once authenticated). The query string is left out: a token or
a search may stand there, and the path says what was asked for."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["AccessLog", "note_identity"]

log = logging.getLogger("litmon.access")
log.setLevel(logging.INFO)  # served whatever -v/-q set for the rest: ops read these lines

_WHO = "litmon.who"


def note_identity(scope: Scope, name: str) -> None:
    """Record who an authenticated request came from, for its access line."""
    scope.setdefault("state", {})[_WHO] = name


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before it answers

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            _line(scope, status, (time.perf_counter() - started) * 1000)


def _line(scope: Scope, status: int, ms: float) -> None:
    fields: dict[str, Any] = {
        "event": "http_request",
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "ms": round(ms, 1),
        "user": scope.get("state", {}).get(_WHO),
    }
    log.info("%s %s %d", scope["method"], scope["path"], status, extra=fields)
