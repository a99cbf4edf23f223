"""The summarizer worker's speed: 4 worker processes (``litmon.summarize.Worker`` over the
Python API, the same as ``litmon summarize --drain``) against the fake OpenAI-compatible
server of the tests (tests/llm_server.py) answering every call after 200 ms, each worker
claiming, prompting, parsing, running the guards and handing in until the queue is empty.

Target: >= 15 drafts/s with the guards. With 200 ms per call, 4 sequential workers cannot
pass 20/s; the figure says how much of each draft's time is the worker's own (claim,
prompt, guards, done) rather than the model's. Also measured in one process: what the
worker adds per draft without the model (the guards, the prompt, claim and done).

Run from the repository root: ``python bench/summarize_bench.py [--drafts N]``.
PASS/FAIL per target; exit 1 if one fails.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from measure import verdict

# The fake server is the tests' own (a test double, not shipped).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from llm_server import FakeLLM, Reply  # noqa: E402

from litmon import review  # noqa: E402
from litmon.core.records import Record  # noqa: E402
from litmon.db.schema import open_db  # noqa: E402
from litmon.db.store import save_records  # noqa: E402
from litmon.review.guards import GuardSettings, check_draft  # noqa: E402
from litmon.settings import load_config  # noqa: E402
from litmon.summarize import ChatModel, LocalHandOff, Worker, compile_prompt  # noqa: E402

WORKERS = 4
MODEL_SECONDS = 0.2
TARGET = 15.0

ABSTRACT = (
    "BACKGROUND: Paramagnetic rim lesions mark inflammation that lingers in multiple"
    " sclerosis.\nMETHODS: We scanned 120 people with relapsing multiple sclerosis on 7 T MRI"
    " and followed them for 2 years.\nRESULTS: People with 4 or more rim lesions had faster"
    " disability worsening.\nCONCLUSIONS: Rim lesions may help predict who gets worse."
)
DRAFT = json.dumps(
    {
        "finding": "People with MS who had more iron rim lesions on brain scans got worse faster.",
        "what_was_done": "Researchers scanned 120 people with relapsing MS using a strong 7 T"
        " MRI and followed them for 2 years. Those with 4 or more rim lesions got worse faster.",
        "why_it_matters": "Rim lesions might help doctors see early who is likely to get worse.",
        "limits": "This was one group of people. Most clinics do not have this kind of scan yet.",
    }
)


def make_queue(path: Path, count: int) -> None:
    db = open_db(path)
    save_records(
        db,
        [
            Record(
                source="pubmed",
                source_id=str(42_000_000 + n),
                pmid=str(42_000_000 + n),
                title=f"Paramagnetic rim lesions on 7 T MRI in relapsing multiple sclerosis {n}",
                abstract=ABSTRACT,
                authors=[f"Author{n}, A"],
                journal="Multiple Sclerosis Journal",
                pub_date="2026-10",
                publication_types=["Journal Article", "Observational Study"],
                mesh=["Humans", "Multiple Sclerosis, Relapsing-Remitting"],
            )
            for n in range(count)
        ],
    )
    ids = []
    for (work_id,) in db.execute("SELECT id FROM works ORDER BY id").fetchall():
        ids.append(str(review.enqueue(db, work_id, [("ms_imaging", 9.0)])))
    review.decide(db, ids, "approve", by="bench")


def make_worker(path: str, url: str, name: str) -> Worker:
    settings = replace(load_config(env={}).summarizer, base_url=url, max_retries=0)
    guards = GuardSettings()
    return Worker(
        LocalHandOff(open_db(path), guards=guards),
        ChatModel(settings, None),
        compile_prompt(settings.prompt, settings.prompt_source),
        settings,
        guards,
        name=name,
        lease_seconds=600,
    )


def work(path: str, url: str, name: str, ready, go, results) -> None:
    worker = make_worker(path, url, name)
    # textstat reads its syllable dictionary at its first use (seconds, once a process):
    # a start-up cost of the process, not a cost per draft
    check_draft(json.loads(DRAFT), {}, GuardSettings())
    ready.put(name)
    go.wait()
    cpu = time.process_time()
    tally = worker.run(drain=True)
    results.put((tally.count("summarized"), time.process_time() - cpu))


def throughput(folder: Path, drafts: int) -> tuple[float, bool]:
    path = folder / "summarize.db"
    make_queue(path, drafts)
    with FakeLLM(responder=lambda body: Reply(DRAFT, delay=MODEL_SECONDS)).running() as fake:
        context = multiprocessing.get_context("spawn")
        ready, go, results = context.Queue(), context.Event(), context.Queue()
        processes = [
            context.Process(target=work, args=(str(path), fake.url, f"w{n}", ready, go, results))
            for n in range(WORKERS)
        ]
        for process in processes:
            process.start()
        for _ in processes:  # every worker imported, warmed up and opened the database
            ready.get(timeout=600)
        started = time.perf_counter()
        go.set()
        per_worker = [results.get(timeout=900) for _ in processes]
        seconds = time.perf_counter() - started
        for process in processes:
            process.join()
        calls = len(fake.completions)
    db = open_db(path)
    stored = db.execute("SELECT count(DISTINCT candidate_id) FROM drafts").fetchone()[0]
    summarized = sum(done for done, _ in per_worker)
    correct = stored == drafts == summarized and calls == drafts
    rate = summarized / seconds
    own = seconds * WORKERS / summarized - MODEL_SECONDS
    cpu_ms = sum(cpu for _, cpu in per_worker) / summarized * 1000
    print(
        f"  {summarized:,} drafts by {WORKERS} processes in {seconds:.2f} s (per worker"
        f" {[done for done, _ in per_worker]}); {calls} model calls; each stored once: {correct}"
    )
    model_ms, own_ms = MODEL_SECONDS * 1000, own * 1000
    print(f"  per draft per worker: {model_ms:.0f} ms model + {own_ms:.0f} ms worker (wall);"
          f" worker CPU {cpu_ms:.1f} ms per draft")  # fmt: skip
    # what the same workers reach when each has a core's time for its own CPU work
    unloaded = WORKERS / (MODEL_SECONDS + cpu_ms / 1000)
    print(f"  with a core's time per worker: {unloaded:.1f} drafts/s ({WORKERS} / (200 ms +"
          f" {cpu_ms:.1f} ms CPU))")  # fmt: skip
    return rate, correct


def overhead(folder: Path, drafts: int) -> float:
    """Milliseconds per draft of one worker against a model answering at once."""
    path = folder / "overhead.db"
    make_queue(path, drafts)
    with FakeLLM(responder=lambda body: Reply(DRAFT)).running() as fake:
        worker = make_worker(str(path), fake.url, "alone")
        check_draft(json.loads(DRAFT), {}, GuardSettings())
        started = time.perf_counter()
        tally = worker.run(drain=True)
        seconds = time.perf_counter() - started
    assert tally.count("summarized") == drafts
    return seconds / drafts * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drafts", type=int, default=300, help="candidates to summarize")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"summarize: {WORKERS} workers, the fake model answers in {MODEL_SECONDS:g} s;"
              f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
        rate, correct = throughput(folder, args.drafts)
        ok = rate >= TARGET and correct
        print(f"  drafts/s with guards: {rate:.1f} (target >= {TARGET:g}) {verdict(ok)}")
        print(f"  ceiling of {WORKERS} sequential workers: {WORKERS / MODEL_SECONDS:.0f}/s;"
              f" reached {rate / (WORKERS / MODEL_SECONDS):.0%}")  # fmt: skip
        alone = overhead(folder, min(args.drafts, 100))
        print(f"  one worker, instant model: {alone:.1f} ms per draft (claim, prompt, guards,"
              " done)")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
