"""A draft as the candidate page shows it beside the abstract: each number in the draft
linked to where the abstract has it (the abstract's numbers get anchors), the latest
version's parts, its checks and every version."""

from __future__ import annotations

import re
import sqlite3
from decimal import Decimal, InvalidOperation
from typing import Any

from markupsafe import Markup, escape

from litmon import review
from litmon.review.drafts import LABELS
from litmon.review.guards import NUMBER, PARTS

__all__ = ["draft_panel"]

# A number in escaped HTML, never one inside a tag (<mark>) or an entity (&#39;).
_IN_MARKUP = re.compile(r"(<[^>]*>|&#?\w+;)|" + NUMBER.pattern)


def _value(written: str) -> Decimal | None:
    try:
        return Decimal(written.replace(",", "")).normalize()
    except InvalidOperation:
        return None


def _anchored(html: Markup, anchors: dict[Decimal, str], start: int) -> tuple[Markup, int]:
    """The abstract's (escaped, highlighted) text with each number in a span of its own id;
    ``anchors`` gets the id of each value's first occurrence."""
    count = start

    def wrap(match: re.Match) -> str:
        nonlocal count
        if match.group(1):
            return match.group(1)
        written = match.group(2)
        count += 1
        ident = f"abstract-number-{count}"
        value = _value(written)
        if value is not None:
            anchors.setdefault(value, ident)
        return f'<span class="number" id="{ident}">{written}</span>'

    return Markup(_IN_MARKUP.sub(wrap, str(html))), count


def _linked(text: str, anchors: dict[Decimal, str], elsewhere: set[Decimal]) -> Markup:
    """A draft's text, escaped, each number linked to its place in the abstract; one the
    abstract lacks is marked (in the title or date: quietly; nowhere: as a failure)."""

    def link(match: re.Match) -> str:
        if match.group(1):
            return match.group(1)
        written = match.group(2)
        value = _value(written)
        if value in anchors:
            return f'<a class="number" href="#{anchors[value]}">{written}</a>'
        if value in elsewhere:
            return f'<span class="number" title="in the title or date">{written}</span>'
        return f'<mark class="number missing" title="not in the abstract">{written}</mark>'

    return Markup(_IN_MARKUP.sub(link, str(escape(text))))


def draft_panel(
    conn: sqlite3.Connection, candidate: dict, packet: dict, sections: list[dict]
) -> tuple[list[dict], dict[str, Any]]:
    """The abstract's sections with their numbers anchored, and what the page shows of the
    candidate's drafts (the latest with its parts linked, its checks, every version)."""
    anchors: dict[Decimal, str] = {}
    count = 0
    anchored = []
    for section in sections:
        text, count = _anchored(section["text"], anchors, count)
        anchored.append(section | {"text": text})
    work = packet["work"]
    elsewhere = {
        value
        for source in (work["title"], work["date"] or "")
        for match in NUMBER.finditer(source)
        if (value := _value(match.group(1))) is not None
    }
    versions = review.drafts_of(conn, candidate["id"])
    latest = versions[-1] if versions else None
    linked = {}
    if latest is not None:
        texts = latest["parts"] or {"text": latest["text"]}
        linked = {name: _linked(value or "", anchors, elsewhere) for name, value in texts.items()}
    return anchored, {
        "draft": latest,
        "versions": versions,
        "linked": linked,
        "parts": PARTS,
        "labels": LABELS,
        "sent_back": packet.get("sent_back"),
    }
