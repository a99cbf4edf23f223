"""Finding a profile's terms in text: each rule below answers a kind of error.

- Word boundaries: a term never matches inside a word ("rim" in "primary", "MS" in "MSc").
- Case: a spelling with a capital inside a word ("QSM", "NfL", "MOGAD", "TSPO PET") is an
  acronym and matches only as written, so "MS" is not "ms" (milliseconds) and "OCT" is not
  "Oct."; any other spelling matches in any case.
- An acronym after a hyphen is part of another name ("LC-MS", "GC-MS"), except after "anti-"
  ("anti-MOG"); one doubled with a slash is a method ("MS/MS"); "PET/MRI" has both.
- A hyphen in a spelling may be a hyphen, a space or nothing ("susceptibility-weighted",
  "susceptibility weighted", "neuro-inflammation" / "neuroinflammation"); a space may be any
  run of spaces or hyphens, Unicode dashes included.
- The last word takes a plural ("lesion" finds "lesions", "biopsy" finds "biopsies"; an
  acronym takes a lower-case "s"); a trailing ``*`` is a prefix, as in Entrez ("microglia*").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import compress, pairwise

_DASHES = "\\-\u2010\u2011\u2012\u2013\u2014\u2015"
_SPACE = f"[\\s{_DASHES}]+"
_HYPHEN = f"[\\s{_DASHES}]?"
_INNER_CAPITAL = re.compile(r"\w[A-Z]")


def is_acronym(spelling: str) -> bool:
    return bool(_INNER_CAPITAL.search(spelling))


def variant_pattern(spelling: str) -> str:
    """The regular expression (no capturing groups) one spelling stands for."""
    text = " ".join(spelling.split())
    prefix = text.endswith("*")
    words = re.split(r"(\s+|-)", text.rstrip("*"))
    parts = []
    for index, word in enumerate(words):
        if index % 2:
            parts.append(_HYPHEN if word == "-" else _SPACE)
            continue
        last = index == len(words) - 1
        body = _last_word(word, prefix) if last else re.escape(word)
        if is_acronym(word):
            literal = re.escape(word)
            body = f"(?-i:{body})"
            if index == 0:
                body = f"(?:(?<=anti-)|(?<![{_DASHES}]))(?<!{literal}/){body}"
            if last:
                body += f"(?!/{literal}(?!\\w))"
        parts.append(body)
    return "".join(parts)


def _last_word(word: str, prefix: bool) -> str:
    if prefix:
        return re.escape(word) + r"\w*"
    if is_acronym(word):
        return re.escape(word) + "s?"
    if len(word) < 3 or not word.isalpha() or word.lower().endswith(("ed", "ing")):
        return re.escape(word)
    if word[-1] in "yY" and word[-2:-1].lower() not in "aeiou":
        return re.escape(word[:-1]) + "(?:y|ies)"
    if word[-1] in "sSxXzZ" or word.lower().endswith(("ch", "sh")):
        return re.escape(word) + "(?:es)?"
    return re.escape(word) + "s?"


_TOKENS = re.compile(r"\w+")


def _forms(word: str) -> set[str]:
    """``word`` and every plural :func:`_last_word` may give it, lower-case (a few more
    than it gives: this only decides which spellings are searched for)."""
    return {word, word + "s", word + "es", word[:-1] + "ies"}


@dataclass(frozen=True, slots=True)
class _Entry:
    """What a text must contain for a spelling to be searched for in it, and where in the
    text its search starts.

    ``words`` are keys of the text's words (a word alone, or two words in a row): the
    spelling's first word when it is its only one, else its first two words (a common
    first word, "in" of "in reply", is in almost every text; the pair is in few), with the
    plurals of the last, and the two words joined when a hyphen between them may be
    nothing. A one-word prefix spelling ("microglia*") has no word a text must contain;
    its first word must then be in the text as a substring. ``offset`` is where that first
    word is in the spelling: its search starts that much before it."""

    words: frozenset[str | tuple[str, str]]
    first: str
    offset: int


def _entry(spelling: str) -> _Entry | None:
    """The entry of ``spelling``; None when it has no word (always searched for)."""
    text = " ".join(spelling.split()).lower()
    prefix = text.endswith("*")
    found = list(_TOKENS.finditer(text.rstrip("*")))
    if not found:
        return None
    tokens = [match[0] for match in found]
    # where a hyphen may be nothing, the words on either side are one word of the text
    joins = [text[one.end() : two.start()] == "-" for one, two in pairwise(found)]
    words: set[str | tuple[str, str]] = set()
    for end in _ends(joins, 0):
        first = "".join(tokens[: end + 1])
        if end == len(tokens) - 1:  # the whole spelling is one word of the text
            words |= {first} if prefix else _forms(first)
            continue
        for last in _ends(joins, end + 1):
            second = "".join(tokens[end + 1 : last + 1])
            if last < len(tokens) - 1:
                words.add((first, second))
            elif prefix:  # a prefix second word: the first alone is what is sure
                words.add(first)
            else:
                words |= {(first, form) for form in _forms(second)}
    if prefix and len(tokens) == 1:
        words = set()
    return _Entry(frozenset(words), tokens[0], found[0].start())


def _ends(joins: list[bool], start: int) -> list[int]:
    """The tokens a word of the text starting at token ``start`` may end at: this one, and
    each next one joined to it by a hyphen that may be nothing."""
    ends = [start]
    while ends[-1] < len(joins) and joins[ends[-1]]:
        ends.append(ends[-1] + 1)
    return ends


class Matcher:
    """Every spelling of every term, each compiled once. A text is split into its words
    once (sets of its words and of its pairs of words, in C); only the spellings whose
    :class:`_Entry` is among them are searched for, each from where its first word first
    occurs, so a text costs a few searches however many terms there are. ``keys`` name
    what each spelling stands for; :meth:`find` returns the keys found."""

    def __init__(self, spellings: Iterable[tuple[str, object]]) -> None:
        by_pattern: dict[str, set[object]] = {}
        entries: dict[str, _Entry | None] = {}
        for spelling, key in spellings:
            pattern = variant_pattern(spelling)
            by_pattern.setdefault(pattern, set()).add(key)
            entries[pattern] = _entry(spelling)
        # a word or pair -> the spellings it lets in; the others are tried on a substring
        self._by_words: dict[str | tuple[str, str], list[_Spelling]] = {}
        self._by_substring: list[_Spelling] = []
        self._always: list[_Spelling] = []
        for pattern, keys in by_pattern.items():
            regex = re.compile(f"(?<!\\w){pattern}(?!\\w)", re.IGNORECASE)
            entry = entries[pattern]
            compiled = _Spelling(regex, frozenset(keys), entry)
            if entry is None:
                self._always.append(compiled)
            elif not entry.words:
                self._by_substring.append(compiled)
            for words in entry.words if entry else ():
                self._by_words.setdefault(words, []).append(compiled)
        self._single = {words for words in self._by_words if isinstance(words, str)}
        self._pair_firsts = {words[0] for words in self._by_words if isinstance(words, tuple)}

    def find(self, text: str) -> set[object]:
        lowered = text.lower()
        # a search may start where the spelling's first word first occurs (as a substring:
        # never later), only where lower() kept the text's length
        aligned = len(lowered) == len(text)
        words = _TOKENS.findall(lowered)
        # the pairs of words that start as an entry's pair does, of hundreds in a text
        pairs = compress(pairwise(words), map(self._pair_firsts.__contains__, words))
        present = self._single.intersection(words) | (self._by_words.keys() & set(pairs))
        chosen = {spelling.regex: spelling for spelling in self._always}
        for key in present:
            for spelling in self._by_words[key]:
                chosen[spelling.regex] = spelling
        for spelling in self._by_substring:
            if spelling.entry.first in lowered:
                chosen[spelling.regex] = spelling
        found: set[object] = set()
        for regex, spelling in chosen.items():
            if spelling.keys <= found:
                continue
            entry = spelling.entry
            start = 0
            if aligned and entry is not None:
                start = max(0, lowered.find(entry.first) - entry.offset)
            if regex.search(text, start):
                found |= spelling.keys
        return found


@dataclass(frozen=True, slots=True)
class _Spelling:
    regex: re.Pattern
    keys: frozenset
    entry: _Entry | None
