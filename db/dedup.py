"""Deciding whether a record is a work already stored.

Exact identifiers are matched by the store; this module holds the blocking keys and the
judgement for records that share no identifier: a fuzzy comparison of title, authors,
journal, year, volume, issue and pages.

The judgement follows evidence, never a list of known records. *Conflicting* evidence
vetoes a merge (a different year, volume, issue or first page, other authors, numbers in
the title, a notice marker): such a pair becomes at most a *possible* duplicate for an
editor. *Missing* evidence is neutral: a title equal after normalization, with the same
authors and year and nothing conflicting, is the same work even when one record has no
journal or pages (a working paper, a conference version, a scholar-engine export). A title
many stored works share ("Editor's Comments", "Erratum") identifies nothing: such a pair
needs positive agreement on issue, pages or DOI (the store measures how frequent a title
is, see ``frequent`` in :func:`compare`). Notices (errata, retractions, replies) and parts
of a series are never the same work as the article they are about.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz.distance import Indel

from litmon.core.records import Record

# Not a letter or digit of any script: a title in Cyrillic or Chinese is compared in its own
# script, not folded to nothing.
_NON_WORD = re.compile(r"[\W_]+")
_MARKUP = re.compile(r"</?(?:i|b|u|em|strong|sup|sub|sc|span|p|br|mml:[a-z]+)\b[^>]*>", re.I)
# A short bracketed tag before or after the title: "[Chinese]", "[Article in Polish]", "[letter]".
# A title that is all brackets ("[Update on stroke]. [Article in German]") is a translated title.
_EDGE_TAGS = (
    re.compile(r"\s*\[[^\[\]]{1,40}\]\s*\.?\s*$"),
    re.compile(r"^\s*\[[^\[\]]{1,40}\]\s*(?=\S)"),
)
# Notes a bibliographic database appends to an article's title, possibly cut off or holding
# brackets of their own: "... syndrome.[Erratum appears in N Engl J Med. 2009 ...]",
# "[Comment in: ...]", "[Erratum appears in ... Note: Smith, J [added]]". A note runs to the end
# and follows a title: a translated title may itself start "[Update on ...]".
_TITLE_NOTE = re.compile(
    r"(?<=\S)\s*\[(?:erratum|comment|retraction|retracted|corrected|update|summary for patients)"
    r"\b.*$",
    re.I | re.S,
)
# A correction notice titled with the corrected article's title and citation:
# "... syndrome (vol 142, pg 310, 2003)" (Web of Science), "... (N Engl J Med (2009) 360
# (542-544))" (Embase).
_CORRECTED_CITATION = re.compile(
    r"\s*\((?:vol\.? \w+, pg\.? \w+,? \d{4}|[^()]+\(\d{4}\)\s*\w+\s*(?:\(\w+\)\s*)?\([^()]+\))\)"
    r"\s*\.?\s*$",
    re.I,
)
_THOUSANDS = re.compile(r"(?<=\d)[ ,](?=\d{3}\b)")
_COMBINING = re.compile(r"[\u0300-\u036f]")
_ELLIPSIS = re.compile(r"(?:\.\.\.|…)\s*\]?\s*\.?\s*$")
_GREEK = str.maketrans(
    {
        "α": " alpha ",
        "β": " beta ",
        "γ": " gamma ",
        "δ": " delta ",
        "ε": " epsilon ",
        "κ": " kappa ",
        "λ": " lambda ",
        "μ": " mu ",
        "π": " pi ",
        "σ": " sigma ",
        "τ": " tau ",
        "ω": " omega ",
    }
)
# Latin letters that NFKD does not take apart, as an ASCII export spells them.
_LATIN_LETTERS = str.maketrans(
    {
        "ß": "ss",
        "ø": "o",
        "Ø": "O",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "ı": "i",
        "þ": "th",
        "Þ": "Th",
    }
)
_STOPWORDS = frozenset(
    "a an and are as at by for from in into is its of on or the their to via vs with".split()
)

_NOTICE_PATTERNS = (
    (
        "erratum",
        r"(?:erratum|errata|corrigendum|(?:author |publisher )?corrections?)"
        r"\s*(?:[:.\-–]|to\b|for\b|in\b|on\b|$)",
    ),
    ("erratum", r"publisher'?s note\b"),
    (
        "retraction",
        r"(?:notice of )?(?:retraction|withdrawal)(?: note| notice)?"
        r"\s*(?:[:.\-–]|of\b|to\b|for\b|$)",
    ),
    ("concern", r"(?:editorial )?expression of concern\b"),
    (
        "comment",
        r"(?:re\s*:|in reply\b|in response\b|(?:authors?'? )?reply\b|response\s*(?::|to the\b)"
        r"|comments? on\b|commentary on\b)",
    ),
)
_NOTICES = tuple(
    (kind, re.compile(rf"^\s*(?:{pattern})", re.I)) for kind, pattern in _NOTICE_PATTERNS
)
# "... syndrome - Reply", "... syndrome. Authors' response", "... syndrome AUTHORS REPLY"; not
# an article's own last word ("Predictors of treatment response").
# What joins a notice's marker to the title it is about: "Reply to: ...", "Erratum - ...".
_MARKER_TAIL = re.compile(r"^\s*(?:to\b)?\s*[:.\-–]*\s*", re.I)
_REPLY_SUFFIX = re.compile(r"(?:\bauthors?'?\s+|[-–:.,]\s*)(?:reply|response)\s*[.\]]*\s*$", re.I)
_NOTICE_TYPES = {
    "Published Erratum": "erratum",
    "Retraction of Publication": "retraction",
    "Expression of Concern": "concern",
}
_SERIES = re.compile(
    r"\b(part|phase|paper|section|series|stage|volume)\s+(\d+|[ivx]+|one|two|three|four|five)\b"
)
_ORDINALS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_ROMAN = {"i": 1, "v": 5, "x": 10}


def fold(text: str) -> str:
    """Lower-case words: entities, markup, diacritics and punctuation go, Greek letters are
    spelled out, other scripts stay."""
    if "&" in text:
        text = html.unescape(text).replace("&", " and ")
    if "<" in text:
        text = _MARKUP.sub("", text)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text.translate(_GREEK))
        text = _COMBINING.sub("", text).translate(_LATIN_LETTERS)
    return _NON_WORD.sub(" ", text.lower()).strip()


def _strip_edge_tags(title: str) -> str:
    """The title without bracketed tags at either end, one at a time, keeping the last
    bracketed part when nothing else is left."""
    for tag in _EDGE_TAGS:
        while (untagged := tag.sub("", title, count=1)) != title and fold(untagged):
            title = untagged
    return title


def fold_title(title: str) -> str:
    """A title folded for comparison, without language tags like ``[Chinese]``, appended
    notes, or the marker of a notice ("Erratum: ...", "... - Reply"): a notice compares by
    the title it is about, and its kind (see :func:`profile`) keeps it apart from the article.
    """
    title = html.unescape(title)
    # each pattern is tried only when its anchor character or word is there at all: these
    # run for every new record, and most titles have none of them
    if "[" in title:
        title = _TITLE_NOTE.sub("", title)
    if ")" in title:
        title = _CORRECTED_CITATION.sub("", title)
    if "[" in title:
        title = _strip_edge_tags(title)
    marker = _notice_marker(title)
    if marker is not None:
        # "Reply." and "Reply" are the same notice: a marker followed by punctuation only
        # is the whole title, not a marker before an empty one
        about = _MARKER_TAIL.sub("", title[marker.end() :])
        if fold(about):
            title = about
    lowered = title.lower()
    if "repl" in lowered or "respons" in lowered:
        title = _REPLY_SUFFIX.sub("", title)
    return fold(_THOUSANDS.sub("", title))


def surname(author: str) -> str:
    """The family name of ``"Last, Fore"``, ``"Last FM"`` or ``"Fore Last"``, folded, no spaces."""
    if "," in author:
        return fold(author.split(",")[0]).replace(" ", "")
    words = author.split()
    if len(words) > 3:  # a collective name such as "Stroke Trials Collaboration Group"
        return fold(author).replace(" ", "")
    if len(words) > 1 and re.fullmatch(r"[A-Z]{1,3}", words[-1].replace(".", "")):
        return fold(" ".join(words[:-1])).replace(" ", "")
    return fold(words[-1]).replace(" ", "") if words else ""


def _initial(author: str) -> str:
    """The first letter of the given names of ``"Last, Fore"`` (empty when unknown)."""
    given = fold(author.split(",", 1)[1]) if "," in author else ""
    return given[:1]


def first_author_surname(record: Record) -> str:
    return surname(record.authors[0]) if record.authors else ""


def _content_words(title: str) -> list[str]:
    return [w for w in title.split() if len(w) > 2 and w not in _STOPWORDS]


@dataclass(frozen=True, slots=True)
class Blocking:
    """Where a record's fuzzy candidates are stored and looked up.

    ``keys`` come from the title: its first three and its last three content words ("f:",
    "e:"; a truncated title keeps its start, a title with a prefix such as "MEDICAL
    PROGRESS ..." its end; the same title shares both), or for a title of fewer content
    words ("Erratum", "Editor's Comments") the whole title folded ("t:"). A key many works
    share (a title ending
    "in multiple sclerosis", the notices titled "Erratum") is split, once full, into
    narrower blocks: by year, then by first author, then by where the work is printed. Each
    ``path`` step is the value the record is stored under at that depth; ``lookups`` the
    values it is looked up under (a year off by one is the same online-first article).
    """

    keys: tuple[str, ...]
    path: tuple[str, ...]
    lookups: tuple[tuple[str, ...], ...]
    title_key: str | None  # a "t:" key: when full, the title is one many works share


def blocking(record: Record) -> Blocking:
    folded = fold_title(record.title)
    compact = folded.replace(" ", "")
    words = _content_words(folded)
    title_key = f"t:{compact}" if compact and len(words) < 3 else None
    keys = [title_key] if title_key else []
    if len(words) >= 3:
        # a key for the whole title too would be one more index entry per work, and the
        # works with the same title are in these blocks already
        keys.append(f"f:{' '.join(words[:3])}")
        keys.append(f"e:{' '.join(words[-3:])}")
    path = block_path(record)
    year = record.year
    years = (path[0],) if year is None else (path[0], f"y{year - 1}", f"y{year + 1}")
    return Blocking(
        keys=tuple(dict.fromkeys(keys)),
        path=path,
        lookups=(years, path[1:2], path[2:3]),
        title_key=title_key,
    )


def block_path(record: Record) -> tuple[str, str, str]:
    """The values a record is stored under below a full block (see :class:`Blocking`): its
    year, its first author, where in its journal it is printed."""
    year = "y?" if record.year is None else f"y{record.year}"
    return year, f"a{first_author_surname(record)}", _place(record)


def _place(record: Record) -> str:
    """Where in its journal a record is printed, as one block value: the first page, else
    the issue, else the volume."""
    pages = parse_pages(record.pages)
    if pages is not None and pages.first:
        return f"p{pages.style}{pages.first.lstrip('0')}"
    for prefix, value in (("i", record.issue), ("v", record.volume)):
        if (number := _first_number(value)) is not None:
            return f"{prefix}{number}"
    return "-"


def _notice_marker(title: str) -> re.Match[str] | None:
    for _, pattern in _NOTICES:
        if match := pattern.match(title):
            return match
    return None


def notice_kind(record: Record) -> str:
    title = html.unescape(record.title)
    for kind, pattern in _NOTICES:
        if pattern.match(title):
            return kind
    if _REPLY_SUFFIX.search(title):
        return "comment"
    if _CORRECTED_CITATION.search(title):
        return "erratum"
    for ptype in record.publication_types:
        if ptype in _NOTICE_TYPES:
            return _NOTICE_TYPES[ptype]
    return ""


def _number(token: str) -> int:
    if token.isdigit():
        return int(token)
    if token in _ORDINALS:
        return _ORDINALS[token]
    values = [_ROMAN[c] for c in token]
    return sum(-v if v < w else v for v, w in zip(values, [*values[1:], 0], strict=True))


def _first_number(value: str | None) -> str | None:
    """The leading number of a volume ("38 Suppl 1" -> "38")."""
    match = re.search(r"\d+", value or "")
    return (match.group().lstrip("0") or "0") if match else None


_PAGES = re.compile(r"^\s*([A-Za-z]*)\.?\s*(\d*)[A-Za-z]*\s*(?:[-–—]+\s*[A-Za-z]*\.?\s*(\d+))?")


@dataclass(frozen=True, slots=True)
class Pages:
    """A page range: ``style`` is a letter prefix of article numbers ("e", "a", "c"...).

    A missing ``first`` means the start was garbled ("Suppl-12"); a short ``last`` is
    expanded ("123-9" -> last "129"). "S" (supplement) pages compare as plain numbers.
    """

    style: str
    first: str | None
    last: str | None


# A count of pages, not a place: a thesis's or a book's extent ("215 p", "xii, 215 pp.").
_EXTENT = re.compile(r"^\s*(?:[ivxlc]+,\s*)?\d+\s*(?:pp?|pages?)\.?\s*$", re.I)


def parse_pages(value: str | None) -> Pages | None:
    if value and _EXTENT.match(value):
        return None
    match = _PAGES.match(value or "")
    if match is None or not (match[2] or match[3]):
        return None
    style, first, last = match[1].lower(), match[2] or None, match[3]
    if last and first and len(last) < len(first):
        last = first[: len(first) - len(last)] + last
    if first and last and int(last) < int(first):
        return None  # a malformed range says nothing
    return Pages("" if style == "s" else style, first, last or first)


def pages_agree(a: Pages | None, b: Pages | None) -> bool | None:
    """True when two page ranges are the same place, False when they differ, None when
    they cannot be compared (one missing, article number vs pages, a typo in one end)."""
    if a is None or b is None:
        return None
    if a.first and b.first:
        if a.style != b.style:
            # One source dropped the letter prefix ("c37-c42" / "37-42"): the same range.
            same_range = a.first != a.last and (a.first, a.last) == (b.first, b.last)
            return True if "" in (a.style, b.style) and same_range else None
        if a.first == b.first:
            return True
        if a.first == a.last and a.last and b.last and int(b.first) <= int(a.first) <= int(b.last):
            return True  # one source gives a single page of the other's range
        if b.first == b.last and b.last and a.last and int(a.first) <= int(b.first) <= int(a.last):
            return True
        return None if a.last == b.last else False
    if a.last and b.last:
        return a.last.endswith(b.last) or b.last.endswith(a.last)
    return None


@dataclass(frozen=True, slots=True)
class Profile:
    """What the judgement compares, computed once per record."""

    title: str
    main_title: str  # the part before a subtitle ("Title: a subtitle"), folded; "" if none
    # the title's parts in two languages ("Original; English", "Original. [English]"),
    # folded, each long enough to name a paper
    translations: tuple[str, ...]
    # the database translated the title ("[English title]", "... [Spanish]"): two
    # translations of one original need not be worded alike
    translated: bool
    words: int
    truncated: bool  # the source marked the title as cut ("...")
    kind: str  # "", "erratum", "retraction", "concern", "comment"
    series: tuple[tuple[str, int], ...]
    numbers: tuple[str, ...]
    authors: tuple[tuple[str, str], ...]  # (surname, first initial)
    year: int | None
    journals: tuple[str, ...]
    volume: str | None
    issue: str | None
    pages: Pages | None
    doi: str | None
    preprint: bool


# Where a journal's own name ends: "Journal of X: official journal of ...", "Nephron - Clinical
# Practice", "Journal of X.Conference: 23rd Congress ..." (a meeting supplement).
_JOURNAL_END = re.compile(r":|\s-\s|\.(?=[A-Z][a-z])")


def _journal_names(record: Record) -> tuple[str, ...]:
    """The record's journal names folded, each also without what follows its own name
    when that leaves at least two words."""
    names = []
    for name in (record.journal, record.journal_abbrev):
        if not name:
            continue
        names.append(fold(name))
        main = fold(_JOURNAL_END.split(name, maxsplit=1)[0])
        if len(main.split()) >= 2 and main not in names:
            names.append(main)
    return tuple(names)


# Between a title in its own language and its translation: "Utilidad de ...; Are ...",
# "Utilidad de .... [Are ...]".
_TRANSLATION = re.compile(r";\s+|(?<=[.?!])\s*\[")


# A language tag ("[Spanish]", "[Article in Polish]") or a title all in brackets.
_TRANSLATED = re.compile(r"\[(?:article in )?[a-z]+\]\s*\.?\s*$|^\s*\[.*\]\s*\.?\s*$", re.I | re.S)


def _translations(title: str, folded: str) -> tuple[str, ...]:
    if ";" not in title and "[" not in title:
        return ()
    parts = (fold_title(part.rstrip("] ")) for part in _TRANSLATION.split(title))
    return tuple(p for p in parts if p != folded and len(p) >= 20 and len(p.split()) >= 4)


def profile(record: Record) -> Profile:
    title = fold_title(record.title)
    names = ((surname(a), _initial(a)) for a in record.authors)
    head, colon, _ = record.title.partition(":")
    return Profile(
        title=title,
        main_title=fold_title(head) if colon else "",
        translations=_translations(record.title, title),
        translated=bool(_TRANSLATED.search(record.title)),
        words=len(title.split()),
        truncated=bool(_ELLIPSIS.search(record.title)),
        kind=notice_kind(record),
        series=tuple(sorted((m[0], _number(m[1])) for m in _SERIES.findall(title))),
        numbers=tuple(re.findall(r"\d+", title)),
        authors=tuple(n for n in names if n[0] and n[0] != "anonymous"),
        year=record.year,
        journals=_journal_names(record),
        volume=_first_number(record.volume),
        issue=_first_number(record.issue),
        pages=parse_pages(record.pages),
        doi=record.doi,
        preprint=record.is_preprint,
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    same: bool  # merge automatically
    possible: bool  # store as a possible duplicate for an editor
    score: float
    reason: str
    relation: str | None = None  # e.g. "preprint_of": related but distinct works


# How many stored works of a record's kind sharing its title make the title frequent. The
# dedup keeps works apart, so these are distinct papers; two can be an article and its
# conference abstract, three no longer tell a fourth record which one it is.
FREQUENT_TITLE = 3


def is_frequent(mine: Profile, stored: list[Profile], title_block_full: bool = False) -> bool:
    """Whether the record's title is one many works share: its title block is full, or
    :data:`FREQUENT_TITLE` of the stored works are of its kind with the same title."""
    same = sum(1 for theirs in stored if theirs.title == mine.title and theirs.kind == mine.kind)
    return title_block_full or same >= FREQUENT_TITLE


def judge(new: Record, stored: Record) -> Verdict:
    """Compare two records that share a block."""
    return compare(profile(new), profile(stored))


def title_similarity(a: Profile, b: Profile) -> tuple[float, str]:
    """Similarity in [0, 1] and how it was found: exact, translated, truncated, contained
    or fuzzy."""
    if a.title == b.title:
        return 1.0, "exact"
    if (a.translations or b.translations) and {a.title, *a.translations} & {
        b.title,
        *b.translations,
    }:
        return 0.95, "translated"
    short, long = sorted((a, b), key=lambda p: len(p.title))
    if short.words >= 4 and len(short.title) >= 25 and short.title in long.title:
        if long.title.startswith(short.title):
            cut_mid_word = long.title[len(short.title)] != " "
            if short.truncated or cut_mid_word:
                return 0.97, "truncated"
        # Extra words around a title (a section heading, a citation, a subtitle one source
        # dropped) are fine; a title that is only a small part of the other ("Atypical HUS"
        # in "Atypical HUS in children after ...") is not.
        if len(short.title) >= 0.6 * len(long.title) or short.title == long.main_title:
            return 0.9, "contained"
    return Indel.normalized_similarity(a.title, b.title), "fuzzy"


def _same_person(a: tuple[str, str], b: tuple[str, str]) -> bool:
    """Surnames equal, one a longer form of the other ("Le Quintrec", "Wright Jr"), or
    family and given name swapped between sources ("Tong, H" / "Hua, T")."""
    (x, xi), (y, yi) = a, b
    if x == y:
        return True
    if min(len(x), len(y)) >= 4 and (
        x.endswith(y) or y.endswith(x) or x.startswith(y) or y.startswith(x)
    ):
        return True
    return bool(xi and yi) and x[0] == yi and y[0] == xi


def _authors(a: Profile, b: Profile) -> str:
    """How the author lists compare: "same", "differ", or "unknown" when one lists none."""
    if not a.authors or not b.authors:
        return "unknown"
    if _same_person(a.authors[0], b.authors[0]):
        return "same"
    shorter, longer = sorted((a.authors, b.authors), key=len)
    common = sum(any(_same_person(x, y) for y in longer[:50]) for x in shorter[:10])
    return "same" if common / min(len(shorter), 10) >= 0.5 else "differ"


def _abbreviates(short: list[str], full: list[str]) -> bool:
    return len(short) == len(full) and all(
        f.startswith(s) for s, f in zip(short, full, strict=True)
    )


def journals_match(a: Profile, b: Profile) -> bool:
    """Same journal, allowing abbreviations ("N Engl J Med") and subtitles."""
    for x in a.journals:
        for y in b.journals:
            if f" {x} " in f" {y} " or f" {y} " in f" {x} ":
                return True
            xs = [w for w in x.split() if w not in _STOPWORDS]
            ys = [w for w in y.split() if w not in _STOPWORDS]
            if _abbreviates(xs, ys) or _abbreviates(ys, xs):
                return True
    return False


def _agree(x: str | None, y: str | None) -> bool | None:
    return None if x is None or y is None else x == y


def _numbers_conflict(a: Profile, b: Profile, mode: str) -> bool:
    """Different numbers in similar titles ("cohort 1" / "cohort 2") suggest different works."""
    return mode == "fuzzy" and a.numbers != b.numbers


def _different(reason: str, score: float = 0.0) -> Verdict:
    return Verdict(same=False, possible=False, score=score, reason=reason)


def _placed_alike(a: Profile, b: Profile) -> bool:
    """The same authors, year, journal, volume and first page: one article, whatever its
    title says."""
    return (
        a.year == b.year is not None
        and _authors(a, b) == "same"
        and journals_match(a, b)
        and _agree(a.volume, b.volume) is True
        and pages_agree(a.pages, b.pages) is True
    )


def compare(a: Profile, b: Profile, frequent: bool = False) -> Verdict:
    """The judgement for one pair of profiles; ``frequent`` when many stored works share
    the title, so that it says little about which paper a record is."""
    if a.kind != b.kind:
        return _different(f"notice kind {a.kind or 'article'} vs {b.kind or 'article'}")
    if a.series != b.series:
        return _different("different parts of a series")
    score, mode = title_similarity(a, b)
    if score < 0.85:
        if score >= 0.7 and (a.translated or b.translated) and _placed_alike(a, b):
            return Verdict(True, False, score, f"title translated {score:.2f}, same place")
        return _different(f"title {score:.2f}", score)
    authors = _authors(a, b)
    if a.preprint != b.preprint:
        related = score >= 0.9 and authors != "differ"
        relation = "preprint_of" if related else None
        return Verdict(False, False, score, "preprint and journal version", relation)
    volume, page = _agree(a.volume, b.volume), pages_agree(a.pages, b.pages)
    issue = _agree(a.issue, b.issue)
    years = abs(a.year - b.year) if a.year is not None and b.year is not None else None
    journal = journals_match(a, b)
    locator = volume is True and page is True
    full_title = mode == "exact" or (mode == "fuzzy" and score >= 0.95)
    conflicts = [
        name
        for name, present in (
            # A collective name in one source and people in the other: the title, year,
            # volume and first page all agreeing outweigh the author lists.
            ("authors", authors == "differ" and not (locator and full_title and years == 0)),
            # Online-first and print years differ by one; the same journal volume pins it.
            ("year", years is not None and (years > 1 or (years == 1 and volume is not True))),
            ("volume", volume is False),
            # the issues of a recurring column ("Editor's Comments", 1 to 4, no pages); the
            # same first page outweighs an issue number one export got wrong
            ("issue", issue is False and page is not True),
            ("pages", page is False),
            # A digit lost in one title ("p6INK4a"): journal, volume and pages all agreeing
            # place both records on the same article.
            ("numbers in title", _numbers_conflict(a, b, mode) and not (locator and journal)),
        )
        if present
    ]
    reason = f"title {mode} {score:.2f}"
    if conflicts:
        # the issues of a frequent title are different papers, not a question for an editor
        possible = score >= 0.9 and len(conflicts) <= (2 if mode == "exact" else 1) and not frequent
        return Verdict(False, possible, score, f"{reason}; differ: {', '.join(conflicts)}")
    if frequent and mode == "exact":
        # A title many works share: only the place in the journal or the DOI tells them apart.
        same = page is True or issue is True or _agree(a.doi, b.doi) is True
        return Verdict(same, False, score, f"{reason}; frequent title")
    same = _same(a, b, score, mode, authors, volume, page, journal, years, issue)
    return Verdict(same, not same, score, reason)


def _same(
    a: Profile,
    b: Profile,
    score: float,
    mode: str,
    authors: str,
    volume: bool | None,
    page: bool | None,
    journal: bool,
    years: int | None,
    issue: bool | None,
) -> bool:
    """Near-certain, given no conflicting field: the title plus independent agreement.

    ``volume`` and ``page`` are True when both records give them and they agree, None when
    one record lacks them: missing is not conflicting (disagreement was handled before, and
    a year off by one has passed only with the same volume).
    """
    locator = volume is True and page is True
    if authors == "unknown" or min(a.words, b.words) < 4:
        return locator and score >= 0.95
    if locator:
        return True
    if mode == "translated" or years is None or authors != "same" or (years == 1 and not journal):
        return False
    if mode == "truncated":
        return journal
    if mode == "contained" and (a.main_title or b.main_title) in (a.title, b.title):
        # One source dropped the subtitle ("...: Brief communication"): the same issue of
        # the same journal volume, with pages in both that do not conflict, places it.
        placed = volume is True and issue is True and a.pages is not None and b.pages is not None
        return journal and placed
    # One record without a journal (a working paper, a conference version): missing is
    # not conflicting. Two journals are two publications, even without a volume or pages to
    # disagree: a journal club's or a recommendation service's record of an article often
    # has none.
    unplaced = not (a.journals and b.journals)
    if mode == "exact" and years == 0 and unplaced:
        return True
    if mode == "exact" or score >= 0.95:
        return journal or volume is True or page is True
    return False
