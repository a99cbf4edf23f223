"""Drafts and their review through the Python API: a hand-in through the guards (checked,
failed, free text), editors' edits as versions, publish (with --force over failed checks),
send back with a note the next packet carries, a takedown after publication, what
``litmon publish`` reads, and the migration of summaries written before drafts existed.
(Every cell of the transition table, the review cells too: tests/test_queue.py.)"""

import json
import sqlite3

import pytest
from test_guards import CAVEAT, GOOD
from test_queue import candidate, make_works

from litmon import review
from litmon.core.errors import Conflict, UsageError
from litmon.core.records import Link
from litmon.db import merge
from litmon.db.schema import MIGRATIONS, open_db
from litmon.review.states import TRANSITIONS

ABSTRACT = (
    "METHODS: We followed 120 people with relapsing MS for 6 months with 7T QSM.\n"
    "RESULTS: Rim lesions were found in 32% of participants (range 10-20 per person);"
    " rims predicted disability (p<.05)."
)


def mesh_works(db, count: int = 1, mesh=("Humans", "Multiple Sclerosis"), **fields) -> list[int]:
    return make_works(db, count, abstract=ABSTRACT, mesh=list(mesh), **fields)


@pytest.fixture
def leased(db):
    """A candidate (a study in people with MS) claimed by worker w1: (id, lease token)."""
    (work_id,) = mesh_works(db)
    candidate_id = review.enqueue(db, work_id, [("ms_imaging", 7.5)])
    review.decide(db, [str(candidate_id)], "approve", by="ed", note="lead with the MRI")
    packet = review.claim(db, "w1", 60)
    return candidate_id, packet["lease_token"]


@pytest.fixture
def summarized(db, leased):
    candidate_id, token = leased
    assert review.done(db, candidate_id, token, json.dumps(GOOD), by="token-w1")["accepted"]
    return candidate_id


def actions(db, candidate_id: int) -> list[tuple]:
    return [(r["action"], r["by"], r["reason"]) for r in review.history(db, str(candidate_id))]


# -- the hand-in --------------------------------------------------------------------------


def test_four_parts_that_pass_the_guards_are_a_checked_draft_awaiting_review(db, leased):
    candidate_id, token = leased
    answer = review.done(db, candidate_id, token, json.dumps(GOOD), by="token-w1")
    assert answer["accepted"] and answer["draft"] == {"version": 1, "checked": True}
    draft = review.latest_draft(db.conn, candidate_id)
    assert draft["parts"] == GOOD and draft["checked"] and draft["failed"] == []
    assert draft["by"] == "token-w1" and draft["origin"] == "worker"
    assert "Limits of the study\n" + GOOD["limits"] in draft["text"]
    assert candidate(db, candidate_id)["state"] == "summarized"
    assert actions(db, candidate_id)[-1] == ("done", "token-w1", "draft v1 (checked)")
    # a repeated done (the answer was lost) changes nothing
    assert review.done(db, candidate_id, token, json.dumps(GOOD))["repeated"] is True
    assert len(review.drafts_of(db.conn, candidate_id)) == 1


def test_four_parts_failing_the_guards_fail_the_lease_and_are_never_a_draft(db, leased):
    candidate_id, token = leased
    wrong = GOOD | {"what_was_done": GOOD["what_was_done"].replace("32%", "23%")}
    answer = review.done(db, candidate_id, token, json.dumps(wrong))
    assert answer["accepted"] is False and answer["state"] == "approved"
    assert [c["name"] for c in answer["checks"] if not c["ok"]] == ["numbers"]
    assert review.drafts_of(db.conn, candidate_id) == []
    action, by, reason = actions(db, candidate_id)[-1]
    assert (action, by) == ("fail", "w1")
    assert (
        reason
        == "the draft failed its checks: numbers: not in the title, abstract or study facts: 23"
    )
    with pytest.raises(Conflict):  # the lease is over
        review.done(db, candidate_id, token, json.dumps(GOOD))


