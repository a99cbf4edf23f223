"""The candidate queue's speed, through the Python API (``litmon.review``):

- claim + done throughput: 4 worker processes, started together, each looping
  ``claim`` → ``done`` until the queue is empty (target >= 500 candidates/s);
- the first and the last page (50 rows) of the ranked queue at 100,000 candidates, in
  process, keyset-paged (target < 50 ms each; the slowest of 20 reads is reported).

Works are stored through the real store (``db.store.save_records``); their scores are
written straight into ``work_scores`` (what scoring would write) and turned into candidates
by ``review.enqueue_scored``. Run from the repository root: ``python bench/queue_bench.py``.
PASS/FAIL per target; exit 1 if one fails.
"""

from __future__ import annotations

import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

from measure import verdict

from litmon import review
from litmon.core.records import Record
from litmon.db.schema import open_db
from litmon.db.store import save_records

WORKERS = 4
CLAIMED = 4_000
RANKED = 100_000
THROUGHPUT_TARGET = 500.0
PAGE_TARGET_MS = 50.0


# Titles of random words: works whose titles share their first or last three words are
# fuzzy-compared by the dedup, which would make the set-up, not the queue, the slow part.
WORDS = (
    "iron rim lesion susceptibility mapping cortical spinal cord optic nerve microglia tspo"
    " neurofilament light chain serum relapse progression disability cohort trial imaging"
    " phase central vein sign thalamus atrophy gadolinium remyelination b-cell ocrelizumab"
    " natalizumab pml encephalitis nmosd mogad aquaporin retina coherence tomography gut"
    " microbiome vitamin smoking pregnancy paediatric fatigue cognition depression walking"
).split()


def title(n: int) -> str:
    picks = [WORDS[(n * prime + k) % len(WORDS)] for k, prime in enumerate((7, 13, 31, 57, 97))]
    return f"{' '.join(picks)} study {n} {WORDS[n % len(WORDS)]} {WORDS[n // 7 % len(WORDS)]}"


def store_works(db, count: int) -> list[int]:
    for start in range(0, count, 5_000):
        save_records(
            db,
            [
                Record(
                    source="pubmed",
                    source_id=str(30_000_000 + n),
                    pmid=str(30_000_000 + n),
                    title=title(n),
                    authors=[f"Author{n}, A", "Second, B"],
                    journal="Multiple Sclerosis Journal",
                    pub_date="2026-10",
                    abstract="BACKGROUND: Paramagnetic rims.\nMETHODS: 7T QSM.",
                    mesh=["Humans", "Multiple Sclerosis", "Magnetic Resonance Imaging"],
                )
                for n in range(start, min(start + 5_000, count))
            ],
        )
    return [row[0] for row in db.execute("SELECT id FROM works ORDER BY id")]


def make_queue(path: Path, count: int) -> None:
    """``count`` candidates with spread, partly tied scores on two topics."""
    db = open_db(path)
    work_ids = store_works(db, count)
    rows = [
        (work_id, "ms_imaging" if n % 3 else "ms_broad", float((n * 7919) % 1000) / 10)
        for n, work_id in enumerate(work_ids)
    ]
    with db.conn:
        db.conn.executemany(
            "INSERT INTO work_scores VALUES (?, ?, ?, '[]', 'bench', '2026-11-01T00:00:00Z')", rows
        )
    started = time.perf_counter()
    counts = review.enqueue_scored(db, {"ms_imaging": 0.0, "ms_broad": 0.0})
    seconds = time.perf_counter() - started
    print(f"  enqueue_scored: {counts['new']:,} candidates in {seconds:.1f} s")


def worker(path: str, name: str, go, results) -> None:
    db = open_db(path)
    go.wait()
    done = 0
    while (packet := review.claim(db, name, 60)) is not None:
        review.done(db, packet["id"], packet["lease_token"], f"summary {packet['id']}")
        done += 1
    results.put(done)


def throughput(folder: Path) -> tuple[float, bool]:
    path = folder / "claims.db"
    make_queue(path, CLAIMED)
    db = open_db(path)
    ids = [str(row[0]) for row in db.execute("SELECT id FROM candidates")]
    review.decide(db, ids, "approve", by="bench")
    context = multiprocessing.get_context("spawn")
    go, results = context.Event(), context.Queue()
    processes = [
        context.Process(target=worker, args=(str(path), f"w{n}", go, results))
        for n in range(WORKERS)
    ]
    for process in processes:
        process.start()
    time.sleep(2)  # let every worker import and open the database before the clock starts
    started = time.perf_counter()
    go.set()
    per_worker = [results.get(timeout=600) for _ in processes]
    seconds = time.perf_counter() - started
    for process in processes:
        process.join()
    summaries = db.execute(
        "SELECT count(DISTINCT candidate_id), count(*) FROM summaries"
    ).fetchone()
    correct = summaries == (CLAIMED, CLAIMED) and sum(per_worker) == CLAIMED
    rate = CLAIMED / seconds
    print(
        f"  {CLAIMED:,} claim+done by {WORKERS} processes in {seconds:.2f} s"
        f" (per worker {per_worker}); each summarized once: {correct}"
    )
    return rate, correct


def page_times(folder: Path) -> dict[str, float]:
    path = folder / "ranked.db"
    make_queue(path, RANKED)
    db = open_db(path)
    reads = {
        "first page": dict(),
        "last page": dict(from_end=True),
        "first page, state new": dict(state="new"),
        "last page, state new": dict(state="new", from_end=True),
        "first page, topic ms_broad": dict(topic="ms_broad"),
    }
    slowest = {}
    for label, options in reads.items():
        times = []
        for _ in range(20):
            started = time.perf_counter()
            page = review.list_candidates(db, limit=50, **options)
            times.append((time.perf_counter() - started) * 1000)
            assert len(page.items) == 50
        slowest[label] = max(times)
        print(f"  {label}: median {statistics.median(times):.2f} ms, slowest {max(times):.2f} ms")
    return slowest


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="queue-bench-") as scratch:
        folder = Path(scratch)
        print(f"claim + done throughput ({WORKERS} worker processes):")
        rate, correct = throughput(folder)
        rate_ok = rate >= THROUGHPUT_TARGET and correct
        print(f"{verdict(rate_ok)} throughput {rate:,.0f}/s (target >= {THROUGHPUT_TARGET:.0f}/s)")
        print(f"ranked queue at {RANKED:,} candidates (50 rows a page):")
        slowest = page_times(folder)
        pages_ok = True
        for label in ("first page", "last page"):
            ok = slowest[label] < PAGE_TARGET_MS
            pages_ok = pages_ok and ok
            target = f"target < {PAGE_TARGET_MS:.0f} ms"
            print(f"{verdict(ok)} {label} {slowest[label]:.2f} ms ({target})")
    return 0 if rate_ok and pages_ok else 1


if __name__ == "__main__":
    sys.exit(main())
