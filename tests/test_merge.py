"""Editors merge, split and mark works distinct; the store respects their decisions."""

import multiprocessing

import pytest
from invented import trial_row as record

from litmon.core.errors import UsageError
from litmon.db import merge
from litmon.db.schema import open_db
from litmon.db.store import save_records

# Same title and authors, but the first page differs: an editor has to decide.
PAIR = [record("1"), record("2", pages="146-155", doi="10.1016/s0140-6736(15)60690-0")]


def live(db) -> dict[int, list[str]]:
    works: dict[int, list[str]] = {}
    for work_id, source_id in db.execute(
        "SELECT w.id, s.source_id FROM works w JOIN sightings s ON s.work_id = w.id"
        " WHERE w.merged_into IS NULL ORDER BY s.source_id"
    ):
        works.setdefault(work_id, []).append(source_id)
    return works


def open_pair(db) -> tuple[int, int]:
    (pair,) = merge.list_possible_duplicates(db)
    return pair["work_id"], pair["other_id"]


def test_possible_duplicate_listed_then_merged(db):
    save_records(db, PAIR)
    kept, merged = open_pair(db)
    merge_id = merge.merge_works(db, kept, merged, reason="same trial")
    assert live(db) == {kept: ["1", "2"]}
    assert merge.list_possible_duplicates(db) == []
    row = db.execute("SELECT merged_into FROM works WHERE id = ?", (merged,)).fetchone()
    assert row == (kept,)
    # The kept work is re-derived from both sightings: it gains the DOI.
    doi = db.execute("SELECT doi FROM works WHERE id = ?", (kept,)).fetchone()[0]
    assert doi == "10.1016/s0140-6736(15)60690-0"
    assert merge.active_merge(db, merged, kept) == merge_id


def test_undo_merge_moves_sightings_back(db):
    save_records(db, PAIR)
    kept, merged = open_pair(db)
    merge_id = merge.merge_works(db, kept, merged, reason="editor")
    merge.undo_merge(db, merge_id)
    assert live(db) == {kept: ["1"], merged: ["2"]}
    dois = dict(db.execute("SELECT id, doi FROM works WHERE id IN (?, ?)", (kept, merged)))
    assert dois == {kept: None, merged: "10.1016/s0140-6736(15)60690-0"}
    assert [
        (p["work_id"], p["other_id"]) for p in merge.list_possible_duplicates(db, "distinct")
    ] == [(kept, merged)]
    assert merge.active_merge(db, kept, merged) is None


def test_distinct_pair_stays_distinct_on_reingest(db):
    save_records(db, PAIR)
    kept, merged = open_pair(db)
    merge.mark_distinct(db, kept, merged)
    counts = save_records(db, PAIR)
    assert counts.unchanged == 2
    save_records(db, [record("1", abstract="Updated abstract"), *PAIR[1:]])
    assert live(db) == {kept: ["1"], merged: ["2"]}
    assert merge.list_possible_duplicates(db) == []
    assert len(merge.list_possible_duplicates(db, "distinct")) == 1


def test_automatic_merge_is_recorded_and_can_be_split(db):
    twin = record("2", title="Early mobilisation after stroke: a randomised trial.")
    save_records(db, [record("1"), twin])
    ((work_id, sightings),) = live(db).items()
    assert sightings == ["1", "2"]
    ((merge_id, reason),) = db.execute("SELECT id, reason FROM merges").fetchall()
    assert reason.startswith("automatic")
    merge.undo_merge(db, merge_id)
    assert len(live(db)) == 2
    save_records(db, [record("1"), twin])
    assert len(live(db)) == 2


def test_merging_a_merged_work_is_refused(db):
    save_records(db, PAIR)
    kept, merged = open_pair(db)
    merge_id = merge.merge_works(db, kept, merged, reason="editor")
    refused = f"work {merged} was merged into work {kept}"
    with pytest.raises(UsageError, match=refused):
        merge.merge_works(db, kept, merged, reason="again")
    with pytest.raises(UsageError, match=refused):
        merge.mark_distinct(db, kept, merged)
    merge.undo_merge(db, merge_id)
    with pytest.raises(UsageError, match="already undone"):
        merge.undo_merge(db, merge_id)


def _merge_behind(path: str, barrier, results, pairs: list[tuple[int, int]]) -> None:
    db = open_db(path)
    for kept, merged in pairs:
        barrier.wait()
        try:
            results.put((kept, merge.merge_works(db, kept, merged, reason="race")))
        except UsageError:
            results.put((kept, None))


def test_two_editors_merging_one_pair_at_once_merge_it_once(tmp_path):
    """The checks a merge depends on are read inside its write transaction: the second
    editor, waiting for the first one's lock, sees the pair already merged."""
    path = str(tmp_path / "race.db")
    db = open_db(path)
    pairs = []
    for n in range(20):
        twins = [record(f"{n}a", title=f"Trial {n} of {n}"), record(f"{n}b", title=f"Trial {n}")]
        first, second = save_records(db, twins).records
        pairs.append((first.work_id, second.work_id))
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    editors = [
        context.Process(target=_merge_behind, args=(path, barrier, results, pairs))
        for _ in range(2)
    ]
    for editor in editors:
        editor.start()
    outcomes: dict[int, list[int | None]] = {}
    for _ in range(2 * len(pairs)):
        kept, merge_id = results.get(timeout=60)
        outcomes.setdefault(kept, []).append(merge_id)
    for editor in editors:
        editor.join(timeout=60)
    assert all(ids.count(None) == 1 for ids in outcomes.values())  # one refused, one merged
    assert db.execute("SELECT count(*) FROM merges").fetchone()[0] == len(pairs)
