"""A local fake of NCBI E-utilities (``esearch.fcgi``, ``efetch.fcgi``) for tests and the demo.

It speaks the real wire protocol over HTTP on loopback, so a client pointed at
``EutilsServer.url`` works unchanged against https://eutils.ncbi.nlm.nih.gov/entrez/eutils/.

What the fake understands of a search:

- ``term`` as a boolean expression: ``AND``, ``OR``, ``NOT`` and parentheses, applied left to
  right as PubMed does (no precedence: ``a OR b AND c`` is ``(a OR b) AND c``); clauses side by
  side are ANDed. Of the clauses it evaluates two kinds:

  - date ranges, ``("2026/10/01"[crdt] : "2026/10/31"[crdt])`` or
    ``2026/10/01:2026/10/31[edat]``, and single dates, ``2026/10[mdat]`` (fields edat, crdt,
    mdat, pdat/dp and their long names);
  - identifiers, ``<doi>[doi]``, ``<doi>[aid]``, ``<n>[pmid]``, ``<n>[uid]``.

  Every other clause (the topic's words, MeSH terms, publication types, ...) is opaque: it
  matches every record, and on the right of ``NOT`` it excludes nothing, so any topic query
  matches every record and only the dates and identifiers narrow a search. Unbalanced
  parentheses are an ``<ERROR>``.
- ``datetype`` (edat|crdt|mdat|pdat, default pdat) with ``mindate``/``maxdate``
  (``YYYY``, ``YYYY/MM``, ``YYYY/MM/DD``; both or neither) or ``reldate`` (last n days).
  As on PubMed, this range is ANDed with the term.

Dates per record: EDAT = History ``PubMedPubDate[@PubStatus="entrez"]``, CRDT = the
``"pubmed"`` one (the date the citation was added to PubMed), MDAT = ``DateRevised``,
PDAT = ``JournalIssue/PubDate``. Ids come back newest EDAT first (``sort=pub_date``: newest
PDAT first). PubMed's window: a search or history fetch serves only the first 9,999 ids;
``retstart`` past 9,998 on a larger set is an ``<ERROR>``, a page crossing the boundary is
clamped (with a WarningList ``OutputMessage`` in esearch).
"""

from __future__ import annotations

import gzip
import json
import re
import socket
import struct
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape

PUBMED_WINDOW = 9_999  # ids a PubMed search (or history fetch) can serve
DEMO_FILE = resources.files("litmon.replay") / "demo_data" / "pubmed_demo.xml.gz"
_PREFIX = "/entrez/eutils/"

