"""NCBI E-utilities client: esearch and efetch for PubMed, paced, retried, streamed.

Bio.Entrez reads the (small) esearch results. Requests go through our own loop rather than
Bio.Entrez's: it retries a 429 at once without honouring Retry-After, paces only within one
process without a lock, and ``Entrez.read`` would hold a whole efetch response in memory.
"""

from __future__ import annotations

import functools
import io
import logging
import random
import re
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

import requests
import urllib3
from Bio import Entrez

from litmon.core.errors import SourceError
from litmon.core.html_page import html_page_title
from litmon.core.http_body import BodyError, MiB, read_capped
from litmon.core.http_headers import parse_retry_after
from litmon.core.ratelimit import RateLimiter, shared_limiter
from litmon.core.records import Deletion, Item, Record, Skipped
from litmon.core.text import plural
from litmon.core.version import user_agent
from litmon.crawler.pubmed_xml import PubMedXMLError, iter_items
from litmon.crawler.settings import NCBI_EUTILS_URL, NcbiSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

# PubMed's esearch hands out at most this many ids for one query.
ESEARCH_MAX_IDS = 9_999
_LONGEST_WAIT = 600.0  # a Retry-After beyond this fails the request instead of stalling cron
_BACKOFF_CAP = 120.0
_ESEARCH_MAX_BYTES = 16 * MiB
_ESEARCH_SECONDS = 300.0  # whole body, against a server dripping bytes
_SHOWN_MISSING = 20  # PMIDs named in the error of a short efetch; the rest are counted


# How NCBI words a back end that failed (in esearch's ERROR or WarningList), lower-cased.
_BACKEND_FAILED = "search backend failed"


class _HideApiKey(logging.Filter):
    """urllib3 logs each request's URL at DEBUG level; the NCBI API key must not go with it."""

    _KEY = re.compile(r"(api_key=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "api_key=" in message:
            record.msg, record.args = self._KEY.sub(r"\1***", message), None
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_HideApiKey())


class EntrezError(SourceError):
    """E-utilities did not give a usable answer, after retries where retrying made sense.
    ``unreachable`` is the network error it gave up on, when that was why."""

    def __init__(self, message: str, unreachable: str | None = None) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class _Retryable(Exception):
    """A failed attempt worth another; ``event`` names the kind in the retry's log record
    (and so in the run's notes): rate_limited, server_error, network_error, short_response,
    bad_response."""

    def __init__(
        self, reason: str, retry_after: float | None = None, event: str = "bad_response"
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.event = event


def network_cause(exc: BaseException) -> str:
    """The cause of a failed connection in a few words ("connection refused", "name not
    resolved", "read timed out"), from the OS error requests and urllib3 wrap it in."""
    if isinstance(exc, requests.ConnectTimeout):
        return "connect timed out"
    if isinstance(exc, requests.ReadTimeout):
        return "read timed out"
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        error = todo.pop(0)
        if not isinstance(error, BaseException) or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, socket.gaierror):
            return "name not resolved"
        if isinstance(error, OSError) and error.strerror:
            return error.strerror.lower()
        todo.extend(
            [*error.args, getattr(error, "reason", None), error.__cause__, error.__context__]
        )
    return type(exc).__name__


@dataclass(frozen=True, slots=True)
class SearchResult:
    count: int
    ids: list[str]
    webenv: str | None
    query_key: str | None


