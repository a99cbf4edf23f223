"""Guards: named checks a lay summary's draft must pass before editors see it as checked.

Plain functions of a draft (the four parts) and its summarization packet, with no database,
so that a summarizer worker runs the same checks client-side (to decide a re-prompt) that
``done`` and an editor's edit run server-side. Each check says why it passed or failed.

Each rule is written from a kind of error a lay summary makes: a number the study does not
report (a slip of the model, "23%" for "32%"), a result told as if it were about people with
MS when the study was in another disease, in animals or in cells, a preprint presented as
peer reviewed, a promise (a cure, a guarantee, dosing advice), a link elsewhere than the
study itself, parts missing, too long or too hard to read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from litmon.core.text import clean

__all__ = [
    "DEFAULT_BANNED",
    "DEFAULT_LENGTHS",
    "NUMBER",
    "PARTS",
    "Check",
    "GuardSettings",
    "check_draft",
    "failed",
    "numbers_in",
    "parse_parts",
]

PARTS = ("finding", "what_was_done", "why_it_matters", "limits")

_LINK = re.compile(r"(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)

# Characters per part (least, most): a one-line finding; a paragraph or two for the rest.
DEFAULT_LENGTHS: dict[str, tuple[int, int]] = {
    "finding": (20, 300),
    "what_was_done": (50, 1500),
    "why_it_matters": (30, 1000),
    "limits": (30, 1000),
}

# Claims a lay summary of one study must not make (regular expressions, any case): a cure
# or a guarantee, and dosing advice addressed to the reader.
DEFAULT_BANNED = (
    r"\bcur(?:e|es|ed|ing)\b",
    r"\bguarantee(?:d|s)?\b",
    r"\bmiracle\b",
    r"\bproven to\b",
    r"\byou should (?:take|start|stop|increase|reduce|lower|double|change)\b",
    r"\b(?:take|start|stop|increase|reduce|lower|double|change) (?:your|the) "
    r"(?:dose|dosage|medication|medicine|treatment|drug)\b",
    r"\b\d+(?:\.\d+)? ?(?:mg|mcg|µg|IU|units?)\b (?:a|per|each|every) day\b",
)


@dataclass(frozen=True)
class Check:
    """One guard's verdict on a draft: its name, whether the draft passed, and why."""

    name: str
    ok: bool
    reason: str


@dataclass(frozen=True)
class GuardSettings:
    """The guards' bounds, from the config's ``[guards]`` table.

    ``lengths``: least and most characters per part. ``max_grade``: the highest reading
    grade (Flesch-Kincaid, textstat) allowed for each of ``lay_parts``; "what_was_done"
    names methods and is left out by default. ``banned``: regular expressions of claims no
    draft may make (matched in any case)."""

    lengths: Mapping[str, tuple[int, int]] = field(default_factory=lambda: dict(DEFAULT_LENGTHS))
    max_grade: float = 12.0
    lay_parts: tuple[str, ...] = ("finding", "why_it_matters", "limits")
    banned: tuple[str, ...] = DEFAULT_BANNED


def parse_parts(text: str) -> dict[str, str] | None:
    """A hand-in as the four parts: a JSON object (optionally in a ```json fence) with at
    least one of the parts' keys. None for anything else: free text, which is stored as
    received and marked unchecked. Values that are not text become "" (and fail "parts")."""
    body = text.strip()
    fence = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", body, re.DOTALL)
    if fence:
        body = fence.group(1)
    if not body.startswith("{"):
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return None
    if not isinstance(value, dict) or not any(part in value for part in PARTS):
        return None
    # a model's text: JSON escapes (\u001b) can carry control characters past the API's
    # cleaning of the body, so each part is cleaned once parsed
    return {
        part: clean(value[part], lines=True) if isinstance(value.get(part), str) else ""
        for part in PARTS
    }


def failed(checks: Sequence[Check]) -> list[Check]:
    return [check for check in checks if not check.ok]


