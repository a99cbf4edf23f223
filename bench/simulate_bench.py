"""Simulated screening on the shared labelled sets: litmon's relevance model beside ASReview
LAB's default model (ELAS u4), and the model's training time and scoring throughput.

    python bench/simulate_bench.py [--seeds 3] [--asreview PATH] [--sets A,B] [--speed-only]

For each set of ../shared/relevance-benchmark/ (this script says so when it is absent), each
seed draws one relevant and one irrelevant record; litmon's simulation (the code of `litmon
eval simulate`) and ASReview's (`asreview simulate --prior-idx`, the same two records, the
same seed) then read one record at a time until every relevant one is found. Both orders
are scored by litmon.model.metrics: WSS@95 and WSS@100 with the priors counted as read,
recall after reading 10 % and 20 %. ASReview runs from its own environment:

    python3 -m venv /tmp/asr && /tmp/asr/bin/pip install asreview

Speed: training on 5,000 labels (target <= 10 s) and scoring 100,000 works with the
trained model, from its stored data (target >= 2,000 works/s), on works made of the sets'
own records. PASS/FAIL per target; exit 1 if one fails. Size: the stored model's JSON,
whether the reloaded model ranks as the trained one, and a database's size after more
trainings than [model] keep_versions keeps models of.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from statistics import mean

import numpy as np
import orjson
from measure import verdict

from litmon.core.clock import now
from litmon.db.models import add_version, prune
from litmon.db.schema import open_db
from litmon.db.transactions import write_transaction
from litmon.eval_cli import labelled_docs
from litmon.imports.labelled import read_labelled_csv
from litmon.model import Doc, Model, fit, simulate
from litmon.model.metrics import read_until, recall_after, wss
from litmon.model.simulate import pick_priors
from litmon.scoring.learn import ModelSettings

SHARED = Path(__file__).resolve().parents[2] / "shared" / "relevance-benchmark"
ASREVIEW = Path("/tmp/asr/bin/asreview")
TRAIN_TARGET, RATE_TARGET = 10.0, 2000.0


def figures(found: list[int], n: int, seconds: float) -> dict:
    total = sum(found)
    return {
        "wss95": wss(found, 0.95, n),
        "wss100": wss(found, 1.0, n),
        "recall_10": recall_after(found, 0.10, n, total),
        "recall_20": recall_after(found, 0.20, n, total),
        "read_95": read_until(found, 0.95),
        "read_all": read_until(found, 1.0),
        "seconds": seconds,
    }


def asreview_run(asreview: Path, csv: Path, priors: tuple[int, int], seed: int) -> dict:
    """ASReview's default model from the same two records; its reading order from the
    project file's results table (priors first, then in the order labelled)."""
    with tempfile.TemporaryDirectory(prefix="asreview-") as tmp:
        project = Path(tmp) / "run.asreview"
        started = time.perf_counter()
        subprocess.run(
            [str(asreview), "simulate", str(csv), "--prior-idx", str(priors[0]),
             str(priors[1]), "--seed", str(seed), "-o", str(project)],
            check=True, capture_output=True, text=True, cwd=tmp,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        with zipfile.ZipFile(project) as archive:
            archive.extract("results.db", tmp)
        db = sqlite3.connect(Path(tmp) / "results.db")
        read = [label for (label,) in db.execute("SELECT label FROM results ORDER BY rowid")]
        db.close()
    return read, seconds


def compare(name: str, csv: Path, seeds: int, asreview: Path | None) -> list[dict]:
    rows = read_labelled_csv(csv)
    docs, labels = labelled_docs(rows)
    n, positives = len(labels), sum(labels)
    print(f"\n{name}: {n} records, {positives} relevant")
    results = []
    for seed in range(seeds):
        priors = pick_priors(labels, seed)
        ours = simulate(docs, labels, seed=seed, priors=priors)
        row = {"set": name, "seed": seed, "priors": priors,
               "litmon": figures(list(ours.found), n, ours.seconds)}  # fmt: skip
        if asreview is not None:
            found, seconds = asreview_run(asreview, csv, priors, seed)
            row["asreview"] = figures(found, n, seconds)
        results.append(row)
        line = f"  seed {seed} priors {priors}: litmon WSS@95 {row['litmon']['wss95']:.3f}"
        if "asreview" in row:
            line += f", ASReview {row['asreview']['wss95']:.3f}"
        print(line, flush=True)
    return results


def table(results: list[dict]) -> bool:
    """The mean per set and model, and whether litmon's WSS@95 is at least ASReview's."""
    keys = ("wss95", "wss100", "recall_10", "recall_20", "read_95", "read_all", "seconds")
    print("\n| set | model | " + " | ".join(keys) + " |")
    print("|---|---|" + "--:|" * len(keys))
    ok = True
    for name in dict.fromkeys(r["set"] for r in results):
        runs = [r for r in results if r["set"] == name]
        means = {}
        for model in ("litmon", "asreview"):
            if model not in runs[0]:
                continue
            means[model] = {k: mean(r[model][k] for r in runs) for k in keys}
            cells = " | ".join(
                f"{means[model][k]:.3f}" if k.startswith(("wss", "recall")) else
                f"{means[model][k]:.1f}" for k in keys
            )  # fmt: skip
            print(f"| {name} | {model} | {cells} |")
        if "asreview" in means:
            ok = ok and means["litmon"]["wss95"] >= means["asreview"]["wss95"]
    return ok


def stored_versions(data: dict, labels: dict[int, int], keep: int, trainings: int) -> tuple:
    """``trainings`` versions of ``data`` stored one after another in a fresh database, each
    followed by the pruning a training does: (MB of model data kept, MB of the database
    file, versions holding a model)."""
    with tempfile.TemporaryDirectory(prefix="litmon-versions-") as tmp:
        path = Path(tmp) / "versions.db"
        db = open_db(path)
        for _ in range(trainings):
            with write_transaction(db.conn):
                add_version(db.conn, data, trained_at=now(), labels=labels, auc=None, wss95=None)
                prune(db.conn, keep)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        kept = db.execute("SELECT sum(length(data)), count(*) FROM model_versions WHERE data != ''")
        size, holding = kept.fetchone()
        db.close()
        return size / 1e6, path.stat().st_size / 1e6, holding


def speed(sets: list[Path]) -> bool:
    """Training on 5,000 labels and scoring 100,000 works, from the sets' own records
    (resampled, each copy's words shuffled a little so no two are the same text); the
    stored model's size, and what the database keeps of it over many trainings."""
    pool: list[tuple[Doc, int]] = []
    for csv in sets:
        docs, labels = labelled_docs(read_labelled_csv(csv))
        pool.extend(zip(docs, labels, strict=True))
    rng = random.Random(5)

    def variant(doc: Doc) -> Doc:
        words = doc.abstract.split()
        rng.shuffle(words)
        return Doc(doc.title, " ".join(words), doc.keywords, doc.mesh, doc.pub_types, doc.journal)

    train = [pool[rng.randrange(len(pool))] for _ in range(5000)]
    docs, labels = [variant(d) for d, _ in train], [y for _, y in train]
    started = time.perf_counter()
    model = fit(docs, labels)
    trained = time.perf_counter() - started
    started = time.perf_counter()
    data = model.to_data()
    stored = orjson.dumps(data)  # as db.models stores it
    encoded = time.perf_counter() - started
    loaded = Model.from_data(orjson.loads(stored))
    works = [variant(pool[rng.randrange(len(pool))][0]) for _ in range(100_000)]
    started = time.perf_counter()
    for start in range(0, len(works), 500):  # in the scoring run's batches
        loaded.predict(works[start : start + 500])
    rate = len(works) / (time.perf_counter() - started)
    train_ok, rate_ok = trained <= TRAIN_TARGET, rate >= RATE_TARGET
    print(f"\ntraining on 5,000 labels: {trained:.1f} s (target <= 10 s): {verdict(train_ok)}")
    sample = works[:5000]
    before, after = np.array(model.predict(sample)), np.array(loaded.predict(sample))
    same = (np.argsort(-before, kind="stable") == np.argsort(-after, kind="stable")).all()
    print(
        f"stored model: {len(stored) / 1e6:.1f} MB of JSON (encoded in {encoded:.1f} s);"
        " reloaded, on 5,000 new works:"
        f" largest probability change {np.abs(before - after).max():.1e},"
        f" {'the same' if same else 'a different'} order"
    )
    keep = ModelSettings().keep_versions
    trainings = keep + 3
    kept, file_size, holding = stored_versions(
        data, {i: y for i, y in enumerate(labels)}, keep, trainings
    )
    print(
        f"{trainings} trainings with [model] keep_versions {keep}: {holding} versions hold a"
        f" model, {kept:.1f} MB; database file {file_size:.1f} MB (at most keep_versions + 1"
        f" models: {(keep + 1) * len(stored) / 1e6:.1f} MB)"
    )
    print(f"scoring 100,000 works: {rate:,.0f} works/s (target >= 2,000): {verdict(rate_ok)}")
    return train_ok and rate_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--asreview", type=Path, default=ASREVIEW)
    parser.add_argument("--sets", help="comma-separated set names (default: all)")
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--shared", type=Path, default=SHARED, help="the labelled sets' folder")
    args = parser.parse_args()
    shared: Path = args.shared
    if not shared.is_dir():
        print(f"{shared} is absent: no labelled sets to simulate on")
        return 1
    names = (
        args.sets.split(",")
        if args.sets
        else sorted(p.name for p in shared.iterdir() if (p / "records.csv").exists())
    )
    sets = [shared / name / "records.csv" for name in names]
    ok = True
    if not args.speed_only:
        asreview = args.asreview if args.asreview.exists() else None
        if asreview is None:
            print(
                f"ASReview not found at {args.asreview}: litmon alone. Install it with"
                " python3 -m venv /tmp/asr && /tmp/asr/bin/pip install asreview"
            )
        results = [
            r
            for name, csv in zip(names, sets, strict=True)
            for r in compare(name, csv, args.seeds, asreview)
        ]
        ok = table(results)
        if asreview is not None:
            print(f"\nlitmon's WSS@95 >= ASReview's on every set: {verdict(ok)}")
    return 0 if speed(sets) and ok else 1


if __name__ == "__main__":
    sys.exit(main())
