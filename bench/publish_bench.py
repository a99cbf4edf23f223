"""``litmon publish`` of a large site, through the Python API (``litmon.publish.publish``)
over a real database:

- the first publish of 10,000 pieces into an empty directory (time, files, bytes);
- a second publish with nothing new: no file written (target: none);
- a re-publish after one change, a new piece (target <= 1 s wall, and only the pages the
  new piece is on written: its page, the front page, the last numbered page of the list and
  of its topic, the topic's front page, the two feeds).

The works are stored through the real store (``db.store.save_records``); their candidates,
drafts and publications are written straight into their tables, as ``review.drafts``
writes them (the queue's own speed is bench/queue_bench.py's). Wall and CPU seconds are
both printed: on a machine shared with other tenants the wall time carries their load.
Run from the repository root: ``python bench/publish_bench.py``. PASS/FAIL per target;
exit 1 if one fails.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from measure import verdict
from queue_bench import store_works

from litmon.core.clock import stamp
from litmon.db.schema import open_db
from litmon.publish import SiteSettings, publish

PIECES = 10_000
START = datetime(2025, 1, 1, tzinfo=UTC)
REPUBLISH_TARGET = 1.0
TOPICS = ("ms_neuroimaging", "ms_clinical", "ms_biomarkers")
SETTINGS = SiteSettings(
    base_url="https://example.org/research/",
    topic_titles=(("ms_neuroimaging", "MS imaging"), ("ms_clinical", "Treatment and care"),
                  ("ms_biomarkers", "Blood and fluid markers")),
)  # fmt: skip

PARTS = {
    "finding": "A type of MRI (QSM) may show brain changes linked to inflammation, study {n}.",
    "what_was_done": "Researchers scanned the brains of 40 people twice, a year apart, with a"
    " type of MRI called quantitative susceptibility mapping (QSM). Areas with more iron, a"
    " sign of inflammation, changed more over the year than the rest of the brain.",
    "why_it_matters": "If QSM can follow inflammation without a contrast injection, it might"
    " one day help doctors see whether a treatment is working in MS, with fewer scans.",
    "limits": "A small study at one hospital, in people across the Alzheimer's spectrum rather"
    " than with MS, so we cannot assume QSM works the same way in MS.",
}


def publish_pieces(db, first: int, count: int) -> None:
    """Candidates ``first``..``first + count - 1`` published: a draft each and its
    publication, one an hour apart."""
    work_ids = [row[0] for row in db.execute("SELECT id FROM works ORDER BY id")]
    with db.conn:
        for n in range(first, first + count):
            topics = [{"topic": TOPICS[n % 3], "score": 2.0}]
            if n % 5 == 0:
                topics.append({"topic": TOPICS[(n + 1) % 3], "score": 1.5})
            at = stamp(START + timedelta(hours=n))
            candidate_id = db.conn.execute(
                "INSERT INTO candidates (work_id, origin_work_id, state, score, topics,"
                " created_at, updated_at) VALUES (?, ?, 'published', 2.0, ?, ?, ?)",
                (work_ids[n], work_ids[n], json.dumps(topics), at, at),
            ).lastrowid
            parts = {key: text.format(n=n) for key, text in PARTS.items()}
            draft_id = db.conn.execute(
                "INSERT INTO drafts (candidate_id, version, finding, what_was_done,"
                " why_it_matters, limits, text, checked, checks, by, origin, created_at)"
                " VALUES (?, 1, ?, ?, ?, ?, ?, 1, '[]', 'bench', 'editor', ?)",
                (candidate_id, *parts.values(), "\n\n".join(parts.values()), at),
            ).lastrowid
            db.conn.execute(
                "INSERT INTO publications VALUES (?, ?, ?, 'bench')", (candidate_id, draft_id, at)
            )


def timed(db, site: Path):
    wall, cpu = time.perf_counter(), time.process_time()
    result = publish(db, site, SETTINGS)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        db = open_db(Path(folder) / "publish.db")
        started = time.perf_counter()
        store_works(db, PIECES + 1)
        publish_pieces(db, 0, PIECES)
        print(f"set-up: {PIECES:,} published pieces in {time.perf_counter() - started:.1f} s")
        site = Path(folder) / "site"

        result, wall, cpu = timed(db, site)
        size = sum(path.stat().st_size for path in site.rglob("*") if path.is_file())
        print(f"first publish: {len(result.written):,} files, {size / 2**20:.1f} MiB"
              f" in {wall:.2f} s wall, {cpu:.2f} s CPU"
              f" ({len(result.written) / wall:,.0f} files/s)")  # fmt: skip

        again, wall, cpu = timed(db, site)
        quiet = again.written == [] and again.removed == []
        print(f"second publish, nothing new: {len(again.written)} written, {again.unchanged:,}"
              f" unchanged in {wall:.2f} s wall, {cpu:.2f} s CPU"
              f" (target: nothing written) {verdict(quiet)}")  # fmt: skip

        publish_pieces(db, PIECES, 1)  # the newest piece of all
        one, wall, cpu = timed(db, site)
        fast = wall <= REPUBLISH_TARGET
        print(f"re-publish after one new piece: {len(one.written)} written"
              f" ({', '.join(sorted(one.written))}) in {wall:.2f} s wall, {cpu:.2f} s CPU"
              f" (target <= {REPUBLISH_TARGET:g} s) {verdict(fast)}")  # fmt: skip
    return 0 if quiet and fast else 1


if __name__ == "__main__":
    sys.exit(main())