def test_a_study_in_alzheimers_without_the_caveat_fails_with_it_passes(db):
    (work_id,) = make_works(
        db, 1, title="QSM across the Alzheimer's disease spectrum",
        abstract=ABSTRACT.replace("relapsing MS", "Alzheimer's disease"),
        mesh=["Humans", "Alzheimer Disease", "Magnetic Resonance Imaging"],
    )  # fmt: skip
    candidate_id = review.enqueue(db, work_id, [("ms_imaging", 7.5)])
    review.decide(db, [str(candidate_id)], "approve", by="ed")
    token = review.claim(db, "w1", 60)["lease_token"]
    answer = review.done(db, candidate_id, token, json.dumps(GOOD))
    assert [c["name"] for c in answer["checks"] if not c["ok"]] == ["population_caveat"]
    token = review.claim(db, "w1", 60)["lease_token"]
    answer = review.done(db, candidate_id, token, json.dumps(GOOD | {"limits": CAVEAT}))
    assert answer["accepted"] and candidate(db, candidate_id)["state"] == "summarized"


def test_the_last_attempt_failing_the_guards_makes_the_candidate_dead(db, leased):
    candidate_id, token = leased
    answer = review.done(db, candidate_id, token, json.dumps(GOOD | {"finding": ""}),
                         max_attempts=1)  # fmt: skip
    assert answer["state"] == "dead"
    assert actions(db, candidate_id)[-1][0] == "give_up"


def test_free_text_is_stored_as_received_and_marked_unchecked(db, leased):
    candidate_id, token = leased
    text = "A type of MRI may show brain changes linked to inflammation (99% of them!)."
    answer = review.done(db, candidate_id, token, text)
    assert answer["accepted"] and answer["draft"] == {"version": 1, "checked": False}
    draft = review.latest_draft(db.conn, candidate_id)
    assert (draft["parts"], draft["text"], draft["checked"]) == (None, text, False)
    assert actions(db, candidate_id)[-1][2] == "draft v1 (free text, unchecked)"
    with pytest.raises(UsageError, match="free text, unchecked: edit it into the four parts"):
        review.publish(db, candidate_id, "ed")
    shown = review.show(db, str(candidate_id))
    assert shown["drafts"][0]["checked"] is False and shown["publication"] is None


# -- editors' review ------------------------------------------------------------------------


def test_publish_records_who_when_and_which_version(db, summarized):
    published = review.publish(db, summarized, "alice", version=1)
    assert published["state"] == "published"
    assert published["publication"]["version"] == 1
    assert published["publication"]["published_by"] == "alice"
    assert actions(db, summarized)[-1] == ("publish", "alice", "draft v1")
    with pytest.raises(UsageError, match="cannot publish a candidate that is published"):
        review.publish(db, summarized, "alice")


def test_an_edit_is_a_new_version_checked_and_audited(db, summarized):
    edited = review.edit(db, summarized, GOOD | {"finding": "Some MS lesions stay inflamed."},
                         "bob", version=1)  # fmt: skip
    assert edited["version"] == 2 and edited["origin"] == "editor" and edited["by"] == "bob"
    assert edited["failed"] == []
    assert actions(db, summarized)[-1] == ("edit", "bob", "draft v2")
    # an edit that fails its checks is stored, shown, and publishing it needs force
    wrong = review.edit(
        db, summarized, GOOD | {"limits": GOOD["limits"] + " See https://example.com."}, "bob"
    )
    assert wrong["version"] == 3 and wrong["failed"] == ["links"]
    assert actions(db, summarized)[-1] == ("edit", "bob", "draft v3, failed checks: links")
    with pytest.raises(UsageError, match=r"failed its checks \(links\).*--force"):
        review.publish(db, summarized, "alice")
    published = review.publish(db, summarized, "alice", force=True)
    assert published["draft"]["version"] == 3
    assert actions(db, summarized)[-1][2] == "draft v3, published over failed checks (links)"
    assert [d["version"] for d in review.drafts_of(db.conn, summarized)] == [1, 2, 3]


