"""Text from feeds and PubMed on a page: always escaped, each piece isolated from its
neighbours' direction, links only to http(s), and the terms that made a work score
highlighted without letting any markup through."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment
from markupsafe import Markup, escape

from litmon.core.text import BIDI_CONTROLS

__all__ = ["highlight", "install", "isolate", "isolate_each", "safe_url"]

_BIDI = re.compile(f"[{BIDI_CONTROLS}]")


def isolate(text: object) -> Markup:
    """Stored text as an isolated piece of the page (``<bdi>``: its own direction, found
    from its first strong letter): a right-to-left name, or an unclosed U+202E override in a
    journal's name, can no longer reverse the dates and scores printed after it."""
    if text is None or text == "":
        return Markup("")
    return Markup("<bdi>%s</bdi>") % text


def isolate_each(texts: Iterable[object] | None, separator: str = "; ") -> Markup:
    """A list of stored texts (authors, study facts), each isolated, apart by
    ``separator`` (not a comma: "Smith, J" holds one)."""
    return Markup(escape(separator)).join(isolate(text) for text in texts or ())


def _finalize(value: Any) -> Any:
    """What every ``{{ }}`` of a template prints: plain text holding a bidirectional
    control, shown without :func:`isolate` (a template that forgot it), or in an attribute,
    is enclosed in FSI..PDI, which ends any override opened inside it."""
    if isinstance(value, str) and not isinstance(value, Markup) and _BIDI.search(value):
        return f"\u2068{value}\u2069"
    return value


def install(environment: Environment) -> None:
    """The filters for stored text (``| stored``, ``| stored_each``) and the safety net
    behind them, in the pages' template environment."""
    environment.filters["stored"] = isolate
    environment.filters["stored_each"] = isolate_each
    environment.finalize = _finalize


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