def check_draft(
    draft: Mapping[str, str], packet: Mapping, settings: GuardSettings | None = None
) -> list[Check]:
    """Every guard on ``draft`` (the four parts) against its ``packet`` (as
    :func:`litmon.review.build_packet` makes it), in a fixed order."""
    settings = settings or GuardSettings()
    parts = {part: draft.get(part) if isinstance(draft.get(part), str) else "" for part in PARTS}
    return [
        _present(parts),
        _lengths(parts, settings),
        _grade(parts, settings),
        _numbers(parts, packet),
        _population(parts, packet),
        _preprint(parts, packet),
        _claims(parts, settings),
        _links(parts, packet),
    ]


def _present(parts: Mapping[str, str]) -> Check:
    missing = [part for part in PARTS if not parts[part].strip()]
    if missing:
        return Check("parts", False, f"missing or empty: {', '.join(missing)}")
    return Check("parts", True, "all four parts are written")


def _lengths(parts: Mapping[str, str], settings: GuardSettings) -> Check:
    wrong = []
    for part in PARTS:
        if part not in settings.lengths or not parts[part].strip():
            continue
        least, most = settings.lengths[part]
        size = len(parts[part].strip())
        if not least <= size <= most:
            wrong.append(f"{part} has {size} characters (allowed {least}–{most})")
    if wrong:
        return Check("lengths", False, "; ".join(wrong))
    return Check("lengths", True, "every part is within its length bounds")


def _grade(parts: Mapping[str, str], settings: GuardSettings) -> Check:
    # imported here: textstat loads scikit-learn and nltk (seconds), and every command that
    # touches the queue imports this module (tests/test_startup.py)
    import textstat

    # A link is not a word a reader reads (the links check sees to it).
    grades = {
        part: textstat.flesch_kincaid_grade(_LINK.sub("", parts[part]))
        for part in settings.lay_parts
        if parts.get(part, "").strip()
    }
    hard = [f"{part} reads at grade {grade:.1f}" for part, grade in grades.items()
            if grade > settings.max_grade]  # fmt: skip
    if hard:
        return Check("reading_grade", False, "; ".join(hard) + f" (at most {settings.max_grade:g})")
    return Check(
        "reading_grade", True,
        f"{', '.join(settings.lay_parts)} read at grade {settings.max_grade:g} or below",
    )  # fmt: skip


# A number written in digits: 12, 1,234, 3.5, .05 (a p-value), the ends of a range 10–20.
# Not one glued to letters before it (CD20, T2, IL-17, COVID-19): those are names. Numbers
# written out in words ("two groups") are not checked: they are small and rarely misquoted.
NUMBER = re.compile(
    r"(?<![A-Za-z\d.,])(?<![A-Za-z]-)(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
)


def numbers_in(text: str) -> list[tuple[str, Decimal]]:
    """The numbers written in digits in ``text``: each as written and as a value, so that
    "0.05" is ".05", "1,200" is "1200" and "2.0" is "2"."""
    found = []
    for match in NUMBER.finditer(text):
        try:
            value = Decimal(match.group(1).replace(",", "")).normalize()
        except InvalidOperation:
            continue
        found.append((match.group(1), value))
    return found


def _source_text(packet: Mapping) -> str:
    """What a draft's numbers may come from: the title, the abstract, the date and the
    study facts' values (not their evidence, which counts MeSH headings)."""
    work = packet.get("work") or {}
    facts = packet.get("facts") or {}
    values = [
        fact.get("value") if isinstance(fact, Mapping) else fact
        for fact in (facts.get("design"), facts.get("population"))
    ]
    diseases = facts.get("diseases") or {}
    if isinstance(diseases, Mapping):
        values.append((diseases.get("studied") or {}).get("value"))
    return "\n".join(
        [work.get("title") or "", work.get("abstract") or "", work.get("date") or "",
         json.dumps(values)]
    )  # fmt: skip


def _numbers(parts: Mapping[str, str], packet: Mapping) -> Check:
    known = {value for _, value in numbers_in(_source_text(packet))}
    missing = []
    for part in PARTS:
        for written, value in numbers_in(parts[part]):
            if value not in known and written not in missing:
                missing.append(written)
    if missing:
        return Check(
            "numbers", False,
            f"not in the title, abstract or study facts: {', '.join(missing)}",
        )  # fmt: skip
    return Check("numbers", True, "every number written in digits is in the source")


