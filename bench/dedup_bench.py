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

bib-dedupe (``pip install bib-dedupe``, optional: not a dependency of litmon) runs on the same
sets, on one CPU, with its own defaults (prep, block, match, cluster; its "maybe" pairs are
not merges). Both tools' false merges, sensitivity and in-process CPU seconds are printed
side by side; the targets: no false merge, sensitivity at or above bib-dedupe's, and at
least 10x its speed. CPU time is in-process (litmon's includes SQLite's work).

Run from the repository root: ``python bench/dedup_bench.py [set ...]``.
"""

from __future__ import annotations

import csv
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

from measure import verdict

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
    """Groups of record IDs, one per work; the number of open possible duplicates; CPU
    seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "bench.db")
        started = time.process_time()
        path = folder / "records.csv"
        ingest_records(db, f"csv:{name}", path, read_csv(path, name))
        seconds = time.process_time() - started
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


def bib_dedupe_groups(folder: Path) -> tuple[list[list[str]], float] | None:
    """bib-dedupe's groups of record IDs on one CPU, and its CPU seconds; None when it is
    not installed."""
    try:
        import pandas
        from bib_dedupe.bib_dedupe import block, cluster, match, prep
    except ImportError:
        return None
    records = pandas.read_csv(folder / "records.csv")
    started = time.process_time()
    prepared = prep(records, cpu=1, verbosity_level=0)
    matched = match(block(prepared, cpu=1, verbosity_level=0), cpu=1, verbosity_level=0)
    clusters = cluster(matched, verbosity_level=0)
    seconds = time.process_time() - started
    groups = [sorted(group) for group in clusters]
    grouped = {rid for group in groups for rid in group}
    groups.extend([rid] for rid in record_ids(folder / "records.csv") if rid not in grouped)
    return groups, seconds


def record_ids(path: Path) -> list[str]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return [row["ID"] for row in csv.DictReader(handle)]


def true_groups(folder: Path) -> dict[str, int]:
    """Record ID -> true group number, for records that have a duplicate."""
    with open(folder / "duplicate_groups.csv", encoding="utf-8-sig", newline="") as handle:
        rows = csv.DictReader(handle)
        return {rid: n for n, row in enumerate(rows) for rid in row["merged_ids"].split(";")}


def records_by_id(folder: Path, name: str) -> dict[str, Record]:
    """Record ID -> the record as the importer reads it (rows without a title are left out)."""
    rows = read_csv(folder / "records.csv", source=name)
    return {record.source_id: record for record in rows if isinstance(record, Record)}


def rule_classes(folder: Path, name: str) -> dict[str, tuple]:
    """Record ID -> what the product's rules keep apart: notice kind, series part, preprint."""
    classes = {}
    for rid, record in records_by_id(folder, name).items():
        found = dedup.profile(record)
        classes[rid] = (found.kind, found.series, found.preprint)
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


def why_missed(
    predicted: list[list[str]], truth: dict[str, int], records: dict[str, Record]
) -> Counter[str]:
    """Why litmon kept each missed duplicate apart: its judgement of the missed work's
    record against the closest record of the group's other works, by kind of reason."""
    work_of = {rid: n for n, group in enumerate(predicted) for rid in group}
    members: dict[int, list[str]] = defaultdict(list)
    for rid, number in truth.items():
        members[number].append(rid)
    reasons: Counter[str] = Counter()
    for ids in members.values():
        works: dict[int, list[str]] = defaultdict(list)
        for rid in sorted(ids):
            works[work_of[rid]].append(rid)
        seen: list[str] = []
        for group in works.values():
            if seen:
                verdicts = [
                    dedup.judge(records[a], records[b])
                    for a in group
                    for b in seen
                    if a in records and b in records
                ]
                best = max(verdicts, key=lambda v: v.score, default=None)
                reasons[_reason_kind(best)] += 1
            seen.extend(group)
    return reasons


def _reason_kind(verdict: dedup.Verdict | None) -> str:
    if verdict is None:
        return "not imported"
    if "differ: " in verdict.reason:
        return "conflict: " + verdict.reason.split("differ: ")[1]
    if verdict.reason.startswith("title ") and not verdict.possible:
        return "other title"
    if verdict.possible:
        return "left to an editor"
    return verdict.reason


def main(names: list[str]) -> int:
    if not BENCHMARK.is_dir():
        print(f"no benchmark data at {BENCHMARK}; nothing to measure")
        return 0
    names = names or sorted(p.name for p in BENCHMARK.iterdir() if (p / "records.csv").exists())
    print(
        f"{'set':<20}{'tool':<12}{'records':>8}{'false':>7}{'FP':>5}{'TP':>6}{'FN':>5}{'TN':>6}"
        f"{'missed':>7}{'sens':>8}{'kept apart':>11}{'sens*':>8}{'spec':>8}{'possible':>9}"
        f"{'CPU s':>7}{'rec/s':>8}"
    )
    verdicts, reasons = [], []
    for name in names:
        folder = BENCHMARK / name
        truth = true_groups(folder)
        classes = rule_classes(folder, name)
        predicted, possible, seconds = predicted_groups(folder, name)
        s = score(predicted, truth, classes)
        print(_row(name, "litmon", s, seconds, str(possible)))
        missed = why_missed(predicted, truth, records_by_id(folder, name))
        reasons.append(
            f"{name}: litmon's {s.fn} FN, why kept apart: "
            + ", ".join(f"{why} {n}" for why, n in missed.most_common())
        )
        checks = [f"zero false merges {verdict(s.false_merges == 0)}"]
        other = bib_dedupe_groups(folder)
        if other is None:
            print(f"{name:<20}bib-dedupe  not installed (pip install bib-dedupe): not compared")
        else:
            theirs = score(other[0], truth, classes)
            print(_row(name, "bib-dedupe", theirs, other[1], "-"))
            speed = other[1] / seconds
            checks += [
                f"sensitivity {s.sensitivity:.4f} >= bib-dedupe's {theirs.sensitivity:.4f}"
                f" {verdict(s.sensitivity >= theirs.sensitivity)}",
                f"sens* {s.sensitivity_by_rule:.4f} vs bib-dedupe's"
                f" {theirs.sensitivity_by_rule:.4f}",
                f"speed {speed:.1f}x bib-dedupe's (target >= 10) {verdict(speed >= 10)}",
            ]
        verdicts.append(f"{name}: {', '.join(checks)}")
    print(
        "kept apart: FN the product keeps apart by rule (notice vs article, series parts,"
        " preprint vs journal version); sens*: sensitivity without those FN"
    )
    print("\n".join(reasons))
    print("\n".join(verdicts))
    return 1 if any("FAIL" in line for line in verdicts) else 0


def _row(name: str, tool: str, s: Score, seconds: float, possible: str) -> str:
    return (
        f"{name:<20}{tool:<12}{s.records:>8}{s.false_merges:>7}{s.fp:>5}{s.tp:>6}{s.fn:>5}"
        f"{s.tn:>6}{s.missed:>7}{s.sensitivity:>8.4f}{s.kept_apart:>11}"
        f"{s.sensitivity_by_rule:>8.4f}{s.specificity:>8.4f}{possible:>9}{seconds:>7.2f}"
        f"{s.records / seconds:>8.0f}"
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
