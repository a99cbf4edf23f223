"""The candidate queue through its Python API: one candidate per work, every cell of the
transition table (allowed and refused), versions, all-or-nothing decisions, undo, the audit
trail and the ranked, keyset-paged list."""

import re
from datetime import timedelta
from pathlib import Path

import pytest

from litmon import review
from litmon.core.clock import today_utc
from litmon.core.errors import Conflict, UsageError
from litmon.core.records import Deletion, Link, Record
from litmon.db import merge
from litmon.db.store import delete_works, save_records
from litmon.review.states import STATES, TRANSITIONS

TOMORROW = today_utc() + timedelta(days=1)


def make_works(db, count: int, **fields) -> list[int]:
    """``count`` PubMed works (PMIDs 40000001…), their ids in order."""
    records = []
    for n in range(count):
        values = dict(
            source="pubmed",
            source_id=str(40_000_001 + n),
            pmid=str(40_000_001 + n),
            doi=f"10.1000/ms.{n}",
            title=f"Paramagnetic rim lesions on QSM in multiple sclerosis, cohort {n}",
            authors=[f"Author{n}, A"],
            journal="Multiple Sclerosis Journal",
            pub_date="2026-10",
        )
        records.append(Record(**values | fields))
    save_records(db, records)
    return [
        row[0]
        for row in db.execute(
            "SELECT id FROM works WHERE pmid >= '40000001' ORDER BY pmid LIMIT ?", (count,)
        )
    ]


def candidate(db, candidate_id: int) -> dict:
    row = db.execute(
        "SELECT state, version, lease_token, attempts, changed_since_decision, score, topics"
        " FROM candidates WHERE id = ?",
        (candidate_id,),
    ).fetchone()
    keys = ("state", "version", "lease_token", "attempts", "changed", "score", "topics")
    return dict(zip(keys, row, strict=True))


def audit_count(db, candidate_id: int) -> int:
    return db.execute(
        "SELECT count(*) FROM candidate_audit WHERE candidate_id = ?", (candidate_id,)
    ).fetchone()[0]


def force(db, candidate_id: int, state: str, **values) -> None:
    """Put a candidate straight into a state (test set-up, not a transition)."""
    values = {"state": state, **values}
    assignments = ", ".join(f"{name} = ?" for name in values)
    with db.conn:
        db.execute(
            f"UPDATE candidates SET {assignments} WHERE id = ?", (*values.values(), candidate_id)
        )


@pytest.fixture
def one(db):
    (work_id,) = make_works(db, 1)
    return review.enqueue(db, work_id, [("ms_imaging", 7.5)])


def test_one_candidate_per_work_with_every_topic_and_enqueueing_twice_changes_nothing(db):
    (work_id,) = make_works(db, 1)
    first = review.enqueue(db, work_id, [("ms_imaging", 7.5), ("ms_broad", 3.0)])
    before = candidate(db, first)
    again = review.enqueue(db, work_id, [("ms_broad", 3.0), ("ms_imaging", 7.5)])
    assert again == first
    assert candidate(db, first) == before
    assert db.execute("SELECT count(*) FROM candidates").fetchone()[0] == 1
    shown = review.show(db, str(first))
    assert shown["score"] == 7.5
    assert shown["topics"] == [
        {"topic": "ms_imaging", "score": 7.5},
        {"topic": "ms_broad", "score": 3.0},
    ]


def test_a_rescore_updates_scores_and_marks_a_decided_candidate_changed(db, one):
    work_id = review.show(db, str(one))["work_id"]
    review.enqueue(db, work_id, [("ms_imaging", 8.0)])
    assert candidate(db, one)["changed"] == 0  # undecided: nothing to flag
    review.decide(db, [str(one)], "approve", by="ed")
    review.enqueue(db, work_id, [("ms_imaging", 5.0)])
    shown = review.show(db, str(one))
    assert shown["changed_since_decision"] is True
    assert shown["score"] == 5.0
    review.decide(db, [str(one)], "reject", reason="off-topic", by="ed")
    assert review.show(db, str(one))["changed_since_decision"] is False