_ESEARCH_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" ?>\n'
    b'<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN" '
    b'"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
)
_EFETCH_ERROR_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" ?>\n'
    b'<!DOCTYPE eFetchResult PUBLIC "-//NLM//DTD efetch 20131226//EN" '
    b'"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20131226/efetch.dtd">\n'
)
_PUBMED_HEAD = (
    b'<?xml version="1.0" ?>\n'
    b'<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    b'"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
    b"<PubmedArticleSet>\n"
)
_WINDOW_ERROR = (
    "'retstart' cannot be larger than 9998. For PubMed, ESearch can only retrieve the first "
    "9,999 records matching the query. To obtain more than 9,999 PubMed records, consider "
    "using EDirect that contains additional logic to batch PubMed search results "
    "automatically so that an arbitrary number can be retrieved. For details see "
    "https://www.ncbi.nlm.nih.gov/books/NBK25499/"
)
_HTML_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{title} - NCBI</title></head>
<body>
<div class="ncbi-alerts"><h1>{title}</h1>
<p>{text}</p>
<p>Please try again later. If the problem persists, contact the NCBI Help Desk.</p>
</div>
</body>
</html>
"""
_XML = "text/xml; charset=UTF-8"
_HTML = "text/html; charset=UTF-8"


# Faults in what a 200 answer holds, and the one endpoint each applies to (None: both):
# "short"          esearch's IdList loses its second half (Count stays); efetch leaves out
#                  its last record
# "backend"        esearch answers Count 0, no ids, and a WarningList "Search Backend failed"
# "backend-error"  esearch answers <ERROR>Search Backend failed: Database is not supported,
#                  as NCBI did for every query during its July 2025 outage
# "no-pmid"        efetch's last record comes without its PMID element
_CONTENT_FAULTS = {
    "short": None,
    "backend": "esearch",
    "backend-error": "esearch",
    "no-pmid": "efetch",
}
_FAULTS = ("429", "500", "503", "timeout", "reset", "truncate", "html", *_CONTENT_FAULTS)


@dataclass
class Fault:
    """One injected fault, consumed by the next request to its endpoint."""

    kind: str  # one of _FAULTS
    retry_after: str | None = None  # header value for 429/503, e.g. "2"
    delay: float = 0.0  # "timeout": seconds to stall before answering

    def __post_init__(self) -> None:
        if self.kind not in _FAULTS:
            raise ValueError(f"unknown fault kind: {self.kind}")


@dataclass
class Request:
    """One logged request."""

    at: float  # time.monotonic() when it arrived
    endpoint: str  # "esearch" | "efetch" | other
    method: str
    params: dict[str, str]  # query string and form body merged


@dataclass
class _Response:
    status: int
    body: bytes
    content_type: str = _XML
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Entry:
    """One indexed record; dates are ``date.toordinal()``; ``xml`` is None when synthetic."""

    pmid: int
    edat: int
    crdt: int
    mdat: int
    pdat: int
    dois: frozenset[str]
    xml: bytes | None


# -- reading records ---------------------------------------------------------------------

_ARTICLE = re.compile(rb"<PubmedArticle[\s>].*?</PubmedArticle>", re.DOTALL)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _month_number(text: str) -> int:
    return int(text) if text.isdigit() else _MONTHS.index(text[:3].lower()) + 1


def _element_date(element: ET.Element | None) -> date | None:
    if element is None:
        return None
    year = element.findtext("Year") or (element.findtext("MedlineDate") or "")[:4]
    if not year.isdigit():
        return None
    month = element.findtext("Month")
    day = element.findtext("Day")
    return date(int(year), _month_number(month) if month else 1, int(day) if day else 1)


def _index(chunk: bytes) -> _Entry:
    root = ET.fromstring(chunk)
    pmid = int(root.findtext("MedlineCitation/PMID") or "0")
    history = {
        d.get("PubStatus"): _element_date(d)
        for d in root.iterfind("PubmedData/History/PubMedPubDate")
    }
    edat = history.get("entrez") or history.get("pubmed")
    if not pmid or edat is None:
        raise ValueError(f"record without PMID or entrez date: {chunk[:200]!r}")
    crdt = history.get("pubmed") or edat
    mdat = _element_date(root.find("MedlineCitation/DateRevised")) or edat
    pub = root.find("MedlineCitation/Article/Journal/JournalIssue/PubDate")
    pdat = _element_date(pub) or edat
    dois = [
        *root.iterfind("PubmedData/ArticleIdList/ArticleId[@IdType='doi']"),
        *root.iterfind("MedlineCitation/Article/ELocationID[@EIdType='doi']"),
    ]
    return _Entry(
        pmid=pmid,
        edat=edat.toordinal(),
        crdt=crdt.toordinal(),
        mdat=mdat.toordinal(),
        pdat=pdat.toordinal(),
        dois=frozenset((d.text or "").strip().lower() for d in dois),
        xml=chunk,
    )


def _synthetic_doi(pmid: int) -> str:
    return f"10.5555/synthetic.{pmid}"


def _ymd(ordinal: int) -> str:
    day = date.fromordinal(ordinal)
    return f"<Year>{day.year}</Year><Month>{day.month:02d}</Month><Day>{day.day:02d}</Day>"


def _synthetic_xml(entry: _Entry) -> bytes:
    ymd = _ymd(entry.edat)
    doi = _synthetic_doi(entry.pmid)
    return (
        f'<PubmedArticle><MedlineCitation Status="PubMed-not-MEDLINE" Owner="NLM">'
        f'<PMID Version="1">{entry.pmid}</PMID><DateRevised>{_ymd(entry.mdat)}</DateRevised>'
        f'<Article PubModel="Electronic"><Journal><ISSN IssnType="Electronic">2000-0000</ISSN>'
        f'<JournalIssue CitedMedium="Internet"><Volume>1</Volume><PubDate>{ymd}</PubDate>'
        f"</JournalIssue><Title>Journal of synthetic records</Title>"
        f"<ISOAbbreviation>J Synth Rec</ISOAbbreviation></Journal>"
        f"<ArticleTitle>Synthetic record {entry.pmid} for paging tests.</ArticleTitle>"
        f'<ELocationID EIdType="doi" ValidYN="Y">{doi}</ELocationID>'
        f"<Abstract><AbstractText>Generated record {entry.pmid}.</AbstractText></Abstract>"
        f'<AuthorList CompleteYN="Y"><Author ValidYN="Y"><LastName>Synthetic</LastName>'
        f"<ForeName>Author</ForeName><Initials>A</Initials></Author></AuthorList>"
        f"<Language>eng</Language><PublicationTypeList>"
        f'<PublicationType UI="D016428">Journal Article</PublicationType>'
        f"</PublicationTypeList></Article><MedlineJournalInfo><Country>United States</Country>"
        f"<MedlineTA>J Synth Rec</MedlineTA><NlmUniqueID>000000000</NlmUniqueID>"
        f"</MedlineJournalInfo></MedlineCitation><PubmedData><History>"
        f'<PubMedPubDate PubStatus="entrez">{ymd}<Hour>6</Hour><Minute>0</Minute></PubMedPubDate>'
        f'<PubMedPubDate PubStatus="pubmed">{ymd}<Hour>6</Hour><Minute>0</Minute></PubMedPubDate>'
        f"</History><PublicationStatus>epublish</PublicationStatus><ArticleIdList>"
        f'<ArticleId IdType="pubmed">{entry.pmid}</ArticleId>'
        f'<ArticleId IdType="doi">{doi}</ArticleId></ArticleIdList></PubmedData></PubmedArticle>'
    ).encode()


def _read_corpus(data: bytes | Path) -> bytes:
    if isinstance(data, Path):
        raw = data.read_bytes()
        return gzip.decompress(raw) if data.suffix == ".gz" else raw
    return data


_DATE_BLOCK = re.compile(
    rb"(<PubMedPubDate[^>]*>\s*)?"
    rb"<Year>(\d{4})</Year>(\s*)<Month>(\w+)</Month>(?:(\s*)<Day>(\d{1,2})</Day>)?"
)


def shift_dates(xml: bytes, days: int) -> bytes:
    """Move every Year+Month(+Day) date in PubMed XML by ``days``; year-only dates stay.

    Numbers are written as PubMed writes them: unpadded in History, two digits elsewhere.
    """

    def move(match: re.Match[bytes]) -> bytes:
        history, year, gap, month, day_gap, day = match.groups()
        width = 1 if history else 2
        moved = date(int(year), _month_number(month.decode()), int(day or 1)) + timedelta(days)
        if month.isdigit():
            month_text = b"%0*d" % (width, moved.month)
        else:
            month_text = _MONTHS[moved.month - 1].title().encode()
        out = b"%b<Year>%d</Year>%b<Month>%b</Month>" % (
            history or b"",
            moved.year,
            gap,
            month_text,
        )
        if day is not None:
            out += b"%b<Day>%0*d</Day>" % (day_gap, width, moved.day)
        return out

    return _DATE_BLOCK.sub(move, xml)


# -- parsing a search ----------------------------------------------------------------------

_FIELDS = {
    "edat": "edat",
    "date - entrez": "edat",
    "crdt": "crdt",
    "date - create": "crdt",
    "mdat": "mdat",
    "date - modification": "mdat",
    "pdat": "pdat",
    "dp": "pdat",
    "date - publication": "pdat",
}


def _day(name: str) -> str:
    """A date clause's ``YYYY[/MM[/DD]]``, maybe quoted, captured as ``name``."""
    return rf'"?(?P<{name}>\d{{4}}(?:/\d{{1,2}}){{0,2}})"?'


