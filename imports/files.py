"""Reading an import file as text, the error every importer raises, and what importers
share: dates, the DOI of a doi.org link, and the identity of an entry the export gave no id."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from litmon.core.errors import SourceError
from litmon.core.records import Record, normalize_doi

_DATE = re.compile(r"(\d{4})(?:[/-](\d{1,2}))?(?:[/-](\d{1,2}))?")
_DOI_LINK = re.compile(r"^\s*https?://(?:dx\.)?doi\.org/", re.IGNORECASE)
_NOT_ALNUM = re.compile(r"[\W_]+")


class ImportFileError(SourceError):
    """A file that cannot be imported; the message names the file and the line."""

    def __init__(self, path: str | Path, line: int, problem: str) -> None:
        super().__init__(f"{path}: line {line}: {problem}")
        self.path = str(path)
        self.line = line


def read_text(path: str | Path) -> str:
    """The file's text as UTF-8 (a byte-order mark is dropped)."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ImportFileError(path, 0, f"cannot read the file: {error.strerror}") from error
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportFileError(path, line, "not UTF-8 text; save the export as UTF-8") from error


def iso_date(value: str | None) -> str | None:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` from "2010", "2010/03/15/", "2010-3"."""
    match = _DATE.search(value or "")
    if match is None:
        return None
    year, month, day = match.groups()
    if not month or not 1 <= int(month) <= 12:
        return year
    if not day or not 1 <= int(day) <= 31:
        return f"{year}-{int(month):02d}"
    return f"{year}-{int(month):02d}-{int(day):02d}"


def doi_from_links(links: Iterable[str | None]) -> str | None:
    """The DOI of the first doi.org link: a link to a publisher's page or a DOI quoted in
    free text (abstract, notes) is not the record's own DOI."""
    return next((normalize_doi(link) for link in links if link and _DOI_LINK.match(link)), None)


def fingerprint(record: Record) -> str:
    """``fp:`` and 16 hex digits for an entry the export gave no id: the same paper gets the
    same value in every export of a source (whatever its position in the file, case, spacing
    or punctuation), different papers different values.

    A hash of the DOI, title, year and first author's family name. The DOI alone is not
    enough: conference abstracts printed in one supplement share the supplement's DOI.
    """
    family = _family_name(record.authors[0]) if record.authors else ""
    parts = (record.doi or "", _folded(record.title), str(record.year or ""), _folded(family))
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"fp:{digest[:16]}"


def _family_name(author: str) -> str:
    """The family name of ``"Last, Fore"`` (how parse_authors writes names), else the last
    word of the name."""
    if "," in author:
        return author.split(",")[0]
    words = author.split()
    return words[-1] if words else ""


def _folded(text: str) -> str:
    """Lower-case letters and digits only, accents dropped: "Müller's  Sign." -> "mullerssign"."""
    letters = unicodedata.normalize("NFKD", text)
    letters = "".join(c for c in letters if not unicodedata.combining(c))
    return _NOT_ALNUM.sub("", letters).casefold()