def test_enqueue_scored_takes_works_at_or_above_each_topics_threshold(db):
    works = make_works(db, 4)
    rows = [
        (works[0], "ms_imaging", 5.0),  # at the threshold
        (works[0], "ms_broad", 1.0),  # below its own: not listed on the candidate
        (works[1], "ms_imaging", 4.9),
        (works[2], "ms_broad", 2.0),
        (works[3], "other", 99.0),  # a topic without threshold
    ]
    with db.conn:
        db.conn.executemany(
            "INSERT INTO work_scores VALUES (?, ?, ?, '[]', 'p1', '2026-11-01T00:00:00Z')", rows
        )
    counts = review.enqueue_scored(db, {"ms_imaging": 5.0, "ms_broad": 2.0})
    assert counts == {"new": 2, "updated": 0, "withdrawn": 0}
    listed = {item["work_id"]: item["topics"] for item in review.list_candidates(db).items}
    assert listed == {
        works[0]: [{"topic": "ms_imaging", "score": 5.0}],
        works[2]: [{"topic": "ms_broad", "score": 2.0}],
    }
    assert review.enqueue_scored(db, {"ms_imaging": 5.0, "ms_broad": 2.0})["new"] == 0


# -- every cell of the transition table ---------------------------------------------------

# What each action does from each state, written out here rather than read from the code's
# table, so that a wrong cell in review/states.py fails. A cell not listed must be refused.
# An undo's set-up starts from "new", so undoing lands there.
ALL_BUT_WITHDRAWN = ("new", "approved", "rejected", "deferred", "leased", "summarized",
                     "published", "dead", "discarded")  # fmt: skip
EXPECTED: dict[str, dict[str, str]] = {
    "approve": {"new": "approved", "rejected": "approved", "deferred": "approved",
                "leased": "approved"},
    "reject": {"new": "rejected", "approved": "rejected", "deferred": "rejected",
               "leased": "rejected"},
    "defer": {"new": "deferred", "approved": "deferred", "rejected": "deferred",
              "deferred": "deferred", "leased": "deferred"},
    "undo": {"approved": "new", "rejected": "new", "deferred": "new"},
    "wake": {"deferred": "new"},
    "claim": {"approved": "leased"},
    "done": {"leased": "summarized"},
    "fail": {"leased": "approved"},
    "expire": {"leased": "approved"},
    "give_up": {"leased": "dead"},
    "retry": {"dead": "approved"},
    "discard": {"dead": "discarded"},
    "publish": {"summarized": "published"},
    "edit": {"summarized": "summarized"},
    "send_back": {"summarized": "approved"},
    "unpublish": {"published": "summarized"},
    "withdraw": dict.fromkeys(ALL_BUT_WITHDRAWN, "withdrawn"),
    "ack_takedown": {"withdrawn": "withdrawn"},
    "note": {state: state for state in (*ALL_BUT_WITHDRAWN, "withdrawn")},
}  # fmt: skip

CELLS = [(action, state) for action in EXPECTED for state in STATES]


def test_the_table_covers_the_states_and_actions_the_code_has():
    assert set(EXPECTED) == set(TRANSITIONS)
    assert set(STATES) == {*ALL_BUT_WITHDRAWN, "withdrawn"}


