"""Does the dedup's cost per new record stay flat as the database grows?

    python bench/dedup_scale_bench.py [--works N]

Stores N invented works (100,000 by default) through the real store, 1,000 records per
transaction (one slice), into a fresh SQLite file, and measures the CPU time of each slice.
The titles are shaped like this service's domain: a third end in a phrase many titles share
("... in multiple sclerosis", "...: a systematic review and meta-analysis"), 1 in 100 is an
identically titled notice ("Erratum", "Correction", "Reply"), and 1 in 50 is another source's
copy of an earlier work (a duplicate to find). Run twice: as PubMed records (PMIDs and DOIs)
and as id-less feed/import records. Target: the median CPU time of a slice over the last
10,000 records within 1.2x of the first 10,000's. PASS/FAIL per kind.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from measure import verdict

from litmon.core.records import Record
from litmon.db.schema import open_db
from litmon.db.store import save_records

SLICE = 1000
WINDOW = 10_000
COMMON_ENDINGS = (
    "in multiple sclerosis",
    "in patients with relapsing-remitting multiple sclerosis",
    ": a systematic review and meta-analysis",
    "in acute ischaemic stroke",
    ": a randomised controlled trial",
)
NOTICES = ("Erratum", "Correction", "Reply", "Editor's Comments")
_SYLLABLES = "ka lo mi ne ru sa ti vo ze pa gri tho bel mar dun fes lin cor ast ven".split()


def _words(rng: random.Random, count: int, length: tuple[int, int]) -> list[str]:
    return [
        "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(*length))) for _ in range(count)
    ]


class Corpus:
    """Invented works, reproducible from a seed."""

    def __init__(self, seed: int = 11) -> None:
        self.rng = random.Random(seed)
        self.vocabulary = _words(self.rng, 5000, (2, 4))
        self.surnames = _words(self.rng, 20000, (2, 3))
        self.journals = [f"Journal of {w.title()} {v.title()}" for w, v in self._pairs(300)]
        self.made: list[dict] = []

    def _pairs(self, count: int) -> list[tuple[str, str]]:
        pick = self.rng.choice
        return [(pick(self.vocabulary), pick(self.vocabulary)) for _ in range(count)]

    def work(self) -> dict:
        rng = self.rng
        roll = rng.random()
        if roll < 0.02 and self.made:
            return dict(rng.choice(self.made))  # another source's copy of a stored work
        year = rng.randint(2010, 2025)
        fields = dict(
            journal=rng.choice(self.journals),
            volume=str(rng.randint(1, 80)),
            issue=str(rng.randint(1, 12)),
            pub_date=str(year),
        )
        if roll < 0.03:
            title = rng.choice(NOTICES)
            fields["pages"] = str(rng.randint(1, 2000))
            authors = []
        else:
            title = " ".join(rng.choice(self.vocabulary) for _ in range(rng.randint(5, 10)))
            if roll < 0.36:
                title = f"{title} {rng.choice(COMMON_ENDINGS)}".replace(" :", ":")
            first = rng.randint(1, 1900)
            fields["pages"] = f"{first}-{first + rng.randint(3, 15)}"
            authors = [
                f"{rng.choice(self.surnames).title()}, {rng.choice('ABCDEFGHJKLMNPRST')}"
                for _ in range(rng.randint(1, 8))
            ]
        made = dict(title=title[0].upper() + title[1:], authors=authors, **fields)
        self.made.append(made)
        return made


def records(works: int, kind: str) -> list[Record]:
    corpus = Corpus()
    made = []
    for n in range(1, works + 1):
        fields = corpus.work()
        if kind == "pubmed":
            made.append(
                Record(source="pubmed", source_id=str(n), pmid=str(n), doi=f"10.5555/{n}", **fields)
            )
        else:
            made.append(Record(source="feed:bench", source_id=f"item-{n}", **fields))
    return made


def slice_times(works: int, kind: str) -> tuple[list[float], int]:
    """CPU seconds of each slice, and the number of live works at the end."""
    batch = records(works, kind)
    times = []
    with tempfile.TemporaryDirectory(prefix="litmon-scale-") as tmp:
        db = open_db(Path(tmp) / "scale.db")
        for start in range(0, len(batch), SLICE):
            cpu = time.process_time()
            save_records(db, batch[start : start + SLICE])
            times.append(time.process_time() - cpu)
        (live,) = db.execute("SELECT count(*) FROM works WHERE merged_into IS NULL").fetchone()
        db.conn.close()
    return times, live


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, default=100_000, help="works to store (100,000)")
    args = parser.parse_args()
    window = min(WINDOW, args.works // 2) // SLICE or 1
    results = []
    for kind in ("pubmed", "id-less"):
        times, live = slice_times(args.works, kind)
        first = statistics.median(times[:window])
        last = statistics.median(times[-window:])
        ratio = last / first
        results.append(ratio <= 1.2)
        print(
            f"{kind:<8} {args.works:,} records -> {live:,} works; CPU per {SLICE:,}-record slice:"
            f" first {window * SLICE:,} median {first * 1000:.0f} ms, last {window * SLICE:,}"
            f" median {last * 1000:.0f} ms; last / first = {ratio:.2f} (target <= 1.2)"
            f" {verdict(ratio <= 1.2)}"
        )
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
