"""Per-item helpers: identifiers, canonical links, authors, sanitized and plain text."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

import nh3
from bs4 import BeautifulSoup

from litmon.core.records import normalize_doi

_DOI_IN_TEXT = re.compile(
    r"(?:\bdoi:\s*|\bdoi\.org/|\binfo:doi/|/doi/(?:abs/|full/|pdf/|epdf/)?)(10\.\d{4,9}/[^\s\"'<>&?#]+)",
    re.IGNORECASE,
)
# OUP links carry the DOI followed by an article number: /doi/10.1093/brain/awae123/7654321
_OUP_DOI = re.compile(r"academic\.oup\.com/.*?/doi/(10\.1093/[^/?#\s]+/[^/?#\s]+)", re.I)
_PMID_IN_TEXT = re.compile(r"\bpmid:\s*(\d{1,9})\b", re.IGNORECASE)
_PUBMED_LINK = re.compile(r"^https?://(?:www\.)?pubmed\.ncbi\.nlm\.nih\.gov/(\d{1,9})/?", re.I)
_PII = re.compile(r"/pii/(S?[0-9X()-]{15,})", re.IGNORECASE)
_BARE_PII = re.compile(r"^S[0-9X]{16}$")
_TRACKING = {"af", "rss", "dgcid", "ff", "fc", "v", "cmp", "src", "campaign"}
# Publishers that serve one site under several host names (society subdomains of Wiley).
_HOST_FAMILIES = ("onlinelibrary.wiley.com",)
_COLLECTIVE = re.compile(
    r"\b(group|consortium|investigators|collaborat\w*|committee|network|society|study|team)\b",
    re.IGNORECASE,
)
_PARTICLES = {"van", "von", "der", "den", "de", "del", "della", "di", "da", "du", "la", "le", "dos"}
_INITIALS = re.compile(r"^(?:[A-Z]\.?[-\s]?){1,4}$")


def find_doi(*candidates: str | None) -> str | None:
    """The first DOI in the candidates: bare DOIs, ``doi:``/``info:doi/`` forms, DOI links."""
    for value in candidates:
        if not value:
            continue
        doi = normalize_doi(value)
        if doi:
            return doi
        match = _OUP_DOI.search(value) or _DOI_IN_TEXT.search(value)
        if match:
            doi = normalize_doi(match.group(1).rstrip(".,;)]"))
            if doi:
                return doi
    return None


def find_pmid(*candidates: str | None) -> str | None:
    """A PubMed id from ``pubmed:N``/``pmid:N`` GUIDs and identifiers or a PubMed link."""
    for value in candidates:
        if not value:
            continue
        value = value.strip()
        if value.lower().startswith("pubmed:") and value[7:].strip().isdigit():
            return value[7:].strip()
        match = _PMID_IN_TEXT.search(value) or _PUBMED_LINK.match(value)
        if match:
            return match.group(1)
    return None


def find_pii(*candidates: str | None) -> str | None:
    """An Elsevier PII from a ``/pii/`` link or a bare PII GUID."""
    for value in candidates:
        if not value:
            continue
        match = _PII.search(value)
        if match:
            return re.sub(r"[^0-9A-Z]", "", match.group(1).upper())
        if _BARE_PII.match(value.strip()):
            return value.strip()
    return None


def canonical_url(url: str) -> str:
    """The link without tracking parameters, fragment, ``www.`` or society host prefixes.

    Feeds re-issue the same item with new ``utm_*``/``af``/``ff`` parameters, ``http`` vs
    ``https``, or a publisher's society subdomain; none of that is a new item.
    """
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    for family in _HOST_FAMILIES:
        if host.endswith("." + family):
            host = family
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    query = "&".join(
        pair
        for pair in parts.query.split("&")
        if pair and not _is_tracking(pair.split("=", 1)[0].lower())
    )
    scheme = "https" if parts.scheme in ("http", "https") else parts.scheme
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


def _is_tracking(key: str) -> bool:
    return key.startswith("utm_") or key in _TRACKING


def is_url(value: str) -> bool:
    """An http(s) URL that can be taken apart: a port out of range or a broken IPv6 host
    makes ``urlsplit`` raise, and such a link is then kept as plain text, not a URL."""
    value = value.strip()
    if not re.match(r"^https?://", value, re.IGNORECASE):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (reading the port is what checks it)
    except ValueError:
        return False
    return bool(parts.hostname)


def split_authors(names: list[str]) -> list[str]:
    """Authors as ``Last, First`` from dc:creator / atom author values.

    A value may hold one name or a list: ``A B, C D`` (Wiley), ``Last, I., Other, J.``
    (bioRxiv) or ``A; B``.
    """
    authors: list[str] = []
    for value in names:
        for name in _split_list(" ".join(value.split())):
            formatted = _last_first(name)
            if formatted and formatted not in authors:
                authors.append(formatted)
    return authors


def _split_list(value: str) -> list[str]:
    value = value.strip().strip(",;").strip()
    if not value:
        return []
    if ";" in value:
        return [part.strip() for part in value.split(";") if part.strip()]
    value = re.sub(r",?\s+and\s+", ", ", value)
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if len(parts) >= 2 and all(_INITIALS.match(p) for p in parts[1::2]) and len(parts) % 2 == 0:
        return [f"{parts[i]}, {parts[i + 1]}" for i in range(0, len(parts), 2)]
    if len(parts) == 2 and " " not in parts[0] and len(parts[1].split()) <= 3:
        return [value]  # one "Last, First" name
    return parts


def _last_first(name: str) -> str:
    name = name.strip()
    if not name or "," in name or _COLLECTIVE.search(name):
        return name
    words = name.split()
    if len(words) == 1:
        return name
    start = len(words) - 1
    while start > 1 and words[start - 1].lower() in _PARTICLES:
        start -= 1
    return f"{' '.join(words[start:])}, {' '.join(words[:start])}"


def sanitize_html(html: str) -> str:
    """Feed HTML reduced to safe markup (no scripts, styles, event handlers, iframes)."""
    return nh3.clean(html).strip()


_BLOCKS = ("p", "div", "section", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote")


def plain_text(html: str) -> str:
    """Readable text: block elements become paragraphs, whitespace collapsed."""
    soup = BeautifulSoup(html, "html.parser")
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for block in soup.find_all(_BLOCKS):
        block.insert_before("\n\n")
        block.insert_after("\n\n")
    lines = [" ".join(line.split()) for line in soup.get_text().split("\n")]
    paragraphs = re.split(r"\n{2,}", "\n".join(lines).strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())