def _act(db, candidate_id: int, action: str, state: str) -> None:
    """Set a candidate up in ``state`` as ``action`` needs it, then try the action through
    the public API. Refused cells raise (UsageError or Conflict) or leave it unchanged."""
    past = "2020-01-01T00:00:00Z"
    lease = {"lease_token": "tok", "lease_expires": "2999-01-01T00:00:00Z", "leased_by": "w"}
    ref = str(candidate_id)
    if action in ("approve", "reject", "defer"):
        force(db, candidate_id, state, **(lease if state == "leased" else {}))
        _decide(db, ref, action)
    elif action == "undo":
        if state in TRANSITIONS["undo"]:
            _decide(
                db, ref, {"approved": "approve", "rejected": "reject", "deferred": "defer"}[state]
            )
        else:
            force(db, candidate_id, state)
        review.undo(db, ref, by="ed")
    elif action == "wake":
        force(db, candidate_id, state, deferred_until="2020-01-01")
        review.list_candidates(db)
    elif action == "claim":
        force(db, candidate_id, state)
        review.claim(db, "w", 5)
    elif action in ("done", "fail"):
        force(db, candidate_id, state, **lease, attempts=1)
        if action == "done":
            review.done(db, candidate_id, "tok", "A plain-language summary.")
        else:
            review.fail(db, candidate_id, "tok", "model timed out")
    elif action == "expire":
        force(db, candidate_id, state, **lease | {"lease_expires": past}, attempts=1)
        review.list_candidates(db)
    elif action == "give_up":
        force(db, candidate_id, state, **lease, attempts=review.MAX_ATTEMPTS)
        review.fail(db, candidate_id, "tok", "model timed out")
    elif action in ("retry", "discard"):
        force(db, candidate_id, state)
        getattr(review, action)(db, ref, by="ed")
    elif action == "withdraw":
        force(db, candidate_id, state)
        db.execute("UPDATE works SET deleted_at = ?", (past,))
        db.conn.commit()
        review.withdraw_gone(db)
    elif action == "ack_takedown":
        force(db, candidate_id, state)
        draft_id = _draft(db, candidate_id)
        db.execute(
            "INSERT INTO publications (candidate_id, draft_id, published_at, published_by)"
            " VALUES (?, ?, ?, 'ed')",
            (candidate_id, draft_id, past),
        )
        db.conn.commit()
        review.ack_takedown(db, ref, by="ed")
    elif action in ("publish", "edit", "send_back", "unpublish"):
        force(db, candidate_id, state)
        _draft(db, candidate_id)
        if action == "publish":
            review.publish(db, candidate_id, "ed")
        elif action == "edit":
            review.edit(db, candidate_id, EDITED, "ed")
        elif action == "send_back":
            review.send_back(db, candidate_id, "say who was studied", "ed")
        else:
            review.unpublish(db, candidate_id, "ed")
    elif action == "note":
        force(db, candidate_id, state)
        review.add_note(db, ref, "asked the author for the full text", by="ed")
    else:
        raise AssertionError(f"no test for {action}")


EDITED = {
    "finding": "Iron rims on brain scans were common.",
    "what_was_done": "Researchers looked at brain scans of people with MS in one clinic.",
    "why_it_matters": "Rims may help doctors follow the disease.",
    "limits": "The study was small and done in one place.",
}


def _draft(db, candidate_id: int) -> int:
    """A checked draft of the candidate whose checks passed (test set-up); its id."""
    cursor = db.execute(
        "INSERT INTO drafts (candidate_id, version, finding, what_was_done, why_it_matters,"
        " limits, text, checked, checks, by, origin, created_at)"
        " VALUES (?, 1, 'f', 'w', 'y', 'l', 'text', 1, '[]', 'w', 'worker', '2020-01-01T00:00:00Z')",
        (candidate_id,),
    )
    db.conn.commit()
    return cursor.lastrowid


def test_the_docs_print_the_table_the_code_enforces():
    queue_doc = (Path(__file__).resolve().parents[1] / "docs" / "queue.md").read_text()
    section = queue_doc.split("## The candidate queue", 1)[1].split("\n## ", 1)[0]
    printed = {}
    for action, cells in re.findall(r"^\| `(\w+)` \| ([^|]+) \|", section, re.MULTILINE):
        printed[action] = {}
        for group in cells.split(";"):
            sources, target = group.split("→")
            for state in sources.split(","):
                printed[action][state.strip()] = target.strip()
    assert printed == TRANSITIONS


def _decide(db, ref: str, action: str) -> None:
    extra = {"reject": {"reason": "off-topic"}, "defer": {"until": TOMORROW}}.get(action, {})
    review.decide(db, [ref], action, by="ed", **extra)


@pytest.mark.parametrize(("action", "state"), CELLS)
def test_every_cell_of_the_transition_table(db, one, action, state):
    expected = EXPECTED[action].get(state)
    if expected is None:
        _refused_cell(db, one, action, state)
        return
    _act(db, one, action, state)
    after = candidate(db, one)
    assert after["state"] == expected
    last = review.history(db, str(one))[-1]
    assert (last["action"], last["to_state"]) == (action, expected)
    if expected != "leased":
        assert after["lease_token"] is None  # leaving "leased" always ends the lease


def _refused_cell(db, candidate_id: int, action: str, state: str) -> None:
    try:
        _act(db, candidate_id, action, state)
    except (UsageError, Conflict):
        pass
    after = candidate(db, candidate_id)
    assert after["state"] == state
    assert not any(row["action"] == action for row in review.history(db, str(candidate_id)))


