"""Secrets out of URLs and messages, applied where an error or a URL is built for display
or storage (every :class:`~litmon.core.errors.LitmonError`, the feed lines and pages, the
log): a feed configured as ``https://alice:PW@host/feed.xml?token=T`` is shown and stored
as ``https://***@host/feed.xml?token=***``."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

__all__ = ["HIDDEN", "is_secret_name", "redact_text", "redact_url"]

HIDDEN = "***"

# Words that make a query parameter (or an assignment in text) a secret, alone or as a
# part of its name: api_key, X-Amz-Signature, access_token, client_secret, authKey...
_SECRET_WORDS = frozenset(
    "token key apikey password passwd pwd pass secret sig signature auth authorization"
    " credential credentials session sessionid sid jwt".split()
)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
# name=value after ?, & or ; (a query met outside a whole URL: "with url: /f.xml?token=T")
_PAIR = re.compile(r"(?<=[?&;])([A-Za-z0-9_.\-\[\]]+)=([^&#\s'\"<>]*)")
# an assignment in prose or a header: "api_key: K", "password=K", "Bearer K"
_ASSIGNED = re.compile(
    r"(?i)\b((?:api[_-]?key|apikey|access[_-]?token|token|password|passwd|secret)"
    r"[\"']?\s*[=:]\s*[\"']?)(?!\*\*\*)([^&\s\"',;]+)"
)
_BEARER = re.compile(r"(?i)(bearer\s+)([A-Za-z0-9._~+/=-]+)")


def is_secret_name(name: str) -> bool:
    """Whether a parameter called ``name`` holds a secret (case and separators ignored)."""
    lowered = name.lower()
    parts = [part for part in re.split(r"[^a-z0-9]+", lowered) if part]
    camel = re.findall(r"[a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name).lower())
    return lowered.startswith("auth") or any(p in _SECRET_WORDS for p in [*parts, *camel])


def redact_url(url: str) -> str:
    """``url`` with its user-info and the values of its secret query parameters hidden."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not parseable as a URL: hide what looks like secrets in it
        return _redact_pairs(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{HIDDEN}@{netloc.rsplit('@', 1)[1]}"
    query = _redact_pairs("?" + parts.query)[1:] if parts.query else parts.query
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """``text`` (an error message, a log line) with every URL in it redacted, and the
    secret query values, assignments and bearer tokens outside whole URLs hidden too."""
    text = _URL.sub(_redact_match, text)
    text = _redact_pairs(text)
    text = _ASSIGNED.sub(rf"\g<1>{HIDDEN}", text)
    return _BEARER.sub(rf"\g<1>{HIDDEN}", text)


def _redact_match(match: re.Match[str]) -> str:
    """A URL met in text, without the punctuation that ends the sentence around it."""
    url = match.group(0)
    stripped = url.rstrip(".,;:)]")
    return redact_url(stripped) + url[len(stripped) :]


def _redact_pairs(text: str) -> str:
    def hide(match: re.Match[str]) -> str:
        name, value = match.groups()
        if not is_secret_name(name) or value.startswith(HIDDEN):  # hidden already
            return match.group(0)
        return f"{name}={HIDDEN}"

    return _PAIR.sub(hide, text)
