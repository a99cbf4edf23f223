"""Who is asking: an editor's session cookie (with a CSRF token on every change) or a
worker's bearer token; the headers that keep feed text from ever running as script; and
the gates every request passes before any of that (its Host, its body's size)."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from litmon.web import auth
from litmon.web.access_log import note_identity
from litmon.web.auth import Session

SESSION_COOKIE = "litmon_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

# No inline script or style at all: an injected <script> or onerror= could not run even
# if it ever escaped the templates' escaping.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


# The largest request body read (FastAPI's max_body_size): a summary (200,000 characters,
# up to 4 bytes each in UTF-8) with room to spare; anything larger is refused with 413 by
# its Content-Length, or as it streams past the limit, before it is parsed or its sender
# is looked up.
MAX_BODY = 2 * 1024 * 1024


class SignInNeeded(Exception):
    """A page was asked for without a session: the app redirects to the sign-in form."""


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if request.url.path != "/health" and not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response


def current_session(request: Request) -> Session | None:
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    return auth.session_user(request.state.db, session_id)


def editor(request: Request) -> Session:
    """The signed-in editor of a page request (else off to the sign-in form)."""
    session = current_session(request)
    if session is None:
        raise SignInNeeded
    note_identity(request.scope, session.name)
    return session


def check_csrf(request: Request, session: Session, submitted: str | None) -> None:
    """A change from a cookie session must carry the session's CSRF token (a form field or
    the X-CSRF-Token header) and, when the browser says where it comes from, come from
    this site."""
    same_origin(request)
    token = submitted or request.headers.get(CSRF_HEADER) or ""
    if not secrets.compare_digest(token.encode(), session.csrf.encode()):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")


def same_origin(request: Request) -> None:
    """Refuse a form posted from another site, when the browser says where it comes from
    (sign-in too: a forged sign-in would record a victim's decisions under another name)."""
    origin = request.headers.get("origin")
    if origin and (origin == "null" or urlsplit(origin).netloc != request.url.netloc):
        raise HTTPException(403, "cross-site request refused")


def worker(request: Request) -> dict:
    """The bearer token of a hand-off request (name, scope)."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise HTTPException(401, "a bearer token is needed", headers={"WWW-Authenticate": "Bearer"})
    token = auth.token_for(request.state.db, secret.strip())
    if token is None or token["scope"] != auth.HANDOFF:
        raise HTTPException(
            401,
            "unknown or revoked token",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    note_identity(request.scope, token["name"])
    return token


def reader(request: Request) -> str:
    """Who may read the queue through the API: a worker's token or an editor's session.
    Returns the name."""
    if request.headers.get("authorization"):
        return worker(request)["name"]
    session = current_session(request)
    if session is None:
        raise HTTPException(
            401, "sign in or send a bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    note_identity(request.scope, session.name)
    return session.name


def _refuse(scope: Scope, status: int, detail: str) -> Response:
    if scope["path"].startswith("/api/"):
        return JSONResponse({"detail": detail}, status_code=status)
    return PlainTextResponse(detail, status_code=status)


class AllowedHosts:
    """Answer only requests addressed to one of ``hosts`` (400 otherwise): a page that a
    rebound DNS name points at this service gets nothing. ``*`` allows any. (Starlette's
    TrustedHostMiddleware cannot read a bracketed IPv6 Host such as ``[::1]:8080``.)"""

    def __init__(self, app: ASGIApp, hosts: Iterable[str]) -> None:
        self.app = app
        self.hosts = {host.strip("[]").lower() for host in hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "*" in self.hosts:
            return await self.app(scope, receive, send)
        header = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        try:
            name = urlsplit(f"//{header}").hostname or ""
        except ValueError:
            name = ""
        if name.lower() not in self.hosts:
            wrong = "this service does not answer to that Host name"
            return await _refuse(scope, 400, wrong)(scope, receive, send)
        await self.app(scope, receive, send)