# One clause of a term, tried in this order at each position: parentheses, a date range or a
# single date with its field, an identifier, an operator, and anything else (a word or a
# quoted phrase, with an optional [field]), which the fake cannot evaluate.
_TERM_TOKEN = re.compile(
    r"\s*(?:"
    r"(?P<open>\()|(?P<close>\))"
    rf"|{_day('lo')}(?:\[[^\]]+\])?\s*:\s*{_day('hi')}\[(?P<range_field>[^\]]+)\]"
    rf"|{_day('day')}\[(?P<day_field>[^\]]+)\]"
    r'|(?:"(?P<quoted_id>[^"]+)"|(?P<bare_id>[^\s()"]+))\s*\[(?P<id_field>doi|aid|pmid|uid)\]'
    r"|(?P<op>(?-i:AND|OR|NOT))(?=[\s()]|$)"  # upper case only, as PubMed requires
    r'|(?P<other>(?:"[^"]*"|[^\s()"]+|")(?:\s*\[[^\]]*\])?)'
    r")",
    re.IGNORECASE,
)


def _bound(text: str, *, end: bool) -> int:
    """``YYYY``, ``YYYY/MM`` or ``YYYY/MM/DD`` as an ordinal; ``end`` picks the last day."""
    parts = text.strip().split("/")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"Invalid date format: {text}")
    year, month, day = (int(p) for p in (parts + ["0", "0"])[:3])
    if not end:
        return date(year, month or 1, day or 1).toordinal()
    if not month:
        return date(year, 12, 31).toordinal()
    if not day:
        next_month = date(year + month // 12, month % 12 + 1, 1)
        return next_month.toordinal() - 1
    return date(year, month, day).toordinal()


@dataclass(frozen=True, slots=True)
class _Dates:
    """Records whose ``name`` date (an ``_Entry`` field) is within [lo, hi]."""

    name: str
    lo: int
    hi: int


@dataclass(frozen=True, slots=True)
class _Ids:
    """Records with one of these PMIDs or DOIs."""

    pmids: frozenset[int]
    dois: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Op:
    """``left op right``; ``None`` on either side is a clause the fake cannot evaluate."""

    op: str  # AND | OR | NOT
    left: _Node | None
    right: _Node | None


_Node = _Dates | _Ids | _Op


def _clause(match: re.Match[str]) -> _Node | None:
    """The node for a date or identifier clause; None for any other clause."""
    groups = match.groupdict()
    if groups["range_field"] is not None:
        name = _FIELDS.get(groups["range_field"].strip().lower())
        lo, hi = groups["lo"], groups["hi"]
    elif groups["day_field"] is not None:
        name = _FIELDS.get(groups["day_field"].strip().lower())
        lo = hi = groups["day"]
    elif groups["id_field"] is not None:
        value = (groups["quoted_id"] or groups["bare_id"]).strip()
        if groups["id_field"].lower() in ("pmid", "uid"):
            if not value.isdigit():
                raise ValueError(f"Invalid uid {value}")
            return _Ids(frozenset({int(value)}), frozenset())
        return _Ids(frozenset(), frozenset({value.lower()}))
    else:
        return None
    return _Dates(name, _bound(lo, end=False), _bound(hi, end=True)) if name else None


def _combine(op: str, left: _Node | None, right: _Node | None) -> _Node | None:
    if op == "OR" and isinstance(left, _Ids) and isinstance(right, _Ids):
        # one set lookup for a long OR of identifiers instead of a scan per identifier
        return _Ids(left.pmids | right.pmids, left.dois | right.dois)
    return _Op(op, left, right)


def _parse_term(term: str) -> _Node | None:
    """The boolean structure of ``term``: as PubMed does, operators are applied left to right
    (no precedence between AND, OR and NOT), parentheses first, and clauses written next to
    each other are ANDed."""
    tokens: list[re.Match[str]] = []
    position = 0
    while term[position:].strip():
        match = _TERM_TOKEN.match(term, position)
        if match is None or match.end() == position:
            raise ValueError(f"Cannot read the term at: {term[position : position + 40]!r}")
        tokens.append(match)
        position = match.end()
    node, used = _sequence(tokens, 0)
    if used != len(tokens):
        raise ValueError("Unbalanced parentheses in term")
    return node


def _sequence(tokens: list[re.Match[str]], position: int) -> tuple[_Node | None, int]:
    """The clauses from ``position`` up to an unmatched ``)``, and where they stop."""
    node: _Node | None = None
    first = True
    pending = "AND"
    while position < len(tokens) and tokens[position].group("close") is None:
        token = tokens[position]
        if token.group("op") is not None:
            pending = token.group("op").upper()
            position += 1
            continue
        if token.group("open") is not None:
            operand, position = _sequence(tokens, position + 1)
            if position == len(tokens):
                raise ValueError("Unbalanced parentheses in term")
        else:
            operand = _clause(token)
        position += 1
        # a leading NOT excludes from everything; a leading AND or OR joins nothing
        node = operand if first and pending != "NOT" else _combine(pending, node, operand)
        first, pending = False, "AND"
    return node, position


def _select(node: _Node | None, entries: list[_Entry]) -> set[int] | None:
    """PMIDs of ``entries`` that ``node`` matches; None for all of them.

    A clause the fake cannot evaluate matches every record, except on the right of NOT,
    where it excludes nothing: a topic's ``NOT review[pt]`` must not empty every search.
    """
    if node is None:
        return None
    if isinstance(node, _Dates):
        return {e.pmid for e in entries if node.lo <= getattr(e, node.name) <= node.hi}
    if isinstance(node, _Ids):
        return {e.pmid for e in entries if e.pmid in node.pmids or e.dois & node.dois}
    left, right = _select(node.left, entries), _select(node.right, entries)
    if node.op == "AND":
        return left if right is None else right if left is None else left & right
    if node.op == "OR":
        return None if left is None or right is None else left | right
    if right is None:
        return left
    return ({e.pmid for e in entries} if left is None else left) - right


@dataclass
class _Query:
    term: _Node | None = None
    limit: tuple[str, int, int] | None = None
    limit_text: str = ""

    def ids(self, entries: list[_Entry]) -> list[int]:
        """PMIDs of the matching ``entries``, in their order."""
        selected = _select(self.term, entries)
        if self.limit:
            name, lo, hi = self.limit
            entries = [e for e in entries if lo <= getattr(e, name) <= hi]
        return [e.pmid for e in entries if selected is None or e.pmid in selected]


def _parse_query(params: dict[str, str], today: date) -> _Query:
    query = _Query(_parse_term(params.get("term", "")))
    datetype = params.get("datetype", "pdat").lower()
    if datetype not in ("edat", "crdt", "mdat", "pdat"):
        raise ValueError(f"Invalid datetype: {datetype}")
    mindate, maxdate, reldate = (params.get(k, "") for k in ("mindate", "maxdate", "reldate"))
    if reldate:
        if not reldate.isdigit():
            raise ValueError(f"Invalid reldate: {reldate}")
        query.limit = (datetype, today.toordinal() - int(reldate), today.toordinal())
        query.limit_text = f'"last {reldate} days"[{datetype}]'
    elif mindate or maxdate:
        if not (mindate and maxdate):
            raise ValueError("mindate and maxdate must be used together")
        query.limit = (datetype, _bound(mindate, end=False), _bound(maxdate, end=True))
        query.limit_text = f"{mindate}:{maxdate}[{datetype}]"
    return query


def _int(params: dict[str, str], name: str, default: int) -> int:
    value = params.get(name, "")
    if not value:
        return default
    if not value.isdigit():
        raise ValueError(f"Invalid {name}: {value}")
    return int(value)


def _window(total: int, retstart: int, retmax: int) -> tuple[int, int, str | None]:
    """PubMed's cap: (start, end, warning) for a page; ValueError past the window."""
    if retstart >= PUBMED_WINDOW and total > PUBMED_WINDOW:
        raise ValueError(_WINDOW_ERROR)
    if retstart + retmax <= PUBMED_WINDOW:
        return retstart, min(retstart + retmax, total), None
    end = min(PUBMED_WINDOW, total)
    count = max(end - retstart, 0)
    return retstart, end, f"Restrictions achieved. start and count adjusted to {retstart}, {count}"


# -- rendering -----------------------------------------------------------------------------


def _esearch_error(message: str) -> _Response:
    body = f"<eSearchResult><ERROR>{escape(message)}</ERROR></eSearchResult>\n"
    return _Response(200, _ESEARCH_HEAD + body.encode())


def _efetch_error(message: str, status: int = 400) -> _Response:
    body = f"<eFetchResult>\n\t<ERROR>{escape(message)}</ERROR>\n</eFetchResult>\n"
    return _Response(status, _EFETCH_ERROR_HEAD + body.encode())


def _esearch_body(
    count: int,
    retstart: int,
    ids: list[int],
    translation: str,
    history: tuple[str, int] | None,
    warning: str | None,
) -> bytes:
    parts = [f"<eSearchResult><Count>{count}</Count><RetMax>{len(ids)}</RetMax>"]
    parts.append(f"<RetStart>{retstart}</RetStart>")
    if history:
        parts.append(f"<QueryKey>{history[1]}</QueryKey><WebEnv>{history[0]}</WebEnv>")
    parts.append("<IdList>\n" + "".join(f"<Id>{i}</Id>\n" for i in ids) + "</IdList>")
    parts.append(f"<TranslationSet/><QueryTranslation>{escape(translation)}</QueryTranslation>")
    if warning:
        parts.append(f"<WarningList><OutputMessage>{escape(warning)}</OutputMessage></WarningList>")
    parts.append("</eSearchResult>\n")
    return _ESEARCH_HEAD + "".join(parts).encode()


def _html(status: int, title: str, text: str) -> _Response:
    return _Response(status, _HTML_PAGE.format(title=title, text=text).encode(), _HTML)


def _truncated(body: bytes) -> bytes:
    """The body cut in the middle of its middle record (or in half when it has none)."""
    starts = [m.start() for m in re.finditer(rb"<PubmedArticle>", body)]
    if not starts:
        return body[: len(body) // 2]
    start = starts[len(starts) // 2]
    end = body.index(b"</PubmedArticle>", start)
    return body[: (start + end) // 2]


# -- the server ----------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    eutils: EutilsServer

    def handle_error(self, request: object, client_address: object) -> None:
        """Stay quiet about clients that hung up (timeouts, resets); report anything else."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def version_string(self) -> str:
        return "Finatra"  # what NCBI's front end says

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the server logs into ``EutilsServer.requests`` instead."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        params.update(parse_qsl(body, keep_blank_values=True))
        endpoint = url.path.removeprefix(_PREFIX).removesuffix(".fcgi")
        eutils = self.server.eutils
        fault = eutils._arrive(Request(time.monotonic(), endpoint, method, params))
        eutils._slow_down()
        if fault is None or fault.kind in _CONTENT_FAULTS:
            self._send(eutils._respond(url.path, endpoint, params, fault and fault.kind))
        elif fault.kind == "reset":
            self._reset()
        elif fault.kind == "timeout":
            eutils._pause(fault.delay)
            self._send(eutils._respond(url.path, endpoint, params))
        elif fault.kind == "truncate":
            self._send_cut(eutils._respond(url.path, endpoint, params))
        else:
            self._send(_fault_response(fault, params))

    def _send(self, response: _Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def _send_cut(self, response: _Response) -> None:
        """Chunked transfer that stops mid-record and closes without the last chunk: the
        connection dropped mid-download, as the client sees it."""
        part = _truncated(response.body)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(b"%x\r\n%b\r\n" % (len(part), part))
        self.close_connection = True

    def _reset(self) -> None:
        """Close with SO_LINGER 0: the kernel sends RST, the client sees a connection reset."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True


def _fault_response(fault: Fault, params: dict[str, str]) -> _Response:
    headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
    if fault.kind == "429":
        limit = "10" if params.get("api_key") else "3"
        key = params.get("api_key") or "127.0.0.1"
        count = str(int(limit) + 1)
        payload = {
            "error": "API rate limit exceeded",
            "api-key": key,
            "count": count,
            "limit": limit,
        }
        headers |= {"X-RateLimit-Limit": limit, "X-RateLimit-Remaining": "0"}
        return _Response(
            429, json.dumps(payload, separators=(",", ":")).encode(), "application/json", headers
        )
    if fault.kind == "500":
        response = _html(500, "Internal Server Error", "The server encountered an error.")
    elif fault.kind == "503":
        response = _html(503, "Service Unavailable", "The service is temporarily unavailable.")
    else:  # "html"
        response = _html(200, "Error", "Your request could not be processed at this time.")
    response.headers |= headers
    return response


class EutilsServer:
    """A fake ``esearch``/``efetch`` for PubMed on loopback, with fault injection."""

    def __init__(
        self,
        corpus: Iterable[Path | bytes] = (),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        delay: float = 0.0,
    ) -> None:
        self.requests: list[Request] = []
        self._host, self._port = host, port
        self._delay = delay
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._delay_changed = threading.Condition()
        self._entries: dict[int, _Entry] = {}
        self._sorted: dict[str, list[_Entry]] = {}
        self._faults: dict[str, deque[Fault | None]] = {}  # None: answer normally
        self._history: dict[str, list[list[int]]] = {}
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        for item in corpus:
            self.add_xml(item)

    # -- lifecycle

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{_PREFIX}"

    def start(self) -> EutilsServer:
        if self._httpd is None:
            self._stopping.clear()
            self._httpd = _HTTPServer((self._host, self._port), _Handler)
            self._httpd.eutils = self
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join()
        self._httpd = self._thread = None

    def wait(self) -> None:
        """Serve until interrupted (Ctrl-C raises KeyboardInterrupt here) or stopped."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.5)

    def __enter__(self) -> EutilsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- content and behaviour

    def add_xml(self, data: bytes | Path) -> None:
        """Index the PubmedArticle records of a PubmedArticleSet (bytes, .xml or .xml.gz)."""
        entries = [_index(m.group()) for m in _ARTICLE.finditer(_read_corpus(data))]
        self._add(entries)

    def add_synthetic(
        self,
        count: int,
        start: date,
        end: date,
        first_pmid: int = 30_000_000,
        *,
        revised: date | None = None,
    ) -> None:
        """Add ``count`` generated records with EDAT/CRDT spread evenly over [start, end];
        each was last modified (MDAT) on its EDAT, or on ``revised`` when given."""
        span = (end - start).days
        entries = []
        for i in range(count):
            day = start.toordinal() + span * i // max(count - 1, 1)
            mdat = revised.toordinal() if revised else day
            pmid = first_pmid + i
            doi = frozenset({_synthetic_doi(pmid)})
            entries.append(_Entry(pmid, day, day, mdat, day, doi, None))
        self._add(entries)

    def inject(self, *faults: Fault, endpoint: str = "efetch", after: int = 0) -> None:
        """Queue faults; each is consumed in order by the next request to ``endpoint``,
        once ``after`` more requests to it have been answered normally."""
        for fault in faults:
            only = _CONTENT_FAULTS.get(fault.kind)
            if only not in (None, endpoint):
                raise ValueError(f"fault {fault.kind!r} is for {only}, not {endpoint}")
        with self._lock:
            self._faults.setdefault(endpoint, deque()).extend([None] * after + list(faults))

    def set_delay(self, seconds: float) -> None:
        """Make every response wait this long (a slow server). Requests already waiting
        follow the change: a long delay holds them until a shorter one lets them go."""
        with self._delay_changed:
            self._delay = seconds
            self._delay_changed.notify_all()

    def _add(self, entries: list[_Entry]) -> None:
        with self._lock:
            self._entries.update((e.pmid, e) for e in entries)
            self._sorted.clear()

    # -- request plumbing (called from handler threads)

    def _arrive(self, request: Request) -> Fault | None:
        with self._lock:
            self.requests.append(request)
            queue = self._faults.get(request.endpoint)
            return queue.popleft() if queue else None

    def _slow_down(self) -> None:
        """Wait out the server's delay, as it is now and as set_delay changes it."""
        arrived = time.monotonic()
        with self._delay_changed:
            while not self._stopping.is_set():
                remaining = arrived + self._delay - time.monotonic()
                if remaining <= 0:
                    return
                self._delay_changed.wait(min(remaining, 0.5))  # 0.5: notice a stop

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def _respond(
        self, path: str, endpoint: str, params: dict[str, str], fault: str | None = None
    ) -> _Response:
        """The answer to a request; ``fault`` is one of _CONTENT_FAULTS to build into it."""
        handlers: dict[str, Callable[[dict[str, str], str | None], _Response]] = {
            "esearch": self._esearch,
            "efetch": self._efetch,
        }
        handler = handlers.get(endpoint) if path.startswith(_PREFIX) else None
        if handler is None:
            return _html(404, "Not Found", f"The requested URL {escape(path)} was not found.")
        return handler(params, fault)

    def _ordered(self, sort: str) -> list[_Entry]:
        key = "pdat" if sort == "pub_date" else "edat"
        with self._lock:
            if key not in self._sorted:
                self._sorted[key] = sorted(
                    self._entries.values(), key=lambda e: (getattr(e, key), e.pmid), reverse=True
                )
            return self._sorted[key]

    def _esearch(self, params: dict[str, str], fault: str | None) -> _Response:
        db = params.get("db", "")
        if db != "pubmed":
            return _esearch_error(f"Invalid db name specified: {db}" if db else "Empty db name")
        if params.get("retmode", "xml") != "xml":
            return _esearch_error("This fake serves retmode=xml only")
        try:
            query = _parse_query(params, datetime.now(UTC).date())
            retstart = _int(params, "retstart", 0)
            retmax = _int(params, "retmax", 20)
        except ValueError as exc:
            return _esearch_error(str(exc))
        if fault == "backend-error":
            return _esearch_error("Search Backend failed: Database is not supported: pubmed")
        ids = query.ids(self._ordered(params.get("sort", "")))
        if params.get("rettype") == "count":
            body = f"<eSearchResult><Count>{len(ids)}</Count></eSearchResult>\n"
            return _Response(200, _ESEARCH_HEAD + body.encode())
        try:
            start, end, warning = _window(len(ids), retstart, retmax)
        except ValueError as exc:
            return _esearch_error(f"Search Backend failed: Exception:\n{exc}")
        history = self._remember(params.get("WebEnv", ""), ids) if _yes(params) else None
        translation = params.get("term", "")
        if query.limit_text:
            translation = (
                f"({translation}) AND {query.limit_text}" if translation else (query.limit_text)
            )
        if not ids and not warning:
            warning = "No items found."
        count, listed = len(ids), ids[start:end]
        if fault == "short":
            listed = listed[: len(listed) // 2]
        elif fault == "backend":
            count, listed = 0, []
            warning = "Search Backend failed: Exception: query timed out on one of the backends"
        body = _esearch_body(count, retstart, listed, translation, history, warning)
        return _Response(200, body)

    def _remember(self, webenv: str, ids: list[int]) -> tuple[str, int]:
        with self._lock:
            if webenv not in self._history:
                webenv = f"MCID_{uuid.uuid4().hex[:24]}"
                self._history[webenv] = []
            self._history[webenv].append(ids)
            return webenv, len(self._history[webenv])

    def _efetch(self, params: dict[str, str], fault: str | None) -> _Response:
        db = params.get("db", "")
        if db != "pubmed":
            return _efetch_error(f"Invalid db name specified: {db}" if db else "Empty db name")
        if params.get("retmode") != "xml" or params.get("rettype", "") not in ("", "xml", "full"):
            return _efetch_error("This fake serves retmode=xml (rettype xml/full) only")
        if params.get("id", "").strip():
            try:
                ids = [int(i) for i in re.split(r"[,\s]+", params["id"].strip()) if i]
            except ValueError:
                return _efetch_error(f"Invalid id list: {params['id']}")
        elif params.get("WebEnv"):
            try:
                ids = self._recall(params)
            except LookupError as exc:
                return _efetch_error(str(exc))
        else:
            return _efetch_error("Empty id list - nothing todo")
        with self._lock:
            entries = [self._entries[i] for i in ids if i in self._entries]
        records = [e.xml if e.xml is not None else _synthetic_xml(e) for e in entries]
        if fault == "short":
            records = records[:-1]
        elif fault == "no-pmid" and records:
            records[-1] = re.sub(rb"<PMID[^>]*>\d+</PMID>", b"", records[-1], count=1)
        body = _PUBMED_HEAD + b"".join(r + b"\n" for r in records) + b"</PubmedArticleSet>\n"
        return _Response(200, body)

    def _recall(self, params: dict[str, str]) -> list[int]:
        webenv = params["WebEnv"]
        try:
            key = _int(params, "query_key", 1)
            retstart = _int(params, "retstart", 0)
            retmax = _int(params, "retmax", 20)
        except ValueError as exc:
            raise LookupError(str(exc)) from None
        with self._lock:
            stored = self._history.get(webenv, [])
            ids = stored[key - 1] if 1 <= key <= len(stored) else None
        if ids is None:
            raise LookupError(
                f"Cannot retrieve history data. query_key: {key}, WebEnv: {webenv}, "
                f"retstart: {retstart}, retmax: {retmax}"
            )
        try:
            start, end, _ = _window(len(ids), retstart, retmax)
        except ValueError as exc:
            raise LookupError(
                f"Search backend cannot retrieve history data. Reason: Exception: {exc}"
            ) from None
        return ids[start:end]


def _yes(params: dict[str, str]) -> bool:
    return params.get("usehistory", "").lower() in ("y", "yes", "true", "1")


def _demo_anchor(xml: bytes) -> date:
    found = re.search(rb"anchor-date: (\d{4}-\d{2}-\d{2})", xml[:2000])
    if not found:
        raise ValueError("demo data has no anchor-date comment")
    return date.fromisoformat(found.group(1).decode())


def serve_demo(port: int = 0, *, today: date | None = None) -> EutilsServer:
    """A started server loaded with the demo records, re-dated so ``today`` is the anchor day.

    The demo data's dates are written relative to the anchor date in its header comment;
    moving them all by (today - anchor) keeps every look-back window finding the same records.
    """
    raw = gzip.decompress(DEMO_FILE.read_bytes())
    shift = ((today or datetime.now(UTC).date()) - _demo_anchor(raw)).days
    return EutilsServer([shift_dates(raw, shift)], port=port).start()