def test_decision_on_a_leased_candidate_revokes_the_lease(db, one):
    review.decide(db, [str(one)], "approve", by="ed")
    packet = review.claim(db, "worker-1", 30)
    review.decide(db, [str(one)], "reject", reason="duplicate", by="ed")
    with pytest.raises(Conflict, match="rejected"):
        review.done(db, one, packet["lease_token"], "summary")
    assert db.execute("SELECT count(*) FROM summaries").fetchone()[0] == 0
    # An undo of that decision does not bring the revoked lease back.
    assert review.undo(db, str(one), by="ed")["state"] == "approved"
    with pytest.raises(Conflict):
        review.done(db, one, packet["lease_token"], "summary")


# -- decisions -----------------------------------------------------------------------------


def test_a_decision_on_a_changed_candidate_is_a_conflict_and_changes_nothing(db, one):
    seen = review.show(db, str(one))["version"]
    review.decide(db, [f"{one}@{seen}"], "approve", by="alice")
    before = (candidate(db, one), audit_count(db, one))
    with pytest.raises(Conflict, match=f"now approved \\(version {seen + 1}\\)"):
        review.decide(db, [f"{one}@{seen}"], "reject", reason="off-topic", by="bob")
    assert (candidate(db, one), audit_count(db, one)) == before


def test_review_of_several_is_all_or_nothing(db):
    works = make_works(db, 3)
    ids = [review.enqueue(db, work_id, [("t", 5.0 + n)]) for n, work_id in enumerate(works)]
    force(db, ids[2], "summarized")
    before = [candidate(db, i) for i in ids]
    with pytest.raises(UsageError, match="cannot approve a candidate that is summarized"):
        review.decide(db, [str(i) for i in ids], "approve", by="ed")
    assert [candidate(db, i) for i in ids] == before
    with pytest.raises(UsageError, match="no such candidate"):
        review.decide(db, [str(ids[0]), "999"], "approve", by="ed")
    assert candidate(db, ids[0]) == before[0]


def test_candidates_are_named_by_id_pmid_or_doi(db):
    works = make_works(db, 3)
    ids = [review.enqueue(db, work_id, [("t", 5.0)]) for work_id in works]
    decided = review.decide(
        db, [str(ids[0]), "pmid:40000002", "doi:10.1000/MS.2"], "approve", by="ed"
    )
    assert [item["id"] for item in decided] == ids
    for bad in ("pmid:1", "doi:10.9/none", "x12", "issn:1", "12@x"):
        with pytest.raises(UsageError):
            review.decide(db, [bad], "approve", by="ed")


def test_rejections_need_a_reason_from_the_list(db, one):
    with pytest.raises(UsageError, match="off-topic"):
        review.decide(db, [str(one)], "reject", by="ed")
    with pytest.raises(UsageError, match="not 'boring'"):
        review.decide(db, [str(one)], "reject", reason="boring", by="ed")
    review.decide(db, [str(one)], "reject", reason="animal-or-in-vitro-only", by="ed")
    assert review.history(db, str(one))[-1]["reason"] == "animal-or-in-vitro-only"


def test_defer_until_a_date_returns_to_new_on_that_date(db, one):
    with pytest.raises(UsageError, match="--until"):
        review.decide(db, [str(one)], "defer", by="ed")
    with pytest.raises(UsageError, match="not after today"):
        review.decide(db, [str(one)], "defer", by="ed", until=today_utc())
    review.decide(db, [str(one)], "defer", by="ed", until=TOMORROW, note="wait for the paper")
    assert review.list_candidates(db, state="deferred").items[0]["deferred_until"] == str(TOMORROW)
    # The date comes (the stored date moved back, rather than the clock forward).
    db.execute("UPDATE candidates SET deferred_until = ?", (str(today_utc()),))
    db.conn.commit()
    assert review.list_candidates(db).items[0]["state"] == "new"
    last = review.history(db, str(one))[-1]
    assert (last["action"], last["by"], last["from_state"]) == ("wake", "litmon", "deferred")


