"""Candidates out, ranked, for editors' own tools: JSONL, CSV (cells that a spreadsheet would
run as a formula neutralized) and RIS with the tags Zotero's and EndNote's importers read;
and the published lay summaries as JSONL or CSV."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TextIO

import sqlite_utils

from litmon.core.csv_writer import write_csv as _write_csv
from litmon.core.text import safe_json
from litmon.db import candidates as sql
from litmon.review.drafts import published_pieces
from litmon.review.queue import list_candidates

FIELDS = (
    "id",
    "work_id",
    "state",
    "score",
    "topics",
    "title",
    "authors",
    "journal",
    "pub_date",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmid",
    "pmcid",
    "retracted",
    "changed_since_decision",
    "flag",
)


def iter_candidates(db: sqlite_utils.Database, state: str | None = None) -> Iterator[dict]:
    """Every live candidate, best first, with its work's bibliographic fields."""
    after = None
    while True:
        page = list_candidates(db, state=state, after=after, limit=500)
        for item in page.items:
            work = sql.work(db.conn, item["work_id"])
            yield item | {
                "authors": json.loads(work["authors"]),
                "keywords": json.loads(work["keywords"]),
                **{
                    name: work[name]
                    for name in (
                        "journal",
                        "journal_abbrev",
                        "issn",
                        "pub_date",
                        "volume",
                        "issue",
                        "pages",
                        "pmcid",
                        "abstract",
                        "language",
                    )
                },
            }
        if page.next_after is None:
            return
        after = page.next_after


def write_jsonl(rows: Iterator[dict], out: TextIO) -> int:
    count = 0
    for row in rows:
        out.write(safe_json(row) + "\n")
        count += 1
    return count


def _flat(name: str, value: object) -> object:
    if name == "topics" and isinstance(value, list):
        return "; ".join(f"{item['topic']} {item['score']:g}" for item in value)
    return value


def write_csv(rows: Iterator[dict], out: TextIO) -> int:
    return _write_csv(rows, FIELDS, out, _flat)


def _pages(pages: str | None) -> tuple[str | None, str | None]:
    if not pages:
        return None, None
    parts = re.split(r"\s*[-–]\s*", pages, maxsplit=1)
    start = parts[0]
    end = parts[1] if len(parts) > 1 else None
    return start, end


def _ris_record(row: dict) -> list[tuple[str, str]]:
    tags: list[tuple[str, str]] = [("TY", "JOUR"), ("TI", row["title"])]
    tags += [("AU", author) for author in row["authors"]]
    date = row["pub_date"] or ""
    if date:
        tags.append(("PY", date[:4]))
        tags.append(("DA", date.replace("-", "/")))
    start, end = _pages(row["pages"])
    for tag, value in (
        ("T2", row["journal"]),
        ("J2", row["journal_abbrev"]),
        ("SN", row["issn"]),
        ("VL", row["volume"]),
        ("IS", row["issue"]),
        ("SP", start),
        ("EP", end),
        ("DO", row["doi"]),
        ("AN", row["pmid"]),
        ("DB", "PubMed" if row["pmid"] else None),
        ("LA", row["language"]),
        ("AB", (row["abstract"] or "").replace("\n", " ") or None),
        ("UR", f"https://pubmed.ncbi.nlm.nih.gov/{row['pmid']}/" if row["pmid"] else None),
    ):
        if value:
            tags.append((tag, value))
    tags += [("KW", keyword) for keyword in row["keywords"]]
    topics = ", ".join(f"{t['topic']} {t['score']:g}" for t in row["topics"])
    note = f"litmon candidate {row['id']}: {row['state']}, score {row['score']:g} ({topics})"
    tags.append(("N1", note + ("; RETRACTED" if row["retracted"] else "")))
    return tags


def write_ris(rows: Iterator[dict], out: TextIO) -> int:
    count = 0
    for row in rows:
        count += 1
        for tag, value in _ris_record(row):
            # One line per tag: a line break inside a value would start a bogus tag.
            out.write(f"{tag}  - {' '.join(str(value).split())}\n")
        out.write("ER  - \n\n")
    return count


SUMMARY_FIELDS = (
    "candidate_id",
    "work_id",
    "title",
    "journal",
    "date",
    "pmid",
    "doi",
    "pubmed_url",
    "doi_url",
    "topics",
    "finding",
    "what_was_done",
    "why_it_matters",
    "limits",
    "draft_version",
    "published_by",
    "published_at",
    "listed",
)


def iter_summaries(db: sqlite_utils.Database, *, every: bool = False) -> Iterator[dict]:
    """The published lay summaries, newest first, one flat row each: the four parts, the
    work and its links, who published which version when. ``every``: also those taken down
    since (unpublished, or the work withdrawn, retracted or deleted), with ``listed`` false."""
    for piece in published_pieces(db.conn):
        if not (every or piece["listed"]):
            continue
        yield {
            **{name: piece[name] for name in ("candidate_id", "work_id", "title", "journal")},
            **{name: piece[name] for name in ("date", "pmid", "doi")},
            "pubmed_url": piece["links"]["pubmed"],
            "doi_url": piece["links"]["doi"],
            "topics": piece["topics"],
            **piece["parts"],
            "draft_version": piece["draft_version"],
            "published_by": piece["published_by"],
            "published_at": piece["published_at"],
            "listed": piece["listed"],
        }


def write_summaries_csv(rows: Iterator[dict], out: TextIO) -> int:
    return _write_csv(rows, SUMMARY_FIELDS, out)
