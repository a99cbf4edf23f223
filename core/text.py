"""Control characters in text from outside (feeds, PubMed, imports, API bodies, forms).

C0 and C1 control characters (ESC, the CSI and OSC introducers, BEL, NUL...) have no
place in a title, a name or a note: printed on a terminal they can clear the screen, fake
output or set the window title. :func:`clean` removes them where text comes in, once,
for every source; :func:`visible` spells out whatever still reaches a screen (text stored
before the cleaning, bidirectional overrides) so that it is seen, not obeyed.
"""

from __future__ import annotations

import json
import re

__all__ = ["BIDI_CONTROLS", "clean", "plural", "safe_json", "visible"]

# U+2028/2029 break lines like \n does; U+FEFF is invisible. Bidirectional controls
# (embeddings, overrides, isolates, marks) are kept in stored text, where right-to-left
# names may need them, and shown spelled out on a terminal.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff]")
_BREAKS = re.compile(r"\r\n?|[\u2028\u2029]")
_TABS_AND_BREAKS = re.compile(r"[\t\n]")
_SHOWN = re.compile(rf"[\x00-\x1f\x7f-\x9f{BIDI_CONTROLS}\u2028\u2029\ufeff]")
# json.dumps escapes C0 controls itself; these it leaves raw with ensure_ascii=False. They
# can only occur inside JSON strings, where \\uXXXX is the same character.
_JSON_RAW = re.compile(rf"[\x7f-\x9f{BIDI_CONTROLS}\u2028\u2029\ufeff]")
_SHOWN_BUT_LINES = re.compile(rf"[\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI_CONTROLS}\u2028\u2029\ufeff]")


def clean(text: str, *, lines: bool = False) -> str:
    """``text`` without C0/C1 control characters. Line breaks (\\r\\n, \\r, U+2028/9)
    become \\n and are kept with tabs when ``lines`` (an abstract, a note, a summary);
    otherwise they and tabs become spaces, so that words stay apart."""
    if not _SHOWN.search(text):
        return text
    text = _BREAKS.sub("\n", text)
    if not lines:
        text = _TABS_AND_BREAKS.sub(" ", text)
    return _CONTROLS.sub("", text)


def visible(text: str, *, lines: bool = False) -> str:
    """``text`` for a terminal: every control character and bidirectional control spelled
    out as an escape (``\\x1b``, ``\\u202e``); \\n and tab kept only when ``lines``."""
    pattern = _SHOWN_BUT_LINES if lines else _SHOWN
    return pattern.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = ord(match[0])
    return f"\\x{char:02x}" if char < 0x100 else f"\\u{char:04x}"


def safe_json(value: object, *, indent: int | None = None) -> str:
    """``value`` as JSON text with non-ASCII kept readable but no control character, bidi
    control or line separator raw (as \\uXXXX: the same value to any JSON reader)."""
    encoded = json.dumps(value, ensure_ascii=False, indent=indent, default=str)
    return _JSON_RAW.sub(lambda match: f"\\u{ord(match[0]):04x}", encoded)


def plural(count: int, noun: str) -> str:
    """``1 request``, ``2 requests``: the count and the noun, plural unless the count is 1
    (a noun whose plural is not noun + s gives it as ``noun|plural``: ``entry|entries``)."""
    one, _, many = noun.partition("|")
    return f"{count} {one}" if count == 1 else f"{count} {many or one + 's'}"