def test_the_same_parts_again_change_nothing(db, summarized):
    before = actions(db, summarized)
    again = review.edit(db, summarized, GOOD, "bob")
    assert again["unchanged"] is True and again["version"] == 1
    assert actions(db, summarized) == before


def test_an_edit_or_publish_of_a_version_not_seen_is_a_conflict(db, summarized):
    review.edit(db, summarized, GOOD | {"finding": "Some MS lesions stay inflamed."}, "bob")
    with pytest.raises(Conflict, match="version 2, not the version 1 you saw"):
        review.publish(db, summarized, "alice", version=1)
    with pytest.raises(Conflict):
        review.edit(db, summarized, GOOD, "carol", version=1)
    assert candidate(db, summarized)["state"] == "summarized"


def test_an_edit_needs_the_four_parts_as_text(db, summarized):
    with pytest.raises(UsageError, match="missing: limits"):
        review.edit(db, summarized, {k: v for k, v in GOOD.items() if k != "limits"}, "bob")
    with pytest.raises(UsageError, match="not summary"):
        review.edit(db, summarized, GOOD | {"summary": "x"}, "bob")


def test_send_back_needs_a_note_and_the_next_packet_carries_it_with_the_draft(db, summarized):
    with pytest.raises(UsageError, match="needs a note"):
        review.send_back(db, summarized, "  ", "ed")
    back = review.send_back(db, summarized, "Say the study was small.", "ed")
    assert back["state"] == "approved" and back["attempts"] == 0
    assert actions(db, summarized)[-1] == ("send_back", "ed", "draft v1")
    packet = review.claim(db, "w2", 60)
    assert packet["id"] == summarized
    assert packet["sent_back"]["note"] == "Say the study was small."
    assert packet["sent_back"]["by"] == "ed"
    assert packet["sent_back"]["draft"]["parts"] == GOOD
    assert packet["editor_notes"][-1]["note"] == "Say the study was small."
    # the next draft is version 2; its packet after that has nothing sent back
    better = GOOD | {"limits": GOOD["limits"] + " It was also small."}
    review.done(db, summarized, packet["lease_token"], json.dumps(better))
    assert review.latest_draft(db.conn, summarized)["version"] == 2
    assert review.build_packet(db.conn, summarized)["sent_back"] is None


def test_unpublish_takes_a_piece_back_to_review(db, summarized):
    review.publish(db, summarized, "alice")
    assert review.unpublish(db, summarized, "alice", note="fix the limits")["state"] == (
        "summarized"
    )
    (piece,) = review.published_pieces(db.conn)
    assert piece["listed"] is False and piece["state"] == "summarized"
    review.edit(db, summarized, GOOD | {"limits": CAVEAT}, "alice")
    review.publish(db, summarized, "alice")
    (piece,) = review.published_pieces(db.conn)
    assert piece["listed"] is True and piece["draft_version"] == 2
    assert piece["parts"]["limits"] == CAVEAT


def test_published_pieces_are_what_litmon_publish_reads(db, summarized):
    assert review.published_pieces(db.conn) == []
    review.publish(db, summarized, "alice")
    (piece,) = review.published_pieces(db.conn)
    assert piece["parts"] == GOOD and piece["published_by"] == "alice"
    assert piece["pmid"] == "40000001" and piece["doi"] == "10.1000/ms.0"
    assert piece["links"] == {
        "pubmed": "https://pubmed.ncbi.nlm.nih.gov/40000001/",
        "doi": "https://doi.org/10.1000/ms.0",
    }
    assert piece["topics"] == ["ms_imaging"] and piece["journal"] == "Multiple Sclerosis Journal"
    assert (piece["listed"], piece["retracted"], piece["withdrawn"]) == (True, False, False)
    # the work is retracted after publication: the piece is no longer listed, and the
    # candidate is withdrawn with its takedown pending
    make_works(db, 1, abstract=ABSTRACT, mesh=["Humans", "Multiple Sclerosis"],
               links=[Link(type="RetractionIn", pmid="41000000")])  # fmt: skip
    (piece,) = review.published_pieces(db.conn)
    assert (piece["listed"], piece["retracted"]) == (False, True)
    review.list_candidates(db)
    (piece,) = review.published_pieces(db.conn)
    assert piece["withdrawn"] is True
    assert review.show(db, str(summarized))["takedown"] == "pending"


