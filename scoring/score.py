"""Scoring a work against the profiles: a sum of named components, each with the matches
that made it (term, field, points), computed from title, abstract, keywords and MeSH."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from litmon.scoring.match import Matcher
from litmon.scoring.profile import BEYOND_CAP, Negative, Profile, Term

if TYPE_CHECKING:
    from litmon.scoring.learn import Learner

# What a concept adds, by where it was found: the title says what a paper is about; an
# abstract mentions much in passing (background, comparisons); author keywords are chosen.
FIELD_FACTORS = {"title": 1.0, "abstract": 0.5, "keywords": 0.75}
TEXT_FIELDS = tuple(FIELD_FACTORS)


@dataclass(frozen=True, slots=True)
class WorkText:
    """What scoring reads of a work."""

    id: int
    title: str
    abstract: str
    keywords: Sequence[str]
    mesh: Sequence[str]
    publication_types: Sequence[str]
    journal: str = ""


@dataclass(frozen=True, slots=True)
class Score:
    work_id: int
    topic: str
    score: float
    components: list[dict]  # the explanation: [{component, points, [cap], matches: [...]}]
    profile: str  # the profile's hash

    def above(self, threshold: float) -> bool:
        return self.score >= threshold


class Scorer:
    """The profiles compiled once: one text pass per field finds every term of every profile.
    The ``learner`` (the active model, if any) scores beside them."""

    def __init__(self, profiles: Sequence[Profile], learner: Learner | None = None) -> None:
        self.profiles = tuple(profiles)
        self.learner = learner
        self._hashes = [profile.hash for profile in self.profiles]
        self._rules = [_Rules.of(profile) for profile in self.profiles]
        spellings = []
        # a term's key: (profile index, component name, its place among the component's
        # terms); plain numbers and strings, hashed cheaply for every term of every text
        for index, profile in enumerate(self.profiles):
            for name, terms in _components(profile):
                for place, term in enumerate(terms):
                    spellings += [(v, (index, name, place)) for v in _spellings(term)]
        self._matcher = Matcher(spellings)

    def score(self, work: WorkText) -> list[Score]:
        texts = {
            "title": work.title or "",
            "abstract": work.abstract or "",
            "keywords": " ; ".join(work.keywords),
        }
        # (profile index, component) -> the places of its terms found -> the fields
        found: dict[tuple[int, str], dict[int, list[str]]] = {}
        for field in TEXT_FIELDS:  # so a term's fields come in this order
            for index, component, place in self._matcher.find(texts[field]) if texts[field] else ():
                found.setdefault((index, component), {}).setdefault(place, []).append(field)
        mesh = {heading.casefold() for heading in work.mesh}
        types = {kind.casefold() for kind in work.publication_types}
        return [
            self._score_one(index, profile, work.id, found, mesh, types)
            for index, profile in enumerate(self.profiles)
        ]

    def _score_one(
        self,
        index: int,
        profile: Profile,
        work_id: int,
        found: dict[tuple[int, str], dict[int, list[str]]],
        mesh: set[str],
        types: set[str],
    ) -> Score:
        rules = self._rules[index]
        components = []
        for group, headings in zip(profile.groups, rules.mesh, strict=True):
            matches = rules.matches(group.name, found.get((index, group.name)))
            matches += [
                {"term": heading, "field": "mesh", "points": weight}
                for heading, folded, weight in headings
                if folded in mesh
            ]
            total = sum(match["points"] for match in matches)
            component = {"component": group.name, "points": round(float(total), 4)}
            if group.cap is not None and total > group.cap:
                component.update(points=round(beyond_cap(total, group.cap), 4), cap=group.cap)
            components.append({**component, "matches": matches})
        components.append(_study_type(rules, found.get((index, "study_type")), mesh, types))
        components.append(
            _negative(rules, profile.negative, found.get((index, "negative")), mesh, types)
        )
        score = round(sum(component["points"] for component in components), 4)
        return Score(work_id, profile.topic, score, components, self._hashes[index])


def beyond_cap(total: float, cap: float) -> float:
    """A group's points when its matches add up to more than its cap: the cap, and of the
    rest a share that shrinks as it grows, less than :data:`BEYOND_CAP` however much."""
    return cap + BEYOND_CAP * (1 - math.exp(-(total - cap) / cap))


def _spellings(term: Term) -> list[str]:
    return [term.name, *term.variants]


def _components(profile: Profile) -> list[tuple[str, tuple[Term, ...]]]:
    """Each component with terms, by name: the groups, then the negative and the design."""
    components = [(group.name, group.terms) for group in profile.groups]
    return [*components, ("negative", profile.negative.terms), ("study_type", profile.design_terms)]


@dataclass(frozen=True, slots=True)
class _Rules:
    """A profile as scoring reads it for every work, worked out once: each term's name and
    points by field (by component, in the order of its terms), and the MeSH headings and
    publication types with their case-folded spelling."""

    points: dict[str, list[tuple[str, dict[str, float]]]]
    mesh: list[list[tuple[str, str, float]]]  # per group: (heading, folded, weight)
    study_types: list[tuple[str, str, float]]
    negative_types: list[tuple[str, str, float]]

    @classmethod
    def of(cls, profile: Profile) -> _Rules:
        def folded(named: Sequence[tuple[str, float]]) -> list[tuple[str, str, float]]:
            return [(name, name.casefold(), weight) for name, weight in named]

        points = {
            name: [
                (term.name, {f: round(term.weight * FIELD_FACTORS[f], 4) for f in TEXT_FIELDS})
                for term in terms
            ]
            for name, terms in _components(profile)
        }
        return cls(
            points,
            [folded(group.mesh) for group in profile.groups],
            folded(profile.study_types),
            folded(profile.negative.publication_types),
        )

    def matches(self, component: str, places: dict[int, list[str]] | None) -> list[dict]:
        """The matches of a component's terms found at ``places`` (place -> fields), in
        the order of its terms, then of the fields."""
        if not places:
            return []
        terms = self.points[component]
        matches = []
        for place in sorted(places):
            name, by_field = terms[place]
            for field in places[place]:
                matches.append({"term": name, "field": field, "points": by_field[field]})
        return matches


def _study_type(rules: _Rules, places: dict | None, mesh: set[str], types: set[str]) -> dict:
    """Only the best design counts (an RCT is also a clinical trial, and says so in its
    abstract); the rest add 0."""
    matches = rules.matches("study_type", places)
    for name, key, weight in rules.study_types:
        if key in types:
            matches.append({"term": name, "field": "publication_type", "points": weight})
        elif key in mesh:
            matches.append({"term": name, "field": "mesh", "points": weight})
    best = max(matches, key=lambda match: match["points"], default=None)
    for match in matches:
        if match is not best:
            match["points"] = 0.0
    return {
        "component": "study_type",
        "points": best["points"] if best else 0.0,
        "matches": matches,
    }


def _negative(
    rules: _Rules, negative: Negative, places: dict | None, mesh: set[str], types: set[str]
) -> dict:
    matches = rules.matches("negative", places)
    matches += [
        {"term": name, "field": "publication_type", "points": weight}
        for name, key, weight in rules.negative_types
        if key in types
    ]
    # MEDLINE indexers tag every study with its population; "Animals" alone means no humans
    # were studied. Without MeSH (new records) nothing is assumed.
    if negative.animal_only and "animals" in mesh and "humans" not in mesh:
        matches.append(
            {"term": "Animals without Humans", "field": "mesh", "points": negative.animal_only}
        )
    points = round(float(sum(match["points"] for match in matches)), 4)
    return {"component": "negative", "points": points, "matches": matches}
