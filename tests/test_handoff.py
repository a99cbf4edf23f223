"""The summarizer hand-off: leases (claim, done, fail, extend, tokens), the packet and its
study facts, and real worker processes claiming at once, one of them killed mid-lease."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_queue import candidate, make_works

from litmon import review
from litmon.core.errors import Conflict, UsageError
from litmon.core.records import Link
from litmon.db.schema import open_db

SUMMARY = "A type of MRI (QSM) may show brain changes linked to inflammation."


def approved(db, count: int, **fields) -> list[int]:
    ids = [
        review.enqueue(db, work_id, [("ms_imaging", 10.0 - n / 1000)])
        for n, work_id in enumerate(make_works(db, count, **fields))
    ]
    review.decide(db, [str(i) for i in ids], "approve", by="ed", note="lead with the MRI")
    return ids


def test_claim_takes_the_best_ranked_and_done_stores_the_summary_once(db):
    ids = approved(db, 3)
    packet = review.claim(db, "worker-1", 30)
    assert packet["id"] == ids[0]
    assert set(packet) >= {"id", "lease_token", "lease_expires", "work", "topics", "facts"}
    assert candidate(db, ids[0])["state"] == "leased"
    assert review.done(db, ids[0], packet["lease_token"], SUMMARY)["repeated"] is False
    before = candidate(db, ids[0])
    assert review.done(db, ids[0], packet["lease_token"], "other text")["repeated"] is True
    assert candidate(db, ids[0]) == before
    assert db.execute("SELECT work_id, worker, summary FROM summaries").fetchall() == [
        (packet["work_id"], "worker-1", SUMMARY)
    ]
    assert review.claim(db, "worker-1", 30)["id"] == ids[1]


def test_a_wrong_or_stale_token_changes_nothing(db):
    (only,) = approved(db, 1)
    packet = review.claim(db, "worker-1", 30)
    before = candidate(db, only)
    for call in (
        lambda: review.done(db, only, "wrong", SUMMARY),
        lambda: review.fail(db, only, "wrong", "boom"),
        lambda: review.extend(db, only, "wrong", 60),
    ):
        with pytest.raises(Conflict, match="leased by worker-1"):
            call()
    assert candidate(db, only) == before
    # The lease expires (its stored expiry moved back, rather than the clock forward).
    db.execute("UPDATE candidates SET lease_expires = '2020-01-01T00:00:00Z'")
    db.conn.commit()
    with pytest.raises(Conflict, match="expired"):
        review.done(db, only, packet["lease_token"], SUMMARY)
    again = review.claim(db, "worker-2", 30)
    assert again["id"] == only and again["lease_token"] != packet["lease_token"]
    with pytest.raises(Conflict, match="leased by worker-2"):
        review.done(db, only, packet["lease_token"], SUMMARY)
    assert db.execute("SELECT count(*) FROM summaries").fetchone()[0] == 0
    assert candidate(db, only)["attempts"] == 2


def test_fail_returns_to_approved_and_extend_renews(db):
    (only,) = approved(db, 1)
    packet = review.claim(db, "worker-1", 5)
    renewed = review.extend(db, only, packet["lease_token"], 600)
    assert renewed["lease_expires"] > packet["lease_expires"]
    with pytest.raises(UsageError):
        review.extend(db, only, packet["lease_token"], 0)
    assert review.fail(db, only, packet["lease_token"], "model timed out")["state"] == "approved"
    assert review.history(db, str(only))[-1]["reason"] == "model timed out"
    with pytest.raises(UsageError, match="empty"):
        review.done(db, only, review.claim(db, "w", 5)["lease_token"], "  ")


def test_nothing_waiting_is_none(db):
    assert review.claim(db, "worker-1", 5) is None
    with pytest.raises(UsageError):
        review.claim(db, " ", 5)


def test_the_packet_carries_the_work_notes_and_study_facts_with_evidence(db):
    (only,) = approved(
        db,
        1,
        pmcid="PMC1234567",
        abstract="BACKGROUND: Rims matter.\nMETHODS: 7T QSM in 40 patients.",
        publication_types=["Journal Article", "Observational Study"],
        mesh=["Humans", "Multiple Sclerosis", "Alzheimer Disease", "Magnetic Resonance Imaging"],
        links=[Link(type="ErratumIn", pmid="41000001", ref="Mult Scler. 2026;32:1")],
    )
    packet = review.claim(db, "worker-1", 30)
    work = packet["work"]
    assert work["links"]["pubmed"] == "https://pubmed.ncbi.nlm.nih.gov/40000001/"
    assert work["links"]["doi"] == "https://doi.org/10.1000/ms.0"
    assert work["links"]["pmc"].endswith("/PMC1234567/")
    assert work["abstract_sections"][1] == {"label": "METHODS", "text": "7T QSM in 40 patients."}
    assert packet["topics"] == [{"topic": "ms_imaging", "score": 10.0}]
    assert packet["editor_notes"][0]["note"] == "lead with the MRI"
    facts = packet["facts"]
    assert facts["design"] == {
        "value": ["observational study"],
        "evidence": ["publication type: Observational Study"],
    }
    assert facts["population"] == {"value": ["humans"], "evidence": ["MeSH check tag: Humans"]}
    assert facts["diseases"]["studied"]["value"] == ["Multiple Sclerosis", "Alzheimer Disease"]
    assert facts["diseases"]["ms_or_related"] == {
        "value": True,
        "evidence": ["MeSH: Multiple Sclerosis"],
    }
    assert facts["notices"] == [
        {
            "type": "ErratumIn",
            "pmid": "41000001",
            "citation": "Mult Scler. 2026;32:1",
            "work_id": None,
            "title": None,
        }
    ]
    json.dumps(packet)  # the CLI prints it as JSON


def test_facts_without_evidence_are_unknown_never_a_default(db):
    (only,) = approved(db, 1, publication_types=["Journal Article"])
    facts = review.claim(db, "worker-1", 30)["facts"]
    assert facts["design"] == {"value": "unknown"}
    assert facts["population"] == {"value": "unknown"}
    assert facts["diseases"]["studied"] == {"value": "unknown"}
    # The title says "multiple sclerosis": a phrase is evidence, and is cited as one.
    assert facts["diseases"]["ms_or_related"]["evidence"] == ["phrase: 'multiple sclerosis'"]


def test_an_animal_study_is_said_to_be_one(db):
    approved(db, 1, title="Iron rims in EAE mice", mesh=["Animals", "Mice", "Brain"])
    facts = review.claim(db, "worker-1", 30)["facts"]
    assert facts["population"]["value"] == ["animals"]
    assert facts["diseases"]["ms_or_related"]["value"] is False


# -- real processes ------------------------------------------------------------------------

WORKER = """
import sys, time
from litmon import review
from litmon.db.schema import open_db
db = open_db(sys.argv[1])
mode, lease = sys.argv[2], float(sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()  # every worker starts at once
while True:
    packet = review.claim(db, f"worker-{sys.argv[4]}", lease)
    if packet is None:
        break
    print(packet["id"], flush=True)
    if mode == "hold":
        time.sleep(600)  # killed holding the lease
    review.done(db, packet["id"], packet["lease_token"], f"summary of {packet['id']}")
"""


def start_worker(path: Path, mode: str, lease: float, name: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(path), mode, str(lease), str(name)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "ready"
    return process


def test_four_worker_processes_get_distinct_candidates_each_summarized_once(tmp_path):
    path = tmp_path / "queue.db"
    db = open_db(path)
    ids = approved(db, 1000)  # the size; about 2 s on 2 cores
    workers = [start_worker(path, "run", 30, n) for n in range(4)]
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    claimed = []
    for worker in workers:
        out, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0
        claimed.append([int(line) for line in out.split()])
    every = [i for ids_of_one in claimed for i in ids_of_one]
    assert sorted(every) == sorted(ids)  # distinct: no candidate was handed out twice
    assert sum(1 for got in claimed if got) >= 2  # they really ran at the same time
    rows = db.execute("SELECT candidate_id, count(*) FROM summaries GROUP BY 1").fetchall()
    assert len(rows) == 1000 and {count for _, count in rows} == {1}
    assert db.execute(
        "SELECT count(*) FROM candidates WHERE state = 'summarized' AND attempts = 1"
    ).fetchone() == (1000,)


def test_a_worker_killed_holding_a_lease_loses_nothing(tmp_path):
    path = tmp_path / "queue.db"
    db = open_db(path)
    (only,) = approved(db, 1)
    holder = start_worker(path, "hold", 1, 1)
    holder.stdin.write("go\n")
    holder.stdin.flush()
    assert int(holder.stdout.readline()) == only
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    # Stored to the second, a 1-second lease ends within 2 s; another worker finishes it.
    deadline = time.monotonic() + 10
    while (packet := review.claim(db, "rescuer", 30)) is None:
        assert time.monotonic() < deadline, "the killed worker's lease never expired"
        time.sleep(0.2)
    assert packet["id"] == only
    review.done(db, only, packet["lease_token"], SUMMARY)
    assert candidate(db, only)["state"] == "summarized"
    trail = [(r["action"], r["by"]) for r in review.history(db, str(only))]
    assert trail[-4:] == [
        ("claim", "worker-1"),
        ("expire", "litmon"),
        ("claim", "rescuer"),
        ("done", "rescuer"),
    ]
