"""What the public site shows of a published piece, as plain data the pages are made from."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Piece:
    """A published lay summary and the study it is about. ``taken_down`` is why it came
    down (the work was retracted or withdrawn after publication, or an editor took the
    piece back to revise it), None while it stands. ``withdrawn``: its candidate is
    withdrawn, and ``acknowledged``: that takedown is recorded in its trail already."""

    candidate_id: int
    finding: str
    what_was_done: str
    why_it_matters: str
    limits: str
    published_at: str  # first published: UTC, ISO 8601
    title: str  # the study's
    journal: str | None = None
    pub_date: str | None = None
    pmid: str | None = None
    doi: str | None = None
    authors: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    revised_at: str | None = None  # published again (a revised draft), if it was
    taken_down: str | None = None
    withdrawn: bool = False
    acknowledged: bool = False
    merged_into: int | None = None  # the candidate whose piece now stands for this one

    @property
    def order(self) -> tuple[str, int]:
        """Oldest first (by first publication); the index lists the reverse."""
        return self.published_at, self.candidate_id


def slug(text: str, words: int = 8) -> str:
    """A short ASCII slug for a URL: ``"MRI (QSM) may show…"`` -> ``mri-qsm-may-show``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    parts = re.findall(r"[a-z0-9]+", ascii_text.lower())[:words]
    return "-".join(parts)[:60].strip("-") or "piece"
