"""The one record type every source yields and the store accepts.

Sources (PubMed, feeds, file imports) normalize what they read into a :class:`Record`;
they never touch the database. The store deduplicates records into *works*. A source may
also say that records it gave are withdrawn (:class:`Deletion`), or that an entry could not
be read (:class:`Skipped`).

Nothing here imports the rest of litmon but core.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from litmon.core.text import clean

_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*|info:doi/)", re.IGNORECASE)
_DOI_SHAPE = re.compile(r"^10\.\d{4,9}/\S+$")


def normalize_doi(value: str | None) -> str | None:
    """Lower-case a DOI and strip resolver prefixes; ``None`` when it is not a DOI."""
    if not value:
        return None
    doi = _DOI_PREFIX.sub("", value.strip()).strip().rstrip(".").lower()
    return doi if _DOI_SHAPE.match(doi) else None


def normalize_pmcid(value: str | None) -> str | None:
    """``PMC1234567`` form, or ``None``."""
    if not value:
        return None
    digits = value.strip().upper().removeprefix("PMC")
    return f"PMC{digits}" if digits.isdigit() else None


@dataclass(slots=True)
class Link:
    """A comments/corrections link, e.g. a retraction notice pointing at its article."""

    type: str  # PubMed's RefType: RetractionIn, RetractionOf, ErratumIn, ErratumFor, ...
    pmid: str | None = None
    ref: str | None = None  # the citation text PubMed gives (RefSource)


@dataclass(frozen=True, slots=True)
class Deletion:
    """A source's word that records it gave before are withdrawn (PubMed's DeleteCitation)."""

    source: str
    source_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Skipped:
    """An entry a source could not turn into a Record (the rest of its input still is):
    reported with the run, never silently dropped."""

    reason: str


@dataclass(slots=True)
class Record:
    """One bibliographic record as one source saw it."""

    source: str  # "pubmed", "feed:<name>", "csv:<name>", ...
    source_id: str  # the source's own id: PMID, feed GUID, CSV row ID
    title: str
    pmid: str | None = None
    doi: str | None = None
    pmcid: str | None = None
    abstract: str | None = None  # plain text; structured sections as "LABEL: text" paragraphs
    abstract_html: str | None = None  # sanitized HTML (feeds only)
    authors: list[str] = field(default_factory=list)  # "Last, Fore" or a collective name
    journal: str | None = None
    journal_abbrev: str | None = None
    issn: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    pub_date: str | None = None  # ISO: YYYY, YYYY-MM or YYYY-MM-DD
    publication_types: list[str] = field(default_factory=list)
    mesh: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    language: str | None = None
    links: list[Link] = field(default_factory=list)
    url: str | None = None
    revised: str | None = None  # the source's revision date (PubMed DateRevised), ISO

    def __post_init__(self) -> None:
        # every source's text passes here once: no control character is stored
        for name in _ONE_LINE:
            value = getattr(self, name)
            if value:
                setattr(self, name, clean(value))
        for name in ("abstract", "abstract_html"):
            value = getattr(self, name)
            if value:
                setattr(self, name, clean(value, lines=True))
        for name in ("authors", "publication_types", "mesh", "keywords"):
            setattr(self, name, [clean(value) for value in getattr(self, name)])
        for link in self.links:
            link.ref = clean(link.ref) if link.ref else link.ref
        self.doi = normalize_doi(self.doi)
        self.pmcid = normalize_pmcid(self.pmcid)

    @property
    def year(self) -> int | None:
        if self.pub_date and self.pub_date[:4].isdigit():
            return int(self.pub_date[:4])
        return None

    @property
    def is_preprint(self) -> bool:
        return "Preprint" in self.publication_types


_ONE_LINE = (
    "source_id",
    "title",
    "pmid",
    "doi",
    "pmcid",
    "journal",
    "journal_abbrev",
    "issn",
    "volume",
    "issue",
    "pages",
    "pub_date",
    "language",
    "url",
    "revised",
)

# What a source yields: records, and its word on what it withdrew or could not read.
Item = Record | Deletion | Skipped
