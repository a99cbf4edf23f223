"""Reading works out: one dict per live work, with its sightings."""

from __future__ import annotations

import json
from collections.abc import Iterator

import sqlite_utils

EXPORT_FIELDS = (
    "id",
    "pmid",
    "doi",
    "pmcid",
    "title",
    "abstract",
    "journal",
    "journal_abbrev",
    "issn",
    "volume",
    "issue",
    "pages",
    "pub_date",
    "authors",
    "publication_types",
    "mesh",
    "keywords",
    "language",
    "links",
    "url",
    "sources",
    "model_score",
)
_JSON_COLUMNS = ("authors", "publication_types", "mesh", "keywords", "links")


def iter_works(db: sqlite_utils.Database) -> Iterator[dict]:
    """Every live work (not merged into another, not deleted), oldest first, with
    ``sources`` from its sightings and ``model_score``, the active relevance model's
    probability (None without a model)."""
    columns = ", ".join(f"w.{name}" for name in EXPORT_FIELDS[:-2])
    query = (
        f"SELECT {columns}, json_group_array(json_object('source', s.source, 'id', s.source_id)),"
        " (SELECT m.probability FROM work_model_scores m JOIN model_versions v"
        "  ON v.id = m.model_id AND v.active = 1 WHERE m.work_id = w.id)"
        " FROM works w JOIN sightings s ON s.work_id = w.id"
        " WHERE w.merged_into IS NULL AND w.deleted_at IS NULL GROUP BY w.id ORDER BY w.id"
    )
    for row in db.execute(query):
        work = dict(zip(EXPORT_FIELDS, row, strict=True))
        for name in (*_JSON_COLUMNS, "sources"):
            work[name] = json.loads(work[name])
        yield work
