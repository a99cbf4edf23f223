"""The pieces editors published, read from the database as the site shows them."""

from __future__ import annotations

import json
import sqlite3

from litmon.publish.pieces import Piece
from litmon.review.drafts import published_pieces


def load_pieces(conn: sqlite3.Connection) -> list[Piece]:
    """Every piece ever published (oldest first), those taken down with the reason."""
    authors = dict(
        conn.execute(
            "SELECT p.candidate_id, w.authors FROM publications p"
            " JOIN candidates c ON c.id = p.candidate_id JOIN works w ON w.id = c.work_id"
        ).fetchall()
    )
    acknowledged = {
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT a.candidate_id FROM candidate_audit a"
            " JOIN publications p ON p.candidate_id = a.candidate_id"
            " WHERE a.action = 'ack_takedown'"
        )
    }
    pieces = []
    for item in published_pieces(conn):
        parts = item["parts"]
        pieces.append(
            Piece(
                candidate_id=item["candidate_id"],
                finding=parts["finding"] or "",
                what_was_done=parts["what_was_done"] or "",
                why_it_matters=parts["why_it_matters"] or "",
                limits=parts["limits"] or "",
                published_at=item["published_at"],
                title=item["title"],
                journal=item["journal"],
                pub_date=item["date"],
                pmid=item["pmid"],
                doi=item["doi"],
                authors=tuple(json.loads(authors.get(item["candidate_id"]) or "[]")),
                topics=tuple(item["topics"]),
                taken_down=None if item["listed"] else _reason(item),
                withdrawn=item["withdrawn"],
                acknowledged=item["candidate_id"] in acknowledged,
            )
        )
    pieces.reverse()
    return pieces


def _reason(item: dict) -> str:
    """Why a piece is not listed, as its notice page says it."""
    if item["retracted"]:
        return "retracted"
    if item["deleted"]:
        return "withdrawn from PubMed"
    if item["withdrawn"]:
        return "withdrawn"
    return "unpublished"