def test_the_audit_trail_records_who_when_from_to_why_and_notes(db, one, monkeypatch):
    monkeypatch.setenv("LITMON_EDITOR", "maria")
    review.decide(db, [str(one)], "reject", reason="off-topic", note="liver QSM")
    review.decide(db, [str(one)], "approve", by="jo", note="on second reading: MS cohort")
    review.undo(db, str(one))
    trail = review.history(db, str(one))
    assert [(r["action"], r["by"], r["from_state"], r["to_state"]) for r in trail] == [
        ("enqueue", "litmon", None, "new"),
        ("reject", "maria", "new", "rejected"),
        ("approve", "jo", "rejected", "approved"),
        ("undo", "maria", "approved", "rejected"),
    ]
    assert trail[1]["reason"] == "off-topic" and trail[1]["note"] == "liver QSM"
    assert all(row["at"].endswith("Z") for row in trail)
    assert candidate(db, one)["state"] == "rejected"
    # An undo is undone by deciding again, not by a second undo.
    with pytest.raises(UsageError, match="nothing to undo"):
        review.undo(db, str(one))


def test_who_defaults_to_the_login_name(db, one, monkeypatch):
    monkeypatch.delenv("LITMON_EDITOR", raising=False)
    monkeypatch.setattr("getpass.getuser", lambda: "login-name")
    review.decide(db, [str(one)], "approve")
    assert review.history(db, str(one))[-1]["by"] == "login-name"


def test_dead_candidates_are_retried_or_discarded(db, one):
    review.decide(db, [str(one)], "approve", by="ed")
    for attempt in range(1, review.MAX_ATTEMPTS + 1):
        packet = review.claim(db, "w", 5)
        outcome = review.fail(db, one, packet["lease_token"], f"error {attempt}")
    assert outcome["state"] == "dead"
    assert review.claim(db, "w", 5) is None
    assert review.retry(db, str(one), by="ed")["state"] == "approved"
    assert candidate(db, one)["attempts"] == 0
    assert review.claim(db, "w", 5)["id"] == one


# -- the ranked list -----------------------------------------------------------------------


def test_the_list_is_ranked_and_keyset_paged_from_both_ends(db):
    works = make_works(db, 23)
    # Ties on purpose: the id breaks them, so no page repeats or skips a row.
    for n, work_id in enumerate(works):
        review.enqueue(db, work_id, [("ms_imaging" if n % 2 else "ms_broad", float(n % 5))])
    ranked = [item["id"] for item in review.list_candidates(db, limit=100).items]
    scores = [item["score"] for item in review.list_candidates(db, limit=100).items]
    assert scores == sorted(scores, reverse=True) and len(ranked) == 23
    seen, after = [], None
    while True:
        page = review.list_candidates(db, limit=5, after=after)
        seen += [item["id"] for item in page.items]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == ranked
    backwards, after = [], None
    while True:
        page = review.list_candidates(db, limit=5, after=after, from_end=True)
        backwards = [item["id"] for item in page.items] + backwards
        if page.next_after is None:
            break
        after = page.next_after
    assert backwards == ranked
    assert [i["id"] for i in review.list_candidates(db, limit=3, from_end=True).items] == ranked[
        -3:
    ]
    imaging = review.list_candidates(db, topic="ms_imaging", min_score=3, limit=100).items
    assert imaging and all(
        i["score"] >= 3 and i["topics"][0]["topic"] == "ms_imaging" for i in imaging
    )
    with pytest.raises(UsageError, match="unknown state"):
        review.list_candidates(db, state="pending")


def test_a_withdrawn_piece_waits_for_its_takedown(db, one):
    review.decide(db, [str(one)], "approve", by="ed")
    packet = review.claim(db, "w", 5)
    review.done(db, one, packet["lease_token"], "A summary, free text.")
    review.edit(db, one, EDITED, "ed")
    review.publish(db, one, "ed", force=True)
    delete_works(db, Deletion("pubmed", ("40000001",)))
    (withdrawn,) = review.list_candidates(db, state="withdrawn").items
    assert withdrawn["takedown"] == "pending"
    review.ack_takedown(db, str(one), by="ed", note="removed from the site")
    assert review.show(db, str(one))["takedown"] == "done"
    assert review.history(db, str(one))[-1]["note"] == "removed from the site"


