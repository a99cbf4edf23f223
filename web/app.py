"""``litmon serve``'s application: the review pages and the hand-off API over one database,
a pool of SQLite connections (WAL: pages read while a crawl writes), and one way of
turning errors into answers: the status :mod:`litmon.core.errors` gives each."""

from __future__ import annotations

import queue
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import sqlite_utils
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from litmon.core.errors import LitmonError
from litmon.core.version import VERSION
from litmon.db.schema import BUSY_TIMEOUT, MIGRATIONS, connect, open_db
from litmon.db.storage import as_error
from litmon.db.transactions import write_problem
from litmon.review.settings import QueueSettings
from litmon.scoring.profile import Profile
from litmon.web import api, drafts_pages, pages, text
from litmon.web.access_log import AccessLog
from litmon.web.security import (
    MAX_BODY,
    AllowedHosts,
    SecurityHeaders,
    SignInNeeded,
    reader,
)

__all__ = ["create_app"]


@dataclass
class _Pool:
    """Connections to one database, each lent to one request at a time."""

    path: Path
    busy_timeout: float
    _idle: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)

    @contextmanager
    def connection(self) -> Iterator[sqlite_utils.Database]:
        try:
            db = self._idle.get_nowait()
        except queue.Empty:
            db = connect(self.path, busy_timeout=self.busy_timeout)
        try:
            yield db
        finally:
            if db.conn.in_transaction:  # never hand a half-done transaction to the next
                db.conn.rollback()
            self._idle.put(db)


class _Database(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        with request.app.state.pool.connection() as db:
            request.state.db = db
            return await call_next(request)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _answer(request: Request, status: int, detail: str) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": detail}, status_code=status)
    return request.app.state.templates.TemplateResponse(
        request, "error.html", {"session": None, "status": status, "detail": detail},
        status_code=status,
    )  # fmt: skip


def _error(request: Request, exc: Exception) -> Response:
    """An error of the table in :mod:`litmon.core.errors`, or a database error that
    :func:`~litmon.db.storage.as_error` words as one (a write lock held past the busy
    timeout, a full disk: 503 with Retry-After), answered with the table's status and its
    one line; any other database error is a bug (500)."""
    error = as_error(exc, None)
    if error is None:
        raise exc
    response = _answer(request, error.http_status, str(error))
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    response = _answer(request, exc.status_code, str(exc.detail))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


def _sign_in_first(request: Request, exc: Exception) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def _problems(exc: RequestValidationError) -> list[dict[str, object]]:
    """Where and what, never the input itself: it may be megabytes, or not even encodable
    (a NaN, a lone surrogate), and echoing it back is no help to anyone."""
    return [
        {
            "loc": [str(part) if not isinstance(part, int) else part for part in error["loc"]],
            "msg": str(error.get("msg", "invalid"))[:200],
            "type": str(error.get("type", "invalid"))[:50],
        }
        for error in exc.errors()[:10]
    ]


def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = _problems(exc) or [{"loc": [], "msg": "invalid request", "type": "invalid"}]
    if _is_api(request):
        return JSONResponse({"detail": problems}, status_code=422)
    first = problems[0]
    where = ".".join(str(part) for part in first["loc"][1:])
    return _answer(request, 400, f"{where}: {first['msg']}" if where else str(first["msg"]))


def _with_bearer(schema: dict) -> dict:
    """The description says how to authenticate: a bearer token (`litmon tokens create`)."""
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes["bearer"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "A worker token from `litmon tokens create NAME`.",
    }
    schema["security"] = [{"bearer": []}]
    return schema


def create_app(
    db_path: Path,
    *,
    queue_settings: QueueSettings | None = None,
    profiles: Sequence[Profile] = (),
    secure_cookies: bool = False,
    status: Callable[[sqlite_utils.Database], dict] | None = None,
    busy_timeout: float = BUSY_TIMEOUT,
    allowed_hosts: Sequence[str] = ("localhost", "127.0.0.1", "::1"),
    trusted_proxies: Sequence[str] = (),
) -> FastAPI:
    """The web application over the database at ``db_path`` (opened, and migrated, now).
    ``profiles`` give the spellings of matched terms to highlight; ``status`` the figures
    of ``litmon status`` for the ops panel (the shell knows the config they need);
    ``busy_timeout`` how long a request waits for another process's write lock before it
    answers 503. Requests must name one of ``allowed_hosts``; X-Forwarded-For and -Proto
    are believed only from ``trusted_proxies`` (the server itself must not apply them)."""
    open_db(db_path, busy_timeout=busy_timeout)
    app = FastAPI(
        title="litmon",
        version=VERSION,
        summary="The candidate queue: editors' review pages and the summarizers' hand-off API.",
        # the description is served below, to signed-in readers only; no Swagger UI (it
        # loads its script from a CDN, which the CSP refuses)
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        max_body_size=MAX_BODY,
    )
    folder = resources.files("litmon.web")
    app.state.templates = Jinja2Templates(directory=str(folder / "templates"))
    text.install(app.state.templates.env)
    app.state.pool = _Pool(Path(db_path), busy_timeout)
    app.state.queue_settings = queue_settings or QueueSettings()
    app.state.profiles = tuple(profiles)
    app.state.secure_cookies = secure_cookies
    app.state.status = status
    app.mount("/static", StaticFiles(directory=str(folder / "static")), name="static")
    # the last added runs first: proxy headers, access log, Host, security headers, database
    app.add_middleware(_Database)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AllowedHosts, hosts=allowed_hosts)
    app.add_middleware(AccessLog)  # it sees every answer, errors and refused Hosts included
    if trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(trusted_proxies))
    app.add_exception_handler(LitmonError, _error)
    app.add_exception_handler(sqlite3.Error, _error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(SignInNeeded, _sign_in_first)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(drafts_pages.router)

    @app.get("/api/openapi.json", include_in_schema=False)
    def openapi(who: Annotated[str, Depends(reader)]) -> dict[str, object]:
        return _with_bearer(app.openapi())

    @app.get(
        "/health",
        tags=["health"],
        summary="Whether the service can read and write its database",
        responses={503: {"description": "The database cannot take a write now (the reason)"}},
    )
    def health(request: Request) -> JSONResponse:
        db = request.state.db
        version = db.execute("PRAGMA user_version").fetchone()[0]
        problem = write_problem(db.conn, Path(db_path))
        answer = {
            "status": "ok" if problem is None else "unavailable",
            "version": VERSION,
            "schema": version == len(MIGRATIONS),
        }
        if problem is not None:
            answer["database"] = problem
            return JSONResponse(answer, status_code=503, headers={"Retry-After": "30"})
        return JSONResponse(answer)

    return app
