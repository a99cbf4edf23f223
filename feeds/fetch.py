"""Fetching one feed over HTTP: conditional GET, manual redirects, hard size and time limits.

feedparser is handed bytes only; its own HTTP client has no timeout or size limit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests

from litmon.core.html_page import html_page_title
from litmon.core.http_body import BodyError, MiB, read_capped
from litmon.core.http_headers import parse_retry_after
from litmon.feeds.errors import FetchError
from litmon.feeds.items import is_url

_PERMANENT = (301, 308)
_REDIRECTS = (301, 302, 303, 307, 308)
_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"
_ERROR_BODY_BYTES = 256 * 1024  # enough of an error page to tell what it is

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FetchLimits:
    connect_timeout: float = 10.0
    read_timeout: float = 30.0  # longest silence between two reads
    total_seconds: float = 90.0  # whole exchange, redirects and body included
    max_bytes: int = 15 * MiB  # decoded (after gzip) body
    max_redirects: int = 5


DEFAULT_LIMITS = FetchLimits()


@dataclass(frozen=True, slots=True)
class FetchResult:
    status: int  # 200, or 304 when the validators still match
    url: str  # where the body came from, after redirects
    body: bytes | None  # None for 304
    headers: Mapping[str, str]
    moved_to: str | None  # the new address when every redirect was permanent (301/308)
    requests: int


_host_locks: dict[str, threading.Lock] = {}
_host_locks_guard = threading.Lock()


@contextmanager
def _host_slot(url: str) -> Iterator[None]:
    """At most one request at a time per host, whichever thread asks."""
    host = (urlsplit(url).hostname or "").lower()
    with _host_locks_guard:
        lock = _host_locks.setdefault(host, threading.Lock())
    with lock:
        yield


def fetch_feed(
    session: requests.Session,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    limits: FetchLimits = DEFAULT_LIMITS,
) -> FetchResult:
    """GET ``url`` conditionally; raises :class:`FetchError` with a one-line reason."""
    deadline = time.monotonic() + limits.total_seconds
    headers = {"Accept": _ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    chain = [url]
    permanent = True
    for hop in range(limits.max_redirects + 1):
        with _host_slot(url):
            resp = _get(session, url, headers, limits)
            log.debug(
                "GET %s: HTTP %d",
                url,
                resp.status_code,
                extra={"event": "feed_response", "url": url, "status": resp.status_code},
            )
            try:
                if resp.status_code in _REDIRECTS and "location" in resp.headers:
                    target = _redirect_target(url, resp.headers["location"])
                    permanent = permanent and resp.status_code in _PERMANENT
                    if target in chain:
                        raise FetchError(f"redirect loop: {' -> '.join([*chain, target])}")
                    chain.append(target)
                    url = target
                    continue
                if resp.status_code == 304:
                    body = None
                elif resp.status_code == 200:
                    body = _read_body(resp, deadline, limits.max_bytes)
                else:
                    raise _http_error(resp, deadline)
            finally:
                resp.close()
        moved = url if permanent and len(chain) > 1 else None
        return FetchResult(resp.status_code, url, body, resp.headers, moved, hop + 1)
    raise FetchError(f"too many redirects (more than {limits.max_redirects}) from {chain[0]}")


def _redirect_target(url: str, location: str) -> str:
    """The absolute http(s) URL a Location header points to; a one-line error when it is
    unusable (a port out of range, a ``file:`` URL). One that cannot be parsed at all has
    already failed in :func:`_get`."""
    target = urljoin(url, location)
    if not is_url(target):
        raise FetchError(f"bad redirect from {url} to {location!r}: not an http(s) URL")
    return target


def _get(
    session: requests.Session, url: str, headers: dict[str, str], limits: FetchLimits
) -> requests.Response:
    try:
        return session.get(
            url,
            headers=headers,
            timeout=(limits.connect_timeout, limits.read_timeout),
            stream=True,
            allow_redirects=False,
        )
    except requests.Timeout as exc:
        raise FetchError(f"timed out waiting for {url} ({type(exc).__name__})") from exc
    except requests.RequestException as exc:
        raise FetchError(f"cannot reach {url}: {type(exc).__name__}: {exc}") from exc
    except ValueError as exc:  # requests parses a redirect's Location even when not following it
        raise FetchError(f"bad response from {url} (a broken Location header?): {exc}") from exc


def _read_body(resp: requests.Response, deadline: float, max_bytes: int) -> bytes:
    try:
        return read_capped(resp, deadline, max_bytes)
    except BodyError as exc:
        raise FetchError(str(exc)) from exc


def _http_error(resp: requests.Response, deadline: float) -> FetchError:
    status = resp.status_code
    try:
        snippet = _read_body(resp, deadline, _ERROR_BODY_BYTES)
    except FetchError:
        snippet = b""
    message = f"HTTP {status} {resp.reason or ''}".strip() + f" from {resp.url}"
    page_title = html_page_title(snippet)
    if page_title is not None:
        message += f" (an HTML page titled {page_title!r})"
    retry_after = parse_retry_after(resp.headers.get("retry-after"))
    if retry_after is not None:
        message += f"; server asks to retry after {int(retry_after)} s"
    return FetchError(message, status=status, retry_after=retry_after)
