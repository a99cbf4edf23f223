"""Turning feed bytes into Records: safety checks first, then feedparser, then normalization."""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field

import feedparser

from litmon.core.records import Record
from litmon.feeds.config import FeedConfig
from litmon.feeds.errors import FeedError
from litmon.feeds.items import (
    canonical_url,
    find_doi,
    find_pii,
    find_pmid,
    is_url,
    plain_text,
    sanitize_html,
    split_authors,
)
from litmon.feeds.safety import refuse_html, refuse_unsafe_xml, to_utf8

_CHARSET = re.compile(r"charset\s*=\s*[\"']?([^;\s\"']+)", re.IGNORECASE)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?")
# ASCII digits only ("²".isdigit() is true but int() refuses it), few enough to stay an int a
# float can hold; the scheduler caps any server hint at a week anyway.
_TTL = re.compile(r"\s*([0-9]{1,9})\s*")
# Elsevier puts metadata, not an abstract, in the description: "Publication date: ...",
# "Source: NeuroImage, Volume 294", "Author(s): A. Smith, B. Jones".
# Atypon and Wiley open descriptions with "<Journal>, Ahead of Print. <br/>" or ", EarlyView.".
_TEASER = re.compile(r"^[^<]{1,200}?,\s*(?:Ahead of Print|EarlyView)\.\s*(?:<br\s*/?>)?", re.I)
_METADATA_LINE = re.compile(
    r"^\s*(publication date|source|author\(s\))\s*:", re.IGNORECASE | re.MULTILINE
)


@dataclass(slots=True)
class ParsedFeed:
    title: str | None
    records: list[Record] = field(default_factory=list)
    ttl_minutes: int | None = None  # RSS <ttl>: do not poll again sooner
    warnings: list[str] = field(default_factory=list)  # recovered problems, e.g. encodings


def parse_feed(data: bytes, feed: FeedConfig, *, content_type: str | None = None) -> ParsedFeed:
    """Records from one feed document; raises :class:`FeedError` when it is not a safe feed."""
    charset = _CHARSET.search(content_type or "")
    data, warnings = to_utf8(data, charset.group(1) if charset else None)
    refuse_html(data)
    refuse_unsafe_xml(data)
    try:
        parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
    except Exception as exc:  # its lenient parser has bugs only broken documents reach
        raise FeedError(f"broken feed: feedparser failed ({type(exc).__name__}: {exc})") from exc
    if not parsed.entries and (parsed.get("bozo") or not parsed.get("version")):
        reason = parsed.get("bozo_exception") or "no RSS/Atom structure found"
        what = "broken feed" if parsed.get("version") else "not a feed"
        raise FeedError(f"{what}: {reason}")
    channel = parsed.feed
    journal = feed.journal or channel.get("prism_publicationname") or channel.get("title")
    records: dict[str, Record] = {}
    for entry in parsed.entries:
        record = entry_record(entry, feed, journal)
        if record is not None and record.source_id not in records:
            records[record.source_id] = record
    ttl = _TTL.fullmatch(str(channel.get("ttl") or ""))
    return ParsedFeed(
        title=channel.get("title"),
        records=list(records.values()),
        ttl_minutes=int(ttl.group(1)) if ttl else None,
        warnings=warnings,
    )


def entry_record(entry: dict, feed: FeedConfig, journal: str | None) -> Record | None:
    """One feed item as a Record; None for items without a title (nothing to show)."""
    title = plain_text(entry.get("title") or "")
    if not title:
        return None
    guid = (entry.get("id") or "").strip()
    link = (entry.get("link") or "").strip()
    links = [item.get("href", "") for item in entry.get("links", [])]
    html = _body_html(entry)
    pmid = find_pmid(guid, entry.get("dc_identifier"), link) if _is_pubmed(guid, link) else None
    # Only fields that identify the item itself: a DOI in the description or abstract may be
    # the article a comment or erratum is about, and would merge the two. The GUID and main
    # link come before other links, which may point at related articles.
    doi = find_doi(entry.get("prism_doi"), entry.get("dc_identifier"), guid, link, *links)
    pub_date = _pub_date(entry)
    return Record(
        source=feed.source,
        source_id=_identity(guid, link, pmid, title, pub_date),
        title=title,
        doi=doi,
        pmid=pmid,
        authors=split_authors(_author_values(entry, html)),
        journal=feed.journal
        or entry.get("prism_publicationname")
        or entry.get("dc_source")
        or journal,
        pub_date=pub_date,
        abstract=(plain_text(html) or None) if html else None,
        abstract_html=(sanitize_html(html) or None) if html else None,
        url=canonical_url(link) if is_url(link) else None,
        publication_types=["Preprint"] if feed.preprint else [],
    )


def _is_pubmed(guid: str, link: str) -> bool:
    return guid.lower().startswith("pubmed:") or "pubmed.ncbi.nlm.nih.gov" in link.lower()


def _identity(guid: str, link: str, pmid: str | None, title: str, pub_date: str | None) -> str:
    """Item identity within a feed: PMID (PubMed links change on every fetch), the GUID,
    the canonical link, else a hash of title and date."""
    if pmid:
        return f"pmid:{pmid}"
    if guid:
        return canonical_url(guid) if is_url(guid) else guid
    if is_url(link):
        pii = find_pii(link)
        return f"pii:{pii}" if pii else canonical_url(link)
    digest = hashlib.blake2b(f"{title.lower()}|{pub_date}".encode(), digest_size=12)
    return f"title:{digest.hexdigest()}"


def _body_html(entry: dict) -> str:
    """The longest of content and summary (Wiley's content is a one-line teaser), minus
    the publisher's teaser line and Elsevier's metadata paragraphs."""
    # feedparser leaves None for a summary or content whose element it could not finish.
    values = [item.get("value") or "" for item in entry.get("content", [])]
    values.append(entry.get("summary") or "")
    html = _TEASER.sub("", max(values, key=len).strip(), count=1).strip()
    if not _METADATA_LINE.search(plain_text(html)):
        return html
    kept = [p for p in re.split(r"(?i)(?=<p\b)", html) if not _METADATA_LINE.match(plain_text(p))]
    return "".join(kept).strip()


def _author_values(entry: dict, html: str) -> list[str]:
    names = [author.get("name", "") for author in entry.get("authors", []) if author.get("name")]
    if names:
        return names
    summary = entry.get("summary") or ""
    for paragraph in re.split(r"(?i)(?=<p\b)", summary):
        text = plain_text(paragraph)
        if text.lower().startswith("author(s):"):
            return [text.split(":", 1)[1]]
    return []


def _pub_date(entry: dict) -> str | None:
    """ISO date as the publisher wrote it; feedparser's parsed time only as a fallback
    (its UTC conversion can move a date across midnight)."""
    for key in ("prism_publicationdate", "published", "updated", "prism_coverdate"):
        value = (entry.get(key) or "").strip()
        match = _ISO_DATE.match(value)
        if match:
            return "-".join(part for part in match.groups() if part)
        parsed = entry.get(f"{key}_parsed")
        if parsed:
            return time.strftime("%Y-%m-%d", parsed)
    return None
