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


def _entry_tokens(spelling: str) -> set[str] | None:
    """The lower-case words a text must contain for ``spelling`` to be in it: its first word
    (with its plurals when it is also the last, and joined to the next when a hyphen may be
    nothing); None for a prefix spelling ("microglia*"), which is always tried."""
    text = " ".join(spelling.split()).lower()
    if text.endswith("*"):
        return None
    words = _TOKENS.findall(text)
    if not words:
        return None
    first = words[0]
    entries = {first}
    if re.match(rf"{re.escape(first)}-\w", text):
        entries.add(first + words[1])
    if len(words) == 1:
        entries |= {first + "s", first + "es", first[:-1] + "ies"}
    return entries


class Matcher:
    """Every spelling of every term, each compiled once. A text is split into its words once
    (a set, in C); only the spellings whose first word is among them are searched for, so a
    text costs a few searches however many terms there are. ``keys`` name what each
    spelling stands for; :meth:`find` returns the keys found."""

    def __init__(self, spellings: Iterable[tuple[str, object]]) -> None:
        by_pattern: dict[str, set[object]] = {}
        entries: dict[str, set[str] | None] = {}
        for spelling, key in spellings:
            pattern = variant_pattern(spelling)
            by_pattern.setdefault(pattern, set()).add(key)
            entries[pattern] = _entry_tokens(spelling)
        # word -> the compiled spellings starting with it; the prefix ones are always tried
        self._by_word: dict[str, list[tuple[re.Pattern, frozenset]]] = {}
        self._always: list[tuple[re.Pattern, frozenset]] = []
        for pattern, keys in by_pattern.items():
            compiled = (re.compile(f"(?<!\\w){pattern}(?!\\w)", re.IGNORECASE), frozenset(keys))
            words = entries[pattern]
            if words is None:
                self._always.append(compiled)
            else:
                for word in words:
                    self._by_word.setdefault(word, []).append(compiled)

    def find(self, text: str) -> set[object]:
        found: set[object] = set()
        by_word = self._by_word
        lowered = text.lower()
        # a spelling starts with its entry word, so its search starts where that word
        # first occurs (as a substring: never later); only where lower() kept the length
        aligned = len(lowered) == len(text)
        starts = {regex: 0 for regex, _ in self._always}
        candidates = list(self._always)
        for word in set(_TOKENS.findall(lowered)) & by_word.keys():
            at = lowered.find(word) if aligned else 0
            for compiled in by_word[word]:
                regex = compiled[0]
                if regex not in starts:
                    candidates.append(compiled)
                    starts[regex] = at
                elif at < starts[regex]:
                    starts[regex] = at
        for regex, keys in candidates:
            if not keys <= found and regex.search(text, starts[regex]):
                found |= keys
        return found
