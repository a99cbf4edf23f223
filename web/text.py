"""Text from feeds and PubMed on a page: always escaped, links only to http(s), and the
terms that made a work score highlighted without letting any markup through."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from markupsafe import Markup, escape

__all__ = ["highlight", "safe_url"]


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) address, else None (``javascript:``,
    ``data:``, relative and malformed links link nowhere)."""
    if not url:
        return None
    text = url.strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(ord(char) < 33 for char in text):  # control characters or spaces inside
        return None
    return text


def _pattern(spelling: str) -> str:
    """A term as it is matched by scoring: words in order, ``*`` as a word-prefix."""
    prefix = spelling.endswith("*")
    words = re.findall(r"\w+", spelling)
    if not words:
        return ""
    body = r"\W+".join(re.escape(word) for word in words)
    return rf"\b{body}" + (r"\w*" if prefix else r"\b")


def highlight(text: str | None, spellings: Iterable[str]) -> Markup:
    """``text`` escaped, with each occurrence of the spellings wrapped in ``<mark>``."""
    if not text:
        return Markup("")
    patterns = sorted({p for p in map(_pattern, spellings) if p}, key=len, reverse=True)
    if not patterns:
        return escape(text)
    pieces = []
    last = 0
    for match in re.finditer("|".join(patterns), text, flags=re.IGNORECASE):
        pieces.append(escape(text[last : match.start()]))
        pieces.append(Markup("<mark>%s</mark>") % text[match.start() : match.end()])
        last = match.end()
    pieces.append(escape(text[last:]))
    return Markup("").join(pieces)