def test_possible_duplicates_and_explanations_are_shown_with_a_candidate(db, one):
    work_id = review.show(db, str(one))["work_id"]
    (other,) = make_works(db, 1, source_id="x", pmid=None, doi=None, title="Another title")
    with db.conn:
        db.execute(
            "INSERT INTO possible_duplicates (work_id, other_id, score, reason, created_at)"
            " VALUES (?, ?, 0.91, 'title', '2026-11-01T00:00:00Z')",
            (work_id, other),
        )
        db.execute(
            "INSERT INTO work_scores VALUES (?, 'ms_imaging', 7.5, ?, 'p1', '2026-11-01T00:00:00Z')",
            (work_id, '[{"term": "QSM", "where": "title", "added": 3.0}]'),
        )
    shown = review.show(db, str(one))
    assert shown["possible_duplicates"] == [{"work_id": other, "score": 0.91, "reason": "title"}]
    (item,) = review.list_candidates(db, explain=True).items
    assert item["topics"][0]["explanation"][0]["term"] == "QSM"


def test_retracted_works_are_flagged_and_never_handed_out(db):
    (retracted,) = make_works(db, 1, links=[Link(type="RetractionIn", pmid="41000000")])
    candidate_id = review.enqueue(db, retracted, [("t", 9.0)])
    review.decide(db, [str(candidate_id)], "approve", by="ed")
    assert review.list_candidates(db).items[0]["retracted"] is True
    assert review.claim(db, "w", 5) is None
    assert review.withdraw_gone(db) == 1
    assert candidate(db, candidate_id)["state"] == "withdrawn"
    assert review.history(db, str(candidate_id))[-1]["reason"] == "retracted"


# -- the queue follows the works ----------------------------------------------------------


def live_states(db) -> dict[int, str]:
    """work id → state of its live candidate, as the (refreshed) list shows them."""
    return {item["work_id"]: item["state"] for item in review.list_candidates(db).items}


@pytest.mark.parametrize(
    ("kept_state", "merged_state", "winner"),
    [
        ("new", "approved", "approved"),
        ("leased", "summarized", "summarized"),
        ("deferred", "rejected", "rejected"),
        ("approved", "rejected", "approved"),
        ("new", "new", "new"),
        ("withdrawn", "dead", "dead"),
    ],
)
def test_merged_works_merge_their_candidates_and_an_undo_restores_both(
    db, kept_state, merged_state, winner
):
    kept, merged = make_works(db, 2)
    ids = [review.enqueue(db, work_id, [("t", 5.0)]) for work_id in (kept, merged)]
    force(db, ids[0], kept_state)
    force(db, ids[1], merged_state)
    merge.merge_works(db, kept, merged, "editor")
    assert live_states(db) == {kept: winner}
    hidden = db.execute("SELECT id, merged_into FROM candidates WHERE merged_into IS NOT NULL")
    ((loser, survivor),) = hidden.fetchall()
    assert review.show(db, str(loser))["id"] == survivor  # a merged id names the survivor
    assert review.show(db, str(survivor))["state"] == winner
    flag = review.show(db, str(survivor))["flag"]
    assert (flag is not None) == ({kept_state, merged_state} == {"approved", "rejected"})
    for candidate_id in ids:
        assert "merge" in [row["action"] for row in review.history(db, str(candidate_id))]
    merge.split_works(db, kept, merged)
    assert live_states(db) == {kept: kept_state, merged: merged_state}
    assert [review.show(db, str(i))["work_id"] for i in ids] == [kept, merged]


def test_a_candidate_follows_its_work_into_a_merge_and_back(db):
    kept, merged = make_works(db, 2)
    candidate_id = review.enqueue(db, merged, [("t", 5.0)])
    merge.merge_works(db, kept, merged, "editor")
    assert live_states(db) == {kept: "new"}
    assert review.enqueue(db, kept, [("t", 6.0)]) == candidate_id  # still one per work
    merge.split_works(db, kept, merged)
    assert live_states(db) == {merged: "new"}


def test_a_work_deleted_by_nlm_withdraws_its_candidate(db):
    works = make_works(db, 2)
    ids = [review.enqueue(db, work_id, [("t", 5.0)]) for work_id in works]
    review.decide(db, [str(ids[0])], "approve", by="ed")
    delete_works(db, Deletion("pubmed", ("40000001",)))
    assert live_states(db) == {works[0]: "withdrawn", works[1]: "new"}
    assert review.history(db, str(ids[0]))[-1]["reason"] == "deleted by NLM"


