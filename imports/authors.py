"""Author lists as reference managers write them, into ``"Last, Fore"`` names."""

from __future__ import annotations

import re
import unicodedata

_BIBTEX_AND = re.compile(r"\s+and\s+")
_VANCOUVER = re.compile(r"^[^\W\d][\w'’\- ]*\s[A-Z]{1,3}$")
_TEX_ACCENT = re.compile(r"\\([\"'`^~=.uvcH])\s*\{?([A-Za-z])\}?")
_COMBINING = {
    '"': "\u0308",
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "c": "\u0327",
    "H": "\u030b",
}
_ET_AL = {"others", "et al", "et al."}


def detex(text: str) -> str:
    """BibTeX accents and braces to plain Unicode: ``M{\\"u}ller`` -> ``Müller``."""
    text = _TEX_ACCENT.sub(lambda m: m[2] + _COMBINING[m[1]], text)
    return unicodedata.normalize("NFC", text.replace("{", "").replace("}", ""))


def parse_authors(text: str | None) -> list[str]:
    """Names from ``Last, F. and Last, F.`` (BibTeX), ``Last, F.; Last, F.`` or
    ``Last F, Last F`` (Vancouver); Vancouver names become ``Last, F``."""
    text = detex(text or "").strip()
    if not text:
        return []
    if _BIBTEX_AND.search(text):
        names = _BIBTEX_AND.split(text)
    elif ";" in text:
        names = text.split(";")
    else:
        pieces = [p.strip() for p in text.split(",")]
        names = pieces if len(pieces) > 1 and all(map(_VANCOUVER.match, pieces)) else [text]
    return [_tidy(name) for name in names if name.strip() and name.strip().lower() not in _ET_AL]


def _tidy(name: str) -> str:
    name = " ".join(name.split())
    if "," not in name and _VANCOUVER.match(name):
        last, initials = name.rsplit(" ", 1)
        return f"{last}, {initials}"
    return name
