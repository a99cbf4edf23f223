"""Does the dedup's cost per new record stay flat as the database grows?

    python bench/dedup_scale_bench.py [--works N]

Stores N invented works (100,000 by default) through the real store, 1,000 records per
transaction (one slice), into a fresh SQLite file, and measures the CPU time of each slice.
The titles are shaped like this service's domain: a third end in a phrase many titles share
("... in multiple sclerosis", "...: a systematic review and meta-analysis"), 1 in 100 is an
identically titled notice ("Erratum", "Correction", "Reply"), and 1 in 50 is another source's
copy of an earlier work (a duplicate to find: as stored, with initials and a lower-case title,
without pages, or online first a year earlier). Run twice: as PubMed records (PMIDs and DOIs)
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
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils
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

    def work(self) -> tuple[int, dict]:
        """The number of the work a record is of (a copy has its original's), and its fields."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.02 and self.made:
            original = rng.randrange(len(self.made))  # another source's copy of a stored work
            return original, self.copy(self.made[original])
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
        return len(self.made) - 1, made

    def copy(self, made: dict) -> dict:
        """How another source writes a stored work: as it is, with initials and a
        lower-case title ending in a full stop, without pages, or online first (the year
        before, in the same volume)."""
        copy = dict(made)
        way = self.rng.randrange(4)
        if way == 1:
            copy["title"] = copy["title"].lower() + "."
            copy["authors"] = [a.replace(",", "") for a in copy["authors"]]
        elif way == 2:
            copy["pages"] = None
        elif way == 3:
            copy["pub_date"] = str(int(copy["pub_date"]) - 1)
        return copy


def records(works: int, kind: str) -> tuple[list[Record], dict[str, int]]:
    """The records, and the work each record's source id is of."""
    corpus = Corpus()
    made = []
    origin = {}
    for n in range(1, works + 1):
        work, fields = corpus.work()
        if kind == "pubmed":
            # a copy under a PMID of its own is another PubMed citation: PMIDs always win
            work = n
            made.append(
                Record(source="pubmed", source_id=str(n), pmid=str(n), doi=f"10.5555/{n}", **fields)
            )
        else:
            made.append(Record(source="feed:bench", source_id=f"item-{n}", **fields))
        origin[made[-1].source_id] = work
    return made, origin


@dataclass
class Outcome:
    times: list[float]  # CPU seconds of each slice
    live: int  # live works at the end
    expected: int  # works the records are of
    false_merges: int  # works holding records of more than one invented work
    missed: int  # invented works stored as more than one work


def outcome(db: sqlite_utils.Database, origin: dict[str, int], times: list[float]) -> Outcome:
    held: dict[int, set[int]] = defaultdict(set)
    spread: dict[int, set[int]] = defaultdict(set)
    for work_id, source_id in db.execute("SELECT work_id, source_id FROM sightings"):
        held[work_id].add(origin[source_id])
        spread[origin[source_id]].add(work_id)
    (live,) = db.execute("SELECT count(*) FROM works WHERE merged_into IS NULL").fetchone()
    return Outcome(
        times=times,
        live=live,
        expected=len(spread),
        false_merges=sum(len(works) > 1 for works in held.values()),
        missed=sum(len(works) > 1 for works in spread.values()),
    )


def slice_times(works: int, kind: str) -> Outcome:
    """Each slice's CPU seconds, and how the stored works compare with the invented ones."""
    batch, origin = records(works, kind)
    times = []
    with tempfile.TemporaryDirectory(prefix="litmon-scale-") as tmp:
        db = open_db(Path(tmp) / "scale.db")
        for start in range(0, len(batch), SLICE):
            cpu = time.process_time()
            save_records(db, batch[start : start + SLICE])
            times.append(time.process_time() - cpu)
        result = outcome(db, origin, times)
        db.conn.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, default=100_000, help="works to store (100,000)")
    args = parser.parse_args()
    window = min(WINDOW, args.works // 2) // SLICE or 1
    results = []
    for kind in ("pubmed", "id-less"):
        found = slice_times(args.works, kind)
        first = statistics.median(found.times[:window])
        last = statistics.median(found.times[-window:])
        ratio = last / first
        results += [ratio <= 1.2, found.false_merges == 0]
        print(
            f"{kind:<8} {args.works:,} records of {found.expected:,} works -> {found.live:,}"
            f" works ({found.false_merges} false merges {verdict(found.false_merges == 0)},"
            f" {found.missed} copies missed); CPU per {SLICE:,}-record slice:"
            f" first {window * SLICE:,} median {first * 1000:.0f} ms, last {window * SLICE:,}"
            f" median {last * 1000:.0f} ms; last / first = {ratio:.2f} (target <= 1.2)"
            f" {verdict(ratio <= 1.2)}"
        )
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