_MS = r"(?:\bMS\b|multiple sclerosis|neuromyelitis|NMOSD|MOGAD|people|humans)"
_HEDGE = (
    r"(?:\bnot\b|n't\b|\bcannot\b|\bunclear\b|\bunknown\b|\bwhether\b|\byet to\b|"
    r"\bdiffer(?:s|ent)?\b|\bonly in\b)"
)
_SENTENCE = re.compile(r"[^.!?]+[.!?]?")


def _population_caveat_needed(packet: Mapping) -> str | None:
    """Why the packet's population is not known to be people with MS or a related disease
    (None when it is)."""
    facts = packet.get("facts") or {}
    population = (facts.get("population") or {}).get("value")
    related = ((facts.get("diseases") or {}).get("ms_or_related") or {}).get("value")
    studied = ((facts.get("diseases") or {}).get("studied") or {}).get("value")
    if not isinstance(population, list) or not population:
        return "who was studied is unknown"
    if "humans" not in population:
        return f"the study was in {' and '.join(population)}"
    if related is not True:
        if isinstance(studied, list) and studied:
            return f"the disease studied is {', '.join(studied)}, not MS"
        return "whether it studied MS or a related disease is unknown"
    return None


def _population(parts: Mapping[str, str], packet: Mapping) -> Check:
    why = _population_caveat_needed(packet)
    if why is None:
        return Check("population_caveat", True, "the study was in people with MS or related")
    for sentence in _SENTENCE.findall(parts["limits"]):
        if re.search(_MS, sentence, re.IGNORECASE) and re.search(_HEDGE, sentence, re.I):
            return Check("population_caveat", True, f"limits says so ({why})")
    return Check(
        "population_caveat", False,
        f"{why}: limits must say the result may not apply to people with MS",
    )  # fmt: skip


_NOT_REVIEWED = re.compile(
    r"(?:\bnot\b|n't\b|\bbefore\b|\bwithout\b|\byet to\b)[^.]{0,40}?\bpeer[- ]?review",
    re.IGNORECASE,
)


def _preprint(parts: Mapping[str, str], packet: Mapping) -> Check:
    work = packet.get("work") or {}
    if "Preprint" not in (work.get("publication_types") or []):
        return Check("preprint", True, "not a preprint")
    if any(_NOT_REVIEWED.search(parts[part]) for part in PARTS):
        return Check("preprint", True, "a preprint, named as not peer reviewed")
    return Check("preprint", False, "a preprint: the draft must say it is not peer reviewed")


# A claim denied is not made: "this is not a cure", "it has not been proven to work",
# "do not stop your treatment without your doctor" belong in a lay summary's limits.
_DENIED = re.compile(r"\b(?:not|no|never|without|nor|cannot)\b[^.,;!?]{0,30}$|n't\b[^.,;!?]{0,30}$",
                     re.IGNORECASE)  # fmt: skip


def _claims(parts: Mapping[str, str], settings: GuardSettings) -> Check:
    found = []
    for part in PARTS:
        for pattern in settings.banned:
            for match in re.finditer(pattern, parts[part], re.IGNORECASE):
                if not _DENIED.search(parts[part][: match.start()]):
                    found.append(f"{match.group(0)!r} in {part}")
                    break
    if found:
        return Check("claims", False, "claims no summary may make: " + "; ".join(found))
    return Check("claims", True, "no cure, guarantee or dosing advice")


def _normal_link(url: str) -> str:
    url = url.rstrip(".,;:!?").lower()
    url = re.sub(r"^(?:https?://)?(?:www\.)?", "", url)
    return url.replace("dx.doi.org/", "doi.org/").rstrip("/")


def _links(parts: Mapping[str, str], packet: Mapping) -> Check:
    links = (packet.get("work") or {}).get("links") or {}
    allowed = {_normal_link(links[kind]) for kind in ("pubmed", "doi") if links.get(kind)}
    others = [
        match.group(0).rstrip(".,;:!?")
        for part in PARTS
        for match in _LINK.finditer(parts[part])
        if _normal_link(match.group(0)) not in allowed
    ]
    if others:
        listed = ", ".join(others)
        return Check("links", False, f"links other than the study's PubMed or DOI: {listed}")
    return Check("links", True, "no links but the study's own")