# -- the works change under candidates in every state ---------------------------------------

LEASE = {"lease_token": "tok", "lease_expires": "2999-01-01T00:00:00Z", "leased_by": "w"}


def in_state(db, work_id: int, state: str) -> int:
    """A candidate of ``work_id`` put straight into ``state`` (with a live lease if leased),
    its trail holding the enqueue."""
    candidate_id = review.enqueue(db, work_id, [("t", 5.0)])
    extra = LEASE if state == "leased" else {}
    if state == "deferred":
        extra = {"deferred_until": "2999-01-01"}
    force(db, candidate_id, state, **extra)
    return candidate_id


def trail(db, candidate_id: int) -> list[dict]:
    """One candidate's own audit rows (``review.history`` of a merged id shows the
    survivor's)."""
    rows = db.execute(
        "SELECT * FROM candidate_audit WHERE candidate_id = ? ORDER BY id", (candidate_id,)
    )
    names = [column[0] for column in rows.description]
    return [dict(zip(names, row, strict=True)) for row in rows.fetchall()]


def kept_trail(db, candidate_id: int, before: list[dict]) -> list[dict]:
    """The rows added to a candidate's trail, asserting the trail from before is kept."""
    after = trail(db, candidate_id)
    assert after[: len(before)] == before
    return after[len(before) :]


@pytest.mark.parametrize("state", review.STATES)
@pytest.mark.parametrize("side", ["kept", "merged"])
def test_merge_and_undo_with_a_candidate_in_every_state(db, state, side):
    kept, merged = make_works(db, 2)
    states = {kept: "new", merged: "new"} | {(kept if side == "kept" else merged): state}
    ids = {work_id: in_state(db, work_id, states[work_id]) for work_id in (kept, merged)}
    before = {i: trail(db, i) for i in ids.values()}
    merge.merge_works(db, kept, merged, "editor")
    rank = review.follow.PRECEDENCE.index
    # the state further along wins; a tie goes to the kept work's candidate
    winning_work = merged if rank(states[merged]) < rank(states[kept]) else kept
    assert live_states(db) == {kept: states[winning_work]}
    for candidate_id in ids.values():
        assert [row["action"] for row in kept_trail(db, candidate_id, before[candidate_id])] == [
            "merge"
        ]
    merge.split_works(db, kept, merged)
    assert live_states(db) == states
    for work_id, candidate_id in ids.items():
        assert review.show(db, str(candidate_id))["work_id"] == work_id
        assert candidate(db, candidate_id)["state"] == states[work_id]
        added = kept_trail(db, candidate_id, before[candidate_id])
        assert added[0]["action"] == "merge"
        # put back: the loser (hidden) and the merged work's candidate (moved to kept)
        moved = work_id == merged or work_id != winning_work
        assert [row["action"] for row in added[1:]] == (["unmerge"] if moved else [])
        assert review.show(db, str(candidate_id))["flag"] is None  # one was new: no dispute


def retract(db, work_id: int) -> None:
    """The work's PubMed record comes again with a RetractionIn link."""
    make_works(db, 1, links=[Link(type="RetractionIn", pmid="41000000")])


def delete(db, work_id: int) -> None:
    delete_works(db, Deletion("pubmed", ("40000001",)))


@pytest.mark.parametrize("state", review.STATES)
@pytest.mark.parametrize(("change", "reason"), [(delete, "deleted by NLM"), (retract, "retracted")])
def test_deletion_and_retraction_withdraw_a_candidate_in_every_state(db, state, change, reason):
    (work_id,) = make_works(db, 1)
    candidate_id = in_state(db, work_id, state)
    before = trail(db, candidate_id)
    change(db, work_id)
    assert live_states(db) == {work_id: "withdrawn"}
    row = candidate(db, candidate_id)
    assert row["lease_token"] is None  # a worker holding it can no longer hand it in
    added = kept_trail(db, candidate_id, before)
    if state == "withdrawn":
        assert added == []  # already withdrawn: nothing to do, nothing recorded
    else:
        assert [(r["action"], r["from_state"], r["reason"]) for r in added] == [
            ("withdraw", state, reason)
        ]
    assert review.claim(db, "w", 5) is None