class EntrezClient:
    """PubMed esearch/efetch with NCBI's etiquette: tool/email on every request, rate limit,
    exponential backoff with jitter on timeouts, connection errors, 429 and 5xx."""

    def __init__(
        self,
        settings: NcbiSettings,
        *,
        session: requests.Session | None = None,
        limiter: RateLimiter | None = None,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent(settings.email, settings.tool)
        host = urlsplit(settings.eutils_url).netloc
        self.limiter = limiter or shared_limiter(host, settings.requests_per_second)
        self.backoff = backoff
        self._sleep = sleep
        self.requests_sent = 0
        if not settings.email and settings.eutils_url == NCBI_EUTILS_URL:
            log.warning("no contact email for NCBI: set NCBI_EMAIL (NCBI may block anonymous use)")

    def esearch(
        self,
        term: str,
        *,
        retmax: int = ESEARCH_MAX_IDS,
        usehistory: bool = True,
        datetype: str | None = None,
        mindate: str | None = None,
        maxdate: str | None = None,
    ) -> SearchResult:
        params = {"db": "pubmed", "term": term, "retmax": str(retmax), "retmode": "xml"}
        if usehistory:
            params["usehistory"] = "y"
        if datetype:
            params.update(datetype=datetype, mindate=mindate or "", maxdate=maxdate or "")
        method = "POST" if len(term) > 1500 else "GET"
        return self._call(
            "esearch.fcgi", params, method, functools.partial(_read_search, retmax=retmax)
        )

    def efetch_ids(self, ids: Sequence[str]) -> list[Item]:
        """Fetch PubMed records by PMID (POST, as NCBI asks for long id lists). An answer
        missing some of them is retried, then an :class:`EntrezError` names them."""
        params = {"db": "pubmed", "retmode": "xml", "id": ",".join(ids)}
        return self._call("efetch.fcgi", params, "POST", functools.partial(_read_items, ids=ids))

    def efetch_history(
        self, webenv: str, query_key: str, retstart: int, ids: Sequence[str]
    ) -> list[Item]:
        """Fetch the slice of an esearch result kept on NCBI's history server that starts at
        ``retstart`` and holds ``ids`` (as esearch listed them), checked like :meth:`efetch_ids`."""
        params = {
            "db": "pubmed",
            "retmode": "xml",
            "WebEnv": webenv,
            "query_key": query_key,
            "retstart": str(retstart),
            "retmax": str(len(ids)),
        }
        return self._call("efetch.fcgi", params, "GET", functools.partial(_read_items, ids=ids))

    def _call(
        self,
        endpoint: str,
        params: dict[str, str],
        method: str,
        read: Callable[[requests.Response], T],
    ) -> T:
        params = {**params, "tool": self.settings.tool}
        if self.settings.email:
            params["email"] = self.settings.email
        if self.settings.api_key:
            params["api_key"] = self.settings.api_key
        url = self.settings.eutils_url + endpoint
        attempts = self.settings.max_retries + 1
        for attempt in range(attempts):
            try:
                return self._attempt(url, params, method, read)
            except _Retryable as problem:
                if attempt + 1 == attempts:
                    raise EntrezError(
                        f"{endpoint}: gave up after {plural(attempts, 'attempt')}: {problem}",
                        unreachable=str(problem) if problem.event == "network_error" else None,
                    ) from None
                delay = self._delay(attempt, problem.retry_after)
                log.warning(
                    "%s: %s; retrying in %.1fs (attempt %d of %d)",
                    endpoint,
                    problem,
                    delay,
                    attempt + 2,
                    attempts,
                    extra={
                        "event": problem.event,
                        "endpoint": endpoint,
                        "attempt": attempt + 1,
                        "delay": round(delay, 1),
                        "retry_after": problem.retry_after,
                    },
                )
                if problem.retry_after is not None:
                    self.limiter.hold_off(delay)
                self._sleep(delay)
        raise AssertionError("unreachable")

    def _attempt(
        self,
        url: str,
        params: dict[str, str],
        method: str,
        read: Callable[[requests.Response], T],
    ) -> T:
        self.limiter.wait()
        self.requests_sent += 1
        data = params if method == "POST" else None
        query = None if method == "POST" else params
        timeout = (min(10.0, self.settings.timeout), self.settings.timeout)
        try:
            with self.session.request(
                method, url, params=query, data=data, timeout=timeout, stream=True
            ) as response:
                _check_status(response)
                return read(response)
        except (requests.Timeout, requests.ConnectionError) as exc:
            host = urlsplit(url).netloc
            reason = f"network error: {host}: {network_cause(exc)}"
            raise _Retryable(reason, event="network_error") from None
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise _Retryable(f"response cut off: {type(exc).__name__}") from None
        except PubMedXMLError as exc:
            raise _Retryable(f"bad XML: {exc}") from None

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        backoff = min(_BACKOFF_CAP, self.backoff * 2**attempt) * random.uniform(0.5, 1.5)
        if retry_after is None:
            return backoff
        if retry_after > _LONGEST_WAIT:
            raise EntrezError(f"server asked to wait {retry_after:.0f}s (Retry-After)")
        # Retry-After can only lengthen the wait: "0" from a server that is shedding load
        # must not turn into a burst of immediate retries.
        return max(retry_after, backoff)


def _check_status(response: requests.Response) -> None:
    status = response.status_code
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        asked = f" (Retry-After: {retry_after:g}s)" if retry_after is not None else ""
        event = "rate_limited" if status == 429 else "server_error"
        raise _Retryable(f"HTTP {status}{asked}", retry_after, event)
    if status >= 400:
        snippet = response.text[:200].strip().replace("\n", " ")
        raise EntrezError(f"HTTP {status} from {urlsplit(response.url).path}: {snippet}")


def _read_items(response: requests.Response, ids: Sequence[str]) -> list[Item]:
    """The items of an efetch answer, which must account for every PMID in ``ids``.

    NCBI's back ends sometimes answer 200 with part of the records; that is retried. An
    article that came back unreadable (no PMID) accounts for one missing PMID: asking again
    would bring the same article, so it is kept as a Skipped entry instead.
    """
    response.raw.decode_content = True
    items = list(iter_items(response.raw))
    returned: set[str] = set()
    unreadable = 0
    for item in items:
        if isinstance(item, Record):
            returned.add(item.source_id)
        elif isinstance(item, Deletion):
            returned.update(item.source_ids)
        else:
            unreadable += 1
    missing = [pmid for pmid in ids if pmid not in returned]
    if len(missing) > unreadable:
        shown = ", ".join(missing[:_SHOWN_MISSING])
        more = f" and {len(missing) - _SHOWN_MISSING} more" if len(missing) > _SHOWN_MISSING else ""
        raise _Retryable(
            f"{len(missing)} of {len(ids)} PMIDs missing from the answer: {shown}{more}",
            event="short_response",
        )
    if missing:
        items.append(
            Skipped(f"efetch: PMID {', '.join(missing)} came back without a readable record")
        )
    return items


def _read_search(response: requests.Response, retmax: int) -> SearchResult:
    # 9,999 ids are about 250 KB of XML: anything far larger is not an esearch answer
    try:
        body = read_capped(response, time.monotonic() + _ESEARCH_SECONDS, _ESEARCH_MAX_BYTES)
    except BodyError as exc:
        raise _Retryable(str(exc)) from None
    head = body[:2048]
    if b"<eSearchResult" not in head or b"<!ENTITY" in head:
        if html_page_title(head) is not None:
            raise _Retryable("expected esearch XML, got an HTML page")
        raise _Retryable("expected esearch XML, got something else")
    try:
        result = Entrez.read(io.BytesIO(body))
    except RuntimeError as exc:  # esearch's own <ERROR> element
        if _BACKEND_FAILED in str(exc).lower():
            # e.g. "Search Backend failed: Database is not supported: pubmed", which NCBI
            # answered for every query during outages: not the query's fault
            raise _Retryable(f"esearch: {exc}") from None
        raise EntrezError(f"esearch refused the query: {exc}") from None
    except Exception as exc:  # Bio.Entrez raises several types for broken XML
        raise _Retryable(f"unreadable esearch XML: {exc}") from None
    for message in result.get("WarningList", {}).get("OutputMessage", []):
        if _BACKEND_FAILED in message.lower():
            raise _Retryable(f"esearch answered incomplete: {message}", event="short_response")
    search = SearchResult(
        count=int(result["Count"]),
        ids=[str(pmid) for pmid in result.get("IdList", [])],
        webenv=str(result["WebEnv"]) if "WebEnv" in result else None,
        query_key=str(result["QueryKey"]) if "QueryKey" in result else None,
    )
    # A short IdList with a full Count is a back end that gave up part way. ErrorList's
    # PhraseNotFound / FieldNotFound are about the query itself and stay as they are.
    listed = min(search.count, retmax)
    if len(search.ids) < listed:
        reason = f"esearch listed {len(search.ids)} of {listed} ids"
        raise _Retryable(reason, event="short_response")
    return search
