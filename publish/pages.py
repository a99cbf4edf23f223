"""The site's pages as plain data: which pages there are, and what each is made from.

Every page is a template and a context of JSON-able values; the hash of the context (with
the templates and the settings) says whether a page must be made again. Lists are cut into
pages of ``per_page`` counted from the oldest piece, so a new piece, always the newest,
changes the last page of a list and not every page after it; a piece taken down leaves a
gap on its page instead of moving the others."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache, partial
from urllib.parse import quote

from litmon.publish.pieces import Piece, slug

CAVEAT = (
    "Research varies in size and method, and one study rarely settles a question. Read the"
    " source, and talk to your MS care team before changing anything about your care."
)
FEED_SIZE = 50
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip
DEFAULT_TITLE = "MS research in plain language"
DEFAULT_DESCRIPTION = (
    "New research on multiple sclerosis, summarized for people with MS and their caregivers,"
    " each piece checked by an editor."
)


@dataclass(frozen=True, slots=True)
class SiteSettings:
    """What the site calls itself and where it is served from (for the feeds' links)."""

    title: str = DEFAULT_TITLE
    description: str = DEFAULT_DESCRIPTION
    base_url: str = ""  # e.g. https://example.org/research/ ; "" leaves feed links relative
    per_page: int = 50
    topic_titles: tuple[tuple[str, str], ...] = ()  # topic name -> the title shown

    def key(self) -> str:
        return json.dumps([self.title, self.description, self.base_url, self.per_page,
                           list(self.topic_titles)])  # fmt: skip


@dataclass(slots=True)
class Page:
    """One file of the site: its ``kind`` (a template name, ``atom``, ``jsonfeed`` or
    ``static``), the values that decide what it shows (``inputs``: their hash says whether
    it must be made again) and how to make its context from them, called only then."""

    kind: str
    inputs: tuple
    make: Callable[[], dict]

    def digest(self, fingerprint: str) -> str:
        text = f"{fingerprint}|{self.kind}|{self.inputs!r}"
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass(slots=True)
class Plan:
    pages: dict[str, Page] = field(default_factory=dict)
    paths: dict[int, str] = field(default_factory=dict)  # piece id -> its page


def plan_site(pieces: Iterable[Piece], settings: SiteSettings, paths: dict[int, str]) -> Plan:
    """Every page of the site for these pieces. ``paths`` are the pages pieces had (a
    piece keeps its URL); a new piece gets ``pieces/ID-SLUG.html``."""
    ordered = sorted(pieces, key=lambda piece: piece.order)
    plan = Plan()
    for piece in ordered:
        plan.paths[piece.candidate_id] = paths.get(piece.candidate_id) or (
            f"pieces/{piece.candidate_id}-{slug(piece.finding)}.html"
        )
    titles = dict(settings.topic_titles)
    live = {p.candidate_id: plan.paths[p.candidate_id] for p in ordered if not p.taken_down}
    for piece in ordered:
        path = plan.paths[piece.candidate_id]
        if piece.taken_down:
            # a merged piece's notice links to the piece that stands for it, while that stands
            other = live.get(piece.merged_into or 0)
            plan.pages[path] = Page(
                "withdrawn.html", (path, _shown(piece), other), partial(_notice, piece, path, other)
            )
        else:
            plan.pages[path] = Page(
                "piece.html", (path, _shown(piece)), partial(_piece, piece, path, titles)
            )
    _list_pages(plan, ordered, "", "archive/", settings.title, settings.per_page, None)
    by_topic: dict[str, list[Piece]] = defaultdict(list)
    for piece in ordered:
        for topic in piece.topics:
            by_topic[topic].append(piece)
    topics = sorted(by_topic, key=lambda name: titles.get(name, name).lower())
    for topic in topics:
        folder = f"topics/{topic_slug(topic)}/"
        title = titles.get(topic, topic)
        _list_pages(plan, by_topic[topic], folder, folder, title, settings.per_page, topic)
    listed = tuple((titles.get(t, t), f"{topic_slug(t)}/index.html") for t in topics)
    plan.pages["topics/index.html"] = Page(
        "topics.html",
        listed,
        lambda: {"root": "../", "topics": [{"title": t, "url": url} for t, url in listed]},
    )
    live = [piece for piece in reversed(ordered) if not piece.taken_down][:FEED_SIZE]
    inputs = tuple((plan.paths[piece.candidate_id], _shown(piece)) for piece in live)

    def entries() -> dict:
        return {"entries": [_entry(p, plan.paths[p.candidate_id], titles) for p in live]}

    plan.pages["feed.atom"] = Page("atom", inputs, entries)
    plan.pages["feed.json"] = Page("jsonfeed", inputs, entries)
    plan.pages["site.css"] = Page("static", (), lambda: {"name": "site.css"})
    return plan


def _shown(piece: Piece) -> tuple:
    """What of a piece its pages show: a change to any of it remakes them."""
    return (
        piece.candidate_id, piece.finding, piece.what_was_done, piece.why_it_matters,
        piece.limits, piece.published_at, piece.revised_at, piece.title, piece.journal,
        piece.pub_date, piece.pmid, piece.doi, piece.authors, piece.topics, piece.taken_down,
    )  # fmt: skip


@lru_cache(maxsize=1024)
def topic_slug(topic: str) -> str:
    return slug(topic.replace("_", " "), words=12)


def _root(path: str) -> str:
    return "../" * path.count("/")


@lru_cache(maxsize=4096)
def _date(stamp: str) -> str:
    """``2026-03-05T…`` -> ``5 March 2026``."""
    day = date.fromisoformat(stamp[:10])
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _paragraphs(text: str) -> list[str]:
    return [" ".join(part.split()) for part in text.split("\n\n") if part.strip()]


def _citation(piece: Piece) -> dict:
    authors = "; ".join(piece.authors[:3]) + ("; et al" if len(piece.authors) > 3 else "")
    pmid = piece.pmid if piece.pmid and piece.pmid.isdigit() else None
    return {
        # PubMed titles end with a full stop, which the citation puts in itself
        "title": piece.title.rstrip(". "),
        "title_end": "" if piece.title.rstrip().endswith(("?", "!")) else ".",
        "where": ", ".join(part for part in (piece.journal, piece.pub_date) if part),
        "authors": authors,
        "journal": piece.journal or "",
        "pub_date": piece.pub_date or "",
        "pubmed": f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/" if pmid else None,
        "pmid": pmid,
        "doi": piece.doi,
        "doi_url": f"https://doi.org/{quote(piece.doi, safe='/:;()')}" if piece.doi else None,
    }


def _piece(piece: Piece, path: str, titles: dict[str, str]) -> dict:
    root = _root(path)
    return {
        "root": root,
        "finding": piece.finding,
        "what_was_done": _paragraphs(piece.what_was_done),
        "why_it_matters": _paragraphs(piece.why_it_matters),
        "limits": _paragraphs(piece.limits),
        "published": piece.published_at,
        "published_text": _date(piece.published_at),
        "revised": piece.revised_at,
        "revised_text": _date(piece.revised_at) if piece.revised_at else None,
        "citation": _citation(piece),
        "topics": [
            {"title": titles.get(t, t), "url": f"{root}topics/{topic_slug(t)}/index.html"}
            for t in piece.topics
        ],
        "caveat": CAVEAT,
    }


def _notice(piece: Piece, path: str, other: str | None) -> dict:
    root = _root(path)
    return {
        "root": root,
        "reason": piece.taken_down,
        "citation": _citation(piece),
        "other": root + other if other else None,
    }


def _list_pages(
    plan: Plan,
    pieces: list[Piece],
    index_folder: str,
    pages_folder: str,
    title: str,
    per_page: int,
    topic: str | None,
) -> None:
    """A list's front page (its newest ``per_page`` pieces) and its numbered pages, page 1
    holding the oldest ``per_page`` pieces ever published in it (taken-down ones keep
    their place, unshown)."""

    def number_path(number: int) -> str:
        return f"{pages_folder}{number}.html"

    def items(chosen: list[Piece]) -> tuple:
        return tuple(
            (p.finding, p.published_at, plan.paths[p.candidate_id])
            for p in reversed(chosen)
            if not p.taken_down
        )

    index_path = f"{index_folder}index.html"
    live = [position for position, p in enumerate(pieces) if not p.taken_down]
    front = live[-per_page:]
    earlier = None
    if front and front[0] > 0:
        # the numbered page holding the piece before the front page's oldest one
        earlier = number_path((front[0] - 1) // per_page + 1)
    _list_page(plan, index_path, title, topic, items([pieces[i] for i in front]), None,
               earlier, None)  # fmt: skip
    count = (len(pieces) + per_page - 1) // per_page
    for number in range(1, count + 1):
        bucket = pieces[(number - 1) * per_page : number * per_page]
        newer = index_path if number == count else number_path(number + 1)
        earlier = number_path(number - 1) if number > 1 else None
        _list_page(plan, number_path(number), title, topic, items(bucket), number, earlier,
                   newer)  # fmt: skip


def _list_page(
    plan: Plan,
    path: str,
    title: str,
    topic: str | None,
    items: tuple,
    number: int | None,
    earlier: str | None,
    newer: str | None,
) -> None:
    root = _root(path)

    def make() -> dict:
        return {
            "root": root,
            "front": topic is None and number is None,
            "title": title,
            "topic": topic is not None,
            "items": [
                {"finding": f, "published": at, "published_text": _date(at), "url": root + to}
                for f, at, to in items
            ],
            "earlier": root + earlier if earlier else None,
            "newer": root + newer if newer else None,
            "number": number,
        }

    plan.pages[path] = Page("list.html", (title, topic, number, earlier, newer, items), make)


def _entry(piece: Piece, path: str, titles: dict[str, str]) -> dict:
    """A feed entry: plain text parts, the page's path, the topics' titles."""
    return {
        "id": piece.candidate_id,
        "path": path,
        "finding": piece.finding,
        "summary": piece.what_was_done,
        "parts": [
            ["What the researchers did and found", piece.what_was_done],
            ["Why it matters for people with MS and their caregivers", piece.why_it_matters],
            ["The study's limits", piece.limits],
        ],
        "published": piece.published_at,
        "updated": piece.revised_at or piece.published_at,
        "topics": [titles.get(t, t) for t in piece.topics],
        "citation": _citation(piece),
    }
