"""Deciding whether a record is a work already stored.

Exact identifiers are matched by the store; this module holds the keys and the judgement
for records that share no identifier: a normalized title key and fuzzy comparison within
blocks.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from db.records import Record

_NON_WORD = re.compile(r"[^a-z0-9]+")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", text.lower()).strip()


def first_author_surname(record: Record) -> str:
    if not record.authors:
        return ""
    return _fold(record.authors[0].split(",")[0]).split(" ")[-1] if record.authors[0] else ""


def title_key(record: Record) -> str | None:
    """Normalized title + year + first author's surname; equal keys mean the same work."""
    title = _fold(record.title).replace(" ", "")
    if len(title) < 20 or record.year is None:
        return None
    return f"{title}|{record.year}|{first_author_surname(record)}"


def block_keys(record: Record) -> list[str]:
    """Keys under which fuzzy candidates for this record are looked up."""
    words = [w for w in _fold(record.title).split() if len(w) > 3]
    return [f"t:{' '.join(words[:3])}"] if len(words) >= 3 else []


@dataclass(frozen=True, slots=True)
class Verdict:
    same: bool  # merge automatically
    possible: bool  # store as a possible duplicate for an editor
    score: float
    reason: str


def judge(new: Record, stored: Record) -> Verdict:
    """Compare two records that share a block."""
    same = _fold(new.title) == _fold(stored.title) and new.year == stored.year
    return Verdict(same=same, possible=False, score=1.0 if same else 0.0, reason="title")
