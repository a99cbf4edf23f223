"""Relevance scoring benchmark: quality on the labelled fixture, speed and memory at scale.

    python bench/relevance_bench.py [--works N] [--quality-only]

Quality: every record of tests/fixtures/relevance/records.jsonl is scored with the shipped
profiles; per topic, precision of the 20 best-scored records and recall and precision at the
topic's threshold, with the records the threshold gets wrong and their labels' reasons. The
fixture measures the profiles; its records were written from kinds of signal, and the
weights were not tuned to it record by record (docs/how-it-works.md, "Scoring").

Speed and memory: a database of N (default 100,000) and N/5 generated works (fixture-shaped
titles and MeSH, ~2 KB abstracts), stored through the real store (``new`` events), then
scored from the events by ``score_pending`` in a subprocess per size: works/s (wall and
CPU, one process, one core) and peak RSS. Targets: >= 2,000 works/s at N; peak RSS at N
<= 1.2x that at N/5. PASS/FAIL per target; exit 1 if one fails.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from itertools import islice
from pathlib import Path

from measure import peak_rss_kib, run_child, verdict

from litmon.core.records import Record
from litmon.db.schema import open_db
from litmon.db.store import save_records
from litmon.scoring.run import score_pending
from litmon.scoring.score import Scorer, WorkText
from litmon.settings import load_config

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "relevance" / "records.jsonl"
SYLLABLES = "ka lo mi ne ra su to vi ze ph th an el or um is ex al cy qu".split()
RATE_TARGET = 2000.0
RSS_TARGET = 1.2


def load_fixture() -> list[dict]:
    return [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]


def quality() -> bool:
    records = load_fixture()
    profiles = load_config(env={}).profiles
    scorer = Scorer(list(profiles.values()))
    scores: dict[str, list[tuple[float, dict]]] = {topic: [] for topic in profiles}
    for index, rec in enumerate(records):
        work = WorkText(
            index,
            rec["title"],
            rec["abstract"],
            rec["keywords"],
            rec["mesh"],
            rec["publication_types"],
        )
        for score in scorer.score(work):
            scores[score.topic].append((score.score, rec))
    print(f"fixture: {len(records)} labelled records ({FIXTURE.name})")
    for topic, profile in profiles.items():
        ranked = sorted(scores[topic], key=lambda pair: (-pair[0], pair[1]["id"]))
        relevant = sum(rec["labels"][topic] for _, rec in ranked)
        top = ranked[:20]
        precision20 = sum(rec["labels"][topic] for _, rec in top) / len(top)
        above = [(s, rec) for s, rec in ranked if s >= profile.threshold]
        hits = sum(rec["labels"][topic] for _, rec in above)
        recall = hits / relevant if relevant else 1.0
        precision = hits / len(above) if above else 1.0
        print(
            f"\n{topic} (threshold {profile.threshold:g}): {relevant} relevant;"
            f" precision@20 {precision20:.2f}; at the threshold {len(above)} above,"
            f" recall {recall:.2f}, precision {precision:.2f}"
        )
        for s, rec in ranked:
            wrong = rec["labels"][topic] != (s >= profile.threshold)
            if wrong:
                side = "missed" if rec["labels"][topic] else "false positive"
                print(f"  {side}: {s:6.2f} {rec['id']} [{rec['kind']}] {rec['title'][:70]}")
                print(f"          label: {rec['reason']}")
    return True


BEYOND_ASCII = (
    "Mean age was 41.2 ± 9.8 years and EDSS ≥ 3.0 in 12–18 % of patients.",
    "Serum Aβ42 and NfL (pg/mL) rose 2.1‐fold; CSF IL‑6 was 4.5 µg/L.",
    "Naïve B cells and CD4⁺ T cells were counted at Zürich and Besançon (β = 0.31).",
)


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def _words(rng: random.Random, count: int) -> str:
    return " ".join(_word(rng).capitalize() for _ in range(count))


def generated(count: int, seed: int = 8) -> Iterator[Record]:
    """Fixture-shaped records made distinct (no merges): a fixture title with invented
    words, an abstract of three fixture abstracts and invented sentences (~2 KB); two in
    five abstracts have a sentence with the characters real ones have beyond ASCII
    (±, ≥, µ, β, en dashes, accents), as about that share of PubMed abstracts do."""
    return (record for record, _ in labelled(count, seed))


def labelled(count: int, seed: int = 8) -> Iterator[tuple[Record, int]]:
    """:func:`generated`'s records, each with the label of the fixture record it was made
    from (relevant to either topic: 1)."""
    rng = random.Random(seed)
    pool = load_fixture()
    abstracts = [rec["abstract"] for rec in pool if rec["abstract"]]
    for number in range(count):
        base = rng.choice(pool)
        filler = " ".join(
            " ".join(_word(rng) for _ in range(14)).capitalize() + "." for _ in range(8)
        )
        abstract = " ".join([*rng.sample(abstracts, 3), filler])
        if rng.random() < 0.4:
            abstract += f" {rng.choice(BEYOND_ASCII)}"
        pmid = str(30_000_000 + number)
        record = Record(
            source="pubmed",
            source_id=pmid,
            pmid=pmid,
            # invented first and last words: the dedup's blocking keys stay distinct,
            # as those of real titles mostly are
            title=f"{_words(rng, 3)}: {base['title']} {_words(rng, 3)}",
            abstract=abstract,
            authors=[f"{_word(rng).capitalize()}, {_word(rng)[0].upper()}." for _ in range(6)],
            journal="Mult Scler",
            pub_date=str(rng.randint(2000, 2026)),
            mesh=base["mesh"],
            publication_types=base["publication_types"] or ["Journal Article"],
            keywords=base["keywords"],
        )
        yield record, int(any(base["labels"].values()))


def build(path: Path, count: int) -> None:
    db = open_db(path)
    records = generated(count)
    while batch := list(islice(records, 500)):
        save_records(db, batch)


def score_child(path: Path) -> None:
    """Subprocess entry: score every pending event of ``path``; print works, wall, CPU, RSS."""
    db = open_db(path)
    profiles = list(load_config(env={}).profiles.values())
    wall, cpu = time.perf_counter(), time.process_time()
    summary = score_pending(db, profiles)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{summary.scored} {wall} {cpu} {peak_rss_kib()}")


def child(path: Path) -> tuple[int, float, float, int]:
    output = run_child(__file__, "--score-child", path)
    return int(output[0]), float(output[1]), float(output[2]), int(output[3])


def speed(count: int) -> bool:
    small = count // 5
    with tempfile.TemporaryDirectory(prefix="relevance-bench-") as tmp:
        results = {}
        for size in (small, count):
            path = Path(tmp) / f"works-{size}.db"
            started = time.perf_counter()
            build(path, size)
            print(f"\nstored {size:,} generated works in {time.perf_counter() - started:.1f} s")
            results[size] = child(path)
            scored, wall, cpu, rss = results[size]
            print(
                f"scored {scored:,} works: {scored / wall:,.0f} works/s wall,"
                f" {scored / cpu:,.0f} works/s CPU, peak RSS {rss / 1024:.0f} MiB"
            )
    scored, wall, _cpu, rss = results[count]
    return judge_scaling(small, count, scored / wall, results[small][3], rss)


def judge_scaling(small: int, count: int, rate: float, small_rss: int, rss: int) -> bool:
    """Print the scoring targets' verdicts (the rate at ``count`` works, and the peak RSS
    there against that at ``small``); True when both are met."""
    rate_ok = rate >= RATE_TARGET
    ratio = rss / small_rss
    rss_ok = ratio <= RSS_TARGET
    print(
        f"\nscoring rate at {count:,}: {rate:,.0f} works/s (target >= {RATE_TARGET:,.0f}): ", end=""
    )
    print(verdict(rate_ok))
    print(f"peak RSS {small:,} -> {count:,}: {ratio:.2f}x (target <= {RSS_TARGET}): ", end="")
    print(verdict(rss_ok))
    return rate_ok and rss_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--works", type=int, default=100_000)
    parser.add_argument("--quality-only", action="store_true")
    parser.add_argument("--score-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.score_child:
        score_child(args.score_child)
        return 0
    ok = quality()
    if not args.quality_only:
        ok = speed(args.works) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