def test_of_two_published_works_merged_one_piece_stays_listed(db):
    kept, merged = mesh_works(db, 2)
    for work_id in (kept, merged):
        candidate_id = review.enqueue(db, work_id, [("ms_imaging", 7.5)])
        review.decide(db, [str(candidate_id)], "approve", by="ed")
        token = review.claim(db, "w1", 60)["lease_token"]
        review.done(db, candidate_id, token, json.dumps(GOOD))
        review.publish(db, candidate_id, "alice")
    merge.merge_works(db, kept, merged, "editor")
    review.list_candidates(db)  # the queue follows the merge
    pieces = {piece["work_id"]: piece for piece in review.published_pieces(db.conn)}
    assert pieces[kept]["listed"] is True
    assert (pieces[merged]["listed"], pieces[merged]["merged"]) == (False, True)


def test_drafts_awaiting_review_are_listed_with_their_checks(db, summarized):
    (item,) = review.awaiting(db)
    assert item["id"] == summarized and item["draft"]["version"] == 1
    assert item["draft"]["checked"] is True and item["draft"]["failed"] == []
    review.publish(db, summarized, "alice")
    assert review.awaiting(db) == []


# -- withdrawn after publication ---------------------------------------------------------


def test_a_published_candidate_can_be_withdrawn_and_its_takedown_acknowledged(db, summarized):
    review.publish(db, summarized, "alice")
    assert TRANSITIONS["withdraw"]["published"] == "withdrawn"
    with db.conn:
        db.execute("UPDATE works SET deleted_at = '2026-01-01T00:00:00Z'")
    review.withdraw_gone(db)
    assert review.show(db, str(summarized))["takedown"] == "pending"
    review.ack_takedown(db, str(summarized), by="litmon-publish", note="page replaced")
    assert review.show(db, str(summarized))["takedown"] == "done"


# -- the migration ----------------------------------------------------------------------------


def test_summaries_written_before_drafts_become_unchecked_drafts(tmp_path):
    """A database as the migration before drafts left it, with two summaries of one
    candidate."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    before = next(n for n, script in enumerate(MIGRATIONS) if "CREATE TABLE drafts" in script)
    for number, script in enumerate(MIGRATIONS[:before], start=1):
        conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
    at = "2026-01-01T00:00:00Z"
    conn.executescript(
        f"""BEGIN;
        INSERT INTO works (id, pmid, title, created_at, updated_at) VALUES (1, '1', 'T', '{at}', '{at}');
        INSERT INTO candidates (id, work_id, origin_work_id, state, score, created_at, updated_at)
            VALUES (7, 1, 1, 'summarized', 5, '{at}', '{at}');
        INSERT INTO summaries (work_id, candidate_id, lease_token, worker, summary, created_at)
            VALUES (1, 7, 'a', 'w1', 'first text', '{at}'), (1, 7, 'b', NULL, 'second', '{at}');
        COMMIT;"""
    )
    conn.close()
    db = open_db(path)
    drafts = review.drafts_of(db.conn, 7)
    assert [(d["version"], d["text"], d["checked"], d["by"]) for d in drafts] == [
        (1, "first text", False, "w1"),
        (2, "second", False, "unknown"),
    ]
    assert review.awaiting(db)[0]["draft"]["version"] == 2
