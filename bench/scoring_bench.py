"""Scoring with the relevance model: speed and memory at scale.

    python bench/scoring_bench.py [--works N]

A database of N (default 100,000) and one of N/5 generated works (relevance_bench's
fixture-shaped records, ~2 KB abstracts) are stored through the real store; a model trained
on 5,000 other generated works, labelled as the fixture record each was made from (relevant
to either topic: 1), is stored as the active version (its vocabulary, ~700,000 words and
pairs, is the size of one trained on 5,000 real abstracts); then each database is scored
from its events by ``score_and_learn`` in a subprocess of its own: the shipped profiles
and the model's probability of every work, explained for the works at a threshold or let
in. Prints works/s (wall and CPU, one
process) and peak RSS. Targets: >= 2,000 works/s at N; peak RSS at N <= 1.2x that at N/5.
PASS/FAIL per target; exit 1 if one fails.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from measure import peak_rss_kib, run_child
from relevance_bench import build, judge_scaling, labelled

from litmon.core.clock import now
from litmon.db.models import add_version
from litmon.db.schema import open_db
from litmon.db.transactions import write_transaction
from litmon.model import Doc, fit
from litmon.scoring.learn import ModelSettings
from litmon.scoring.run import score_and_learn
from litmon.settings import load_config

# The model scores with: trained on as many labels as the training target names.
LABELS = 5_000
# No retraining during the measured run: it scores with the stored model only.
SETTINGS = ModelSettings(min_labels=100_000)


def store_model(path: Path) -> float:
    """Train a model on :data:`LABELS` labelled works of the bench's shape (other records
    than the scored ones) and store it as the active version; returns its training time."""
    pairs = list(labelled(LABELS, seed=99))
    docs = [
        Doc(
            record.title,
            record.abstract,
            keywords=tuple(record.keywords),
            mesh=tuple(record.mesh),
            pub_types=tuple(record.publication_types),
            journal=record.journal,
        )
        for record, _ in pairs
    ]
    started = time.perf_counter()
    model = fit(docs, [label for _, label in pairs], seed=0)
    trained = time.perf_counter() - started
    db = open_db(path)
    with write_transaction(db.conn):
        add_version(db.conn, model.to_data(), trained_at=now(), labels={}, auc=None, wss95=None)
    return trained


def score_child(path: Path) -> None:
    """Subprocess entry: one scoring run over every pending event; print works, wall, CPU,
    peak RSS and how many works have a probability."""
    db = open_db(path)
    profiles = list(load_config(env={}).profiles.values())
    wall, cpu = time.perf_counter(), time.process_time()
    summary = score_and_learn(db, profiles, SETTINGS)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    (scored,) = db.execute("SELECT count(*) FROM work_model_scores").fetchone()
    (explained,) = db.execute(
        "SELECT count(*) FROM work_model_scores WHERE explanation IS NOT NULL"
    ).fetchone()
    print(f"{summary.scored} {wall} {cpu} {peak_rss_kib()} {scored} {explained}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--works", type=int, default=100_000)
    parser.add_argument("--score-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.score_child:
        score_child(args.score_child)
        return 0
    count, small = args.works, args.works // 5
    results = {}
    with tempfile.TemporaryDirectory(prefix="scoring-bench-") as tmp:
        for size in (small, count):
            path = Path(tmp) / f"works-{size}.db"
            started = time.perf_counter()
            build(path, size)
            trained = store_model(path)
            print(f"stored {size:,} generated works and a model trained on {LABELS:,} labels"
                  f" ({trained:.1f} s) in {time.perf_counter() - started:.1f} s")  # fmt: skip
            words = run_child(__file__, "--score-child", path)
            scored, wall, cpu, rss, modelled, explained = (
                int(words[0]), float(words[1]), float(words[2]), int(words[3]), int(words[4]),
                int(words[5]),
            )  # fmt: skip
            results[size] = (scored, wall, rss)
            print(
                f"scored {scored:,} works with profiles and model ({modelled:,} probabilities,"
                f" {explained:,} explained): {scored / wall:,.0f} works/s wall,"
                f" {scored / cpu:,.0f} works/s CPU, peak RSS {rss / 1024:.0f} MiB"
            )
    scored, wall, rss = results[count]
    return 0 if judge_scaling(small, count, scored / wall, results[small][2], rss) else 1


if __name__ == "__main__":
    sys.exit(main())
