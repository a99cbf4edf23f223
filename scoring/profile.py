"""A topic's profile: what an editor weights, as the config gives it (``[topics.NAME.profile]``
in litmon.toml, parsed by the shell), and the hash stored with every score made from it."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

import orjson

# Bumped when the scoring rules (not the profiles) change, so that the stored hash of every
# score made by the old rules differs: `litmon score` and `litmon status` count them, until
# `litmon score --rescore`.
RULES_VERSION = 3

# What a group can add beyond its cap: a profile is written so that a cap plus the best
# design stays under the threshold by at least this much (settings check it).
BEYOND_CAP = 0.4


@dataclass(frozen=True, slots=True)
class Term:
    """One concept: its name (shown in explanations), its weight, and the spellings that
    count as it. A concept adds its weight once per field, however many variants match."""

    name: str
    weight: float
    variants: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Group:
    """A named component of the score: concepts found in the text, MeSH headings found in
    the work's MeSH, and a cap, so that a work piling up synonyms of one concept (every
    spelling of MS) cannot reach the threshold on that concept alone. Evidence beyond the
    cap still counts, with diminishing returns and never by :data:`BEYOND_CAP` or more, so
    that two works over the cap are told apart by how much evidence each has."""

    name: str
    cap: float | None  # None: no cap
    terms: tuple[Term, ...]
    mesh: tuple[tuple[str, float], ...]


@dataclass(frozen=True, slots=True)
class Negative:
    """What lowers a score: publication types (editorials, errata, comments), animal-only
    studies (MeSH "Animals" without "Humans"), and concepts such as another organ."""

    publication_types: tuple[tuple[str, float], ...]
    animal_only: float
    terms: tuple[Term, ...]


@dataclass(frozen=True, slots=True)
class Profile:
    topic: str
    threshold: float
    groups: tuple[Group, ...]
    # publication types or MeSH headings naming a design; only the best one counts, as an
    # RCT is also a clinical trial
    study_types: tuple[tuple[str, float], ...]
    negative: Negative
    # the design said in words ("randomised placebo-controlled trial"), for records that
    # have no publication type or MeSH yet; it competes with study_types for the best
    design_terms: tuple[Term, ...] = ()

    @property
    def hash(self) -> str:
        """Stored in ``work_scores.profile``: equal hashes, equal scores for equal works."""
        canonical = orjson.dumps(
            {"rules": RULES_VERSION, "profile": asdict(self)}, option=orjson.OPT_SORT_KEYS
        )
        return hashlib.sha256(canonical).hexdigest()[:16]
