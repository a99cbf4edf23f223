"""The SQL the public site is made from: every piece ever published, with what its pages
show and whether (and why) it came down. One query, tuples not dicts: a publish of 10,000
pieces reads them all every time (bench/publish_bench.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

# Fields are joined with the unit separator, which text from PubMed or a model never holds
# (core/text.py cleans control characters where records and drafts come in).
SEPARATOR = "\x1f"

_PIECES = """
SELECT c.id, d.finding, d.what_was_done, d.why_it_matters, d.limits,
       coalesce((SELECT min(a.at) FROM candidate_audit a WHERE a.candidate_id = c.id
                 AND a.action = 'publish'), p.published_at) AS first_published,
       p.published_at,
       w.title, w.journal, w.pub_date, w.pmid, w.doi,
       (SELECT group_concat(value, char(31)) FROM
           (SELECT value FROM json_each(w.authors) LIMIT 4)) AS authors,
       (SELECT group_concat(json_extract(value, '$.topic'), char(31))
        FROM json_each(c.topics)) AS topics,
       c.state, c.merged_into,
       (SELECT a.reason FROM candidate_audit a WHERE a.candidate_id = c.id
        AND a.action = 'withdraw' ORDER BY a.id DESC LIMIT 1) AS withdrawn_because,
       EXISTS (SELECT 1 FROM candidate_audit a WHERE a.candidate_id = c.id
               AND a.action = 'ack_takedown') AS acknowledged
FROM publications p
JOIN candidates c ON c.id = p.candidate_id
JOIN drafts d ON d.id = p.draft_id
JOIN works w ON w.id = c.work_id
ORDER BY first_published, p.candidate_id
"""


def published_pieces(conn: sqlite3.Connection) -> Iterator[tuple]:
    """Every candidate ever published, first published first (a piece taken back and
    published again keeps its place): id, the published draft's four parts, when it was
    first published and when its current version was, the work's title, journal,
    pub_date, pmid, doi, its first four authors and the candidate's topics (each joined by
    :data:`SEPARATOR`), the candidate's state, the candidate it was merged into (its work
    merged into another work), the reason it was withdrawn (if it was)
    and whether the takedown of its piece is recorded (``ack_takedown``)."""
    yield from conn.execute(_PIECES)
