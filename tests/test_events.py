"""Every change to a work leaves one ``work_events`` row, written in the change's own
transaction; each reader keeps its own place in them."""

import pytest
from invented import TRIAL_TITLE as TITLE
from invented import trial_row as record

from litmon.core.records import Deletion, Link
from litmon.db import events, merge, store
from litmon.db.runs import start_run
from litmon.db.store import delete_works, save_records

RETRACTED = [Link("RetractionIn", "39000002")]


def kinds(db, after: int = 0) -> list[tuple[int, str]]:
    return db.execute(
        "SELECT work_id, kind FROM work_events WHERE id > ? ORDER BY id", (after,)
    ).fetchall()


def last_id(db) -> int:
    return db.execute("SELECT coalesce(max(id), 0) FROM work_events").fetchone()[0]


def test_new_work_then_a_changed_sighting_then_a_second_source(db):
    run_id = start_run(db, "csv:review")
    (saved,) = save_records(db, [record()], run_id=run_id).records
    assert kinds(db) == [(saved.work_id, "new")]
    assert [event.run_id for event in events.read_events(db, "scoring")] == [run_id]
    mark = last_id(db)
    save_records(db, [record(abstract="Mobilised early.", doi="10.1016/lancet.1")])
    save_records(db, [record(source="feed:lancet", source_id="x", doi="10.1016/lancet.1")])
    assert kinds(db, mark) == [(saved.work_id, "updated")] * 2


def test_unchanged_records_emit_nothing(db):
    save_records(db, [record(), record("2", title="Another trial of something else")])
    mark = last_id(db)
    result = save_records(db, [record(), record("2", title="Another trial of something else")])
    assert result.unchanged == 2
    assert kinds(db, mark) == []


def test_automatic_merge_emits_merged_for_both_works(db):
    save_records(db, [record()])
    twin = record("2", title=TITLE + ".")
    (saved,) = save_records(db, [twin]).records
    assert saved.outcome == "merged"
    ((kept_id, merged_id),) = db.execute("SELECT kept_id, merged_id FROM merges").fetchall()
    done = {"kept_id": kept_id, "merged_id": merged_id}
    # the twin's work was folded at once: it never had a "new" event
    assert kinds(db) == [
        (done["kept_id"], "new"),
        (done["kept_id"], "merged"),
        (done["merged_id"], "merged"),
    ]


def test_editor_merge_and_split_emit_merged_and_unmerged_for_both(db):
    save_records(db, [record(), record("2", pages="146-155")])
    ((kept, other),) = [(p["work_id"], p["other_id"]) for p in merge.list_possible_duplicates(db)]
    mark = last_id(db)
    merge_id = merge.merge_works(db, kept, other, reason="same trial")
    assert kinds(db, mark) == [(kept, "merged"), (other, "merged")]
    mark = last_id(db)
    merge.undo_merge(db, merge_id)
    assert sorted(kinds(db, mark)) == [(kept, "unmerged"), (other, "unmerged")]
    mark = last_id(db)
    merge.mark_distinct(db, kept, other)
    assert kinds(db, mark) == []


def test_deleted_work_emits_deleted_once(db):
    pubmed = record(source="pubmed", source_id="26000001", pmid="26000001")
    (saved,) = save_records(db, [pubmed]).records
    delete_works(db, Deletion("pubmed", ("26000001",)))
    delete_works(db, Deletion("pubmed", ("26000001", "99999999")))
    assert kinds(db)[1:] == [(saved.work_id, "deleted")]


def test_work_gaining_a_retraction_notice_emits_retracted(db):
    pubmed = record(source="pubmed", source_id="26000001", pmid="26000001")
    (saved,) = save_records(db, [pubmed]).records
    save_records(
        db, [record(source="pubmed", source_id="26000001", pmid="26000001", links=RETRACTED)]
    )
    assert kinds(db)[1:] == [(saved.work_id, "updated"), (saved.work_id, "retracted")]
    # The same notice again is no news.
    save_records(db, [record(source="feed:x", source_id="y", pmid="26000001", links=RETRACTED)])
    assert kinds(db)[3:] == [(saved.work_id, "updated")]


def test_work_arriving_retracted_emits_new_and_retracted(db):
    (saved,) = save_records(db, [record(links=RETRACTED)]).records
    (plain,) = save_records(db, [record("2", title="Another trial of something else")]).records
    assert kinds(db) == [
        (saved.work_id, "new"),
        (saved.work_id, "retracted"),
        (plain.work_id, "new"),
    ]


def test_failed_batch_leaves_no_events_and_no_works(db, monkeypatch):
    save_records(db, [record()])
    before = kinds(db)
    insert = store._insert_sighting
    calls = []

    def failing(*args):
        calls.append(args)
        if len(calls) == 2:
            raise OSError("disk full")
        return insert(*args)

    monkeypatch.setattr(store, "_insert_sighting", failing)
    batch = [record("2", title="Another trial of something else"), record("3", title="A third")]
    with pytest.raises(OSError, match="disk full"):
        save_records(db, batch)
    assert kinds(db) == before
    assert db.execute("SELECT count(*) FROM works").fetchone()[0] == 1


def failing_event(*args, **kwargs):
    raise OSError("event table unwritable")


@pytest.mark.parametrize("writer", ["save", "merge", "split", "delete"])
def test_a_change_whose_event_fails_is_not_made(db, monkeypatch, writer):
    """The events are written in the change's transaction: without its event, no change."""
    pubmed = record(source="pubmed", source_id="26000001", pmid="26000001")
    save_records(db, [pubmed, record("2", pages="146-155")])
    ((kept, other),) = [(p["work_id"], p["other_id"]) for p in merge.list_possible_duplicates(db)]
    merge_id = merge.merge_works(db, kept, other, reason="same") if writer == "split" else None
    tables = ("works", "sightings", "merges", "possible_duplicates", "work_events")
    before = {table: db.execute(f"SELECT * FROM {table}").fetchall() for table in tables}
    monkeypatch.setattr(store, "append_event", failing_event)
    change = {
        "save": lambda: save_records(db, [record("3", title="Another trial of something else")]),
        "merge": lambda: merge.merge_works(db, kept, other, reason="same"),
        "split": lambda: merge.undo_merge(db, merge_id),
        "delete": lambda: delete_works(db, Deletion("pubmed", ("26000001",))),
    }[writer]
    with pytest.raises(OSError, match="unwritable"):
        change()
    assert {table: db.execute(f"SELECT * FROM {table}").fetchall() for table in tables} == before


def test_readers_keep_their_own_positions(db):
    save_records(db, [record(), record("2", title="Another trial of something else")])
    first, second = events.read_events(db, "scoring")
    assert events.position(db, "scoring") == 0  # reading does not move a reader
    with db.conn:
        events.advance(db.conn, "scoring", first.id)
    assert events.read_events(db, "scoring") == [second]
    assert events.read_events(db, "queue") == [first, second]
    with db.conn:
        events.advance(db.conn, "queue", second.id)
        events.advance(db.conn, "scoring", 0)  # a reader never moves back
    assert (events.position(db, "scoring"), events.position(db, "queue")) == (first.id, second.id)
    assert events.read_events(db, "queue") == []


def test_reader_position_moves_only_with_its_transaction(db):
    save_records(db, [record()])
    (event,) = events.read_events(db, "scoring")
    with pytest.raises(RuntimeError), db.conn:
        events.advance(db.conn, "scoring", event.id)
        raise RuntimeError("scoring failed")
    assert events.read_events(db, "scoring") == [event]
