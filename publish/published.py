"""The pieces editors published, read from the database as the site shows them."""

from __future__ import annotations

import sqlite3

from litmon.db.publishing import SEPARATOR, published_pieces
from litmon.publish.pieces import Piece

# The queue's reason for a withdrawal (review.queue) -> what the notice page says.
_WITHDRAWN = {"retracted": "retracted", "deleted by NLM": "withdrawn from PubMed"}


def load_pieces(conn: sqlite3.Connection) -> list[Piece]:
    """Every piece ever published (oldest first), those taken down with the reason: the
    work retracted or deleted (its candidate withdrawn), merged into another work (the
    other's piece stands for both), or the piece taken back to be revised (its candidate no
    longer published)."""
    pieces = []
    for row in published_pieces(conn):
        (candidate_id, finding, done, matters, limits, first, latest, title, journal,
         pub_date, pmid, doi, authors, topics, state, merged_into, because,
         acknowledged) = row  # fmt: skip
        withdrawn = state == "withdrawn"
        taken_down = None
        if withdrawn:
            taken_down = _WITHDRAWN.get(because or "", "withdrawn")
        elif merged_into is not None:
            # the same paper as another candidate's: that one's piece stands for both
            taken_down = "merged"
        elif state != "published":
            taken_down = "unpublished"
        pieces.append(
            Piece(
                candidate_id=candidate_id,
                finding=finding or "",
                what_was_done=done or "",
                why_it_matters=matters or "",
                limits=limits or "",
                published_at=first,
                revised_at=latest if latest != first else None,
                title=title,
                journal=journal,
                pub_date=pub_date,
                pmid=pmid,
                doi=doi,
                authors=tuple(authors.split(SEPARATOR)) if authors else (),
                topics=tuple(topics.split(SEPARATOR)) if topics else (),
                taken_down=taken_down,
                withdrawn=withdrawn,
                acknowledged=bool(acknowledged),
                merged_into=merged_into,
            )
        )
    return pieces
