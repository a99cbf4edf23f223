"""Deduplication quality on the labelled benchmark sets in ../shared/dedup-benchmark/.

Each set's records.csv goes through the real pipeline (imports.read_csv ->
pipeline.ingest.ingest_records into a fresh SQLite file, as `litmon ingest csv` runs it); the
predicted groups are the works and their sightings (possible duplicates are not merges). A
row the importer skips (no title) stays a group of its own. Scored as the benchmark README
says.

"kept apart" counts the missed duplicates (FN) that the product's rules keep apart on purpose:
the labels group a notice (erratum, retraction, comment or reply) with its article, parts of a
series, or a preprint with its journal version, which litmon stores as distinct works.
"sens*" is the sensitivity without those FN; the plain sensitivity is printed next to it.

Run from the repository root: ``python bench/dedup_bench.py [set ...]``.
"""

from __future__ import annotations

import csv
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from litmon.core.records import Record
from litmon.db import dedup
from litmon.db.schema import open_db
from litmon.imports import read_csv
from litmon.pipeline.ingest import ingest_records

ROOT = Path(__file__).resolve().parent.parent

BENCHMARK = ROOT.parent / "shared" / "dedup-benchmark"


@dataclass
class Score:
    records: int = 0
    false_merges: int = 0
    fp: int = 0
    tp: int = 0
    fn: int = 0
    tn: int = 0
    missed: int = 0  # true groups left in more than one work
    kept_apart: int = 0  # FN the product's rules require (notice vs article, series, preprint)
    possible: int = 0
    seconds: float = 0.0

    @property
    def sensitivity(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def sensitivity_by_rule(self) -> float:
        """Sensitivity not counting the FN that the product's rules keep apart."""
        found = self.tp + self.fn - self.kept_apart
        return self.tp / found if found else 1.0

    @property
    def specificity(self) -> float:
        return self.tn / (self.tn + self.fp) if self.tn + self.fp else 1.0


def predicted_groups(folder: Path, name: str) -> tuple[list[list[str]], int, float]:
    """Groups of record IDs, one per work; the number of open possible duplicates; seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "bench.db")
        started = time.perf_counter()
        path = folder / "records.csv"
        ingest_records(db, f"csv:{name}", path, read_csv(path, name))
        seconds = time.perf_counter() - started
        groups: dict[int, list[str]] = defaultdict(list)
        for work_id, source_id in db.execute("SELECT work_id, source_id FROM sightings"):
            groups[work_id].append(source_id)
        # a row the importer skipped is no work: scored alone, as if kept apart
        stored = {rid for members in groups.values() for rid in members}
        missing = [rid for rid in record_ids(path) if rid not in stored]
        groups.update({-n: [rid] for n, rid in enumerate(missing, start=1)})
        possible = db.execute(
            "SELECT count(*) FROM possible_duplicates WHERE status = 'open'"
        ).fetchone()[0]
        db.conn.close()
    return list(groups.values()), possible, seconds


def record_ids(path: Path) -> list[str]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return [row["ID"] for row in csv.DictReader(handle)]


def true_groups(folder: Path) -> dict[str, int]:
    """Record ID -> true group number, for records that have a duplicate."""
    with open(folder / "duplicate_groups.csv", encoding="utf-8-sig", newline="") as handle:
        rows = csv.DictReader(handle)
        return {rid: n for n, row in enumerate(rows) for rid in row["merged_ids"].split(";")}


def rule_classes(folder: Path, name: str) -> dict[str, tuple]:
    """Record ID -> what the product's rules keep apart: notice kind, series part, preprint."""
    classes = {}
    for record in read_csv(folder / "records.csv", source=name):
        if not isinstance(record, Record):
            continue
        found = dedup.profile(record)
        classes[record.source_id] = (found.kind, found.series, found.preprint)
    return classes


def score(
    predicted: list[list[str]], truth: dict[str, int], classes: dict[str, tuple] | None = None
) -> Score:
    result = Score(records=sum(map(len, predicted)))
    kept = {min(group) for group in predicted}
    singles = {rid for group in predicted for rid in group} - truth.keys()
    result.tn = len(singles & kept)
    result.fp = len(singles - kept)
    members: dict[int, list[str]] = defaultdict(list)
    for rid, number in truth.items():
        members[number].append(rid)
    for ids in members.values():
        m = len(kept.intersection(ids))
        # A group spanning r rule classes needs r works: r - 1 of its FN are by design.
        r = len({classes[rid] for rid in ids}) if classes else 1
        result.kept_apart += max(min(m, r) - 1, 0)
        if m == 0:
            result.fp += 1
            result.tp += len(ids) - 1
        else:
            result.tn += 1
            result.fn += m - 1
            result.missed += m > 1
            result.tp += len(ids) - m
    for group in predicted:
        for a, b in combinations(group, 2):
            if truth.get(a, f"single:{a}") != truth.get(b, f"single:{b}"):
                result.false_merges += 1
    return result


def main(names: list[str]) -> int:
    if not BENCHMARK.is_dir():
        print(f"no benchmark data at {BENCHMARK}; nothing to measure")
        return 0
    names = names or sorted(p.name for p in BENCHMARK.iterdir() if (p / "records.csv").exists())
    print(
        f"{'set':<20}{'records':>8}{'false':>7}{'FP':>5}{'TP':>6}{'FN':>5}{'TN':>6}"
        f"{'missed':>7}{'sens':>8}{'kept apart':>11}{'sens*':>8}{'spec':>8}{'possible':>9}"
        f"{'sec':>7}{'rec/s':>8}"
    )
    verdicts = []
    for name in names:
        folder = BENCHMARK / name
        predicted, possible, seconds = predicted_groups(folder, name)
        s = score(predicted, true_groups(folder), rule_classes(folder, name))
        verdicts.append(
            f"{name}: zero false merges {'PASS' if s.false_merges == 0 else 'FAIL'},"
            f" sensitivity >= 0.99 {'PASS' if s.sensitivity >= 0.99 else 'FAIL'}"
        )
        print(
            f"{name:<20}{s.records:>8}{s.false_merges:>7}{s.fp:>5}{s.tp:>6}{s.fn:>5}{s.tn:>6}"
            f"{s.missed:>7}{s.sensitivity:>8.4f}{s.kept_apart:>11}{s.sensitivity_by_rule:>8.4f}"
            f"{s.specificity:>8.4f}{possible:>9}{seconds:>7.2f}{s.records / seconds:>8.0f}"
        )
    print(
        "kept apart: FN the product keeps apart by rule (notice vs article, series parts,"
        " preprint vs journal version); sens*: sensitivity without those FN"
    )
    print("\n".join(verdicts))
    return 1 if any("FAIL" in line for line in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
