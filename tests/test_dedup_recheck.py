"""A database an earlier litmon built (schema 11, the rows its store wrote for five invented
records: a recurring column's issues 1 and 2 merged, an article seen twice merged) gets the
new blocks by migration 12, and `litmon dupes recheck` undoes the merge today's rules no
longer make. A schema-13 database whose fold left two titles without a block key (a Cyrillic
title, "reply.") has them blocked by migration 14."""

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from litmon.cli import cli
from litmon.core.records import Record
from litmon.db import schema
from litmon.db.blocks import backfill_blocks, digest
from litmon.db.schema import MIGRATIONS, open_db
from litmon.db.store import record_from_dict, save_records

ROWS = Path(__file__).parent / "fixtures" / "dedup" / "schema11_automatic_merges.sql"
ARTICLE = "Remote ischaemic conditioning before thrombectomy in large vessel occlusion stroke"


UNBLOCKED = ROWS.with_name("schema13_unblocked_titles.sql")


def old_database(path: Path, version: int = 11, rows: Path = ROWS) -> Path:
    """A database as the litmon of schema ``version`` left it, with ``rows`` it stored."""
    conn = sqlite3.connect(path)
    for number, script in enumerate(MIGRATIONS[:version], start=1):
        conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
    conn.executescript(f"BEGIN; {rows.read_text()} COMMIT;")
    conn.close()
    return path


def schema11_database(path: Path) -> Path:
    return old_database(path)


@pytest.fixture
def litmon(tmp_path, monkeypatch):
    path = schema11_database(tmp_path / "old.db")
    monkeypatch.setenv("LITMON_DB", str(path))

    def run(*args):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    run.path = path
    return run


def live(path: Path) -> list[int]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT id FROM works WHERE merged_into IS NULL ORDER BY id")
        return [row[0] for row in rows]
    finally:
        conn.close()


def test_the_upgrade_reblocks_existing_works_and_they_are_found(tmp_path):
    path = schema11_database(tmp_path / "old.db")
    db = open_db(path)
    keys = [row[0] for row in db.execute("SELECT key FROM work_blocks WHERE work_id = 3")]
    assert digest("f:remote ischaemic conditioning") in keys
    assert not db.execute("SELECT 1 FROM work_blocks WHERE typeof(key) = 'text'").fetchall()
    # an id-less feed item of the stored article finds it through the new blocks
    item = Record(
        source="feed:stroke",
        source_id="tag:stroke,2023:211",
        title=ARTICLE,
        authors=["Achterberg, S", "Oyelaran, T"],
        journal="Journal of Invented Stroke Research",
        volume="44",
        pages="211-9",
        pub_date="2023-05",
    )
    (saved,) = save_records(db, [item]).records
    assert (saved.outcome, saved.work_id) == ("merged", 3)


def test_the_upgrade_blocks_the_titles_an_older_fold_left_without_a_key(tmp_path):
    """Schema 13's litmon folded a Cyrillic title and the notice "reply." to nothing, so it
    never found them again; after the upgrade another export of each merges with it."""
    db = open_db(old_database(tmp_path / "old.db", 13, UNBLOCKED))
    assert db.execute("SELECT count(DISTINCT work_id) FROM work_blocks").fetchone() == (2,)
    (stored,) = db.execute("SELECT record FROM sightings WHERE work_id = 1").fetchone()
    cyrillic = record_from_dict(json.loads(stored))
    unpaged = replace(cyrillic, source_id="r3", title=cyrillic.title + ".", pages=None)
    reply = Record(
        source="csv:review",
        source_id="r4",
        title="Reply",
        journal="Invented Neurology Letters",
        volume="40",
        issue="8",
        pages="1948",
        pub_date="2024",
    )
    saved = save_records(db, [unpaged, reply]).records
    assert [(s.outcome, s.work_id) for s in saved] == [("merged", 1), ("merged", 2)]


def test_the_reblocking_runs_in_batches_once(tmp_path):
    path = schema11_database(tmp_path / "old.db")
    db = sqlite_utils.Database(path)
    schema.migrate(db, path)
    assert backfill_blocks(db.conn, batch=1) == 3  # the live works 1, 3 and 5
    assert backfill_blocks(db.conn, batch=1) == 0


def test_recheck_dry_run_reports_the_column_merge_and_changes_nothing(litmon):
    result = litmon("dupes", "recheck", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would undo merge #1 (work 2 into 1)" in result.output
    assert "differ: issue" in result.output
    assert "Notes from the Editor in Chief" in result.output
    assert "merge #2" not in result.output
    assert live(litmon.path) == [1, 3, 5]


def test_recheck_undoes_the_merge_the_rules_no_longer_make_and_keeps_the_others(litmon):
    preview = litmon("dupes", "recheck", "--dry-run", "--json")  # one JSON array
    assert [row["merge_id"] for row in json.loads(preview.output)] == [1]
    result = litmon("dupes", "recheck", "--nl")
    assert result.exit_code == 0, result.output
    (undone,) = [json.loads(line) for line in result.output.splitlines()]
    assert (undone["merge_id"], undone["kept_id"], undone["merged_id"]) == (1, 1, 2)
    assert undone["undone"] is True and "issue" in undone["why"]
    assert live(litmon.path) == [1, 2, 3, 5]
    # undone through the recorded merge: the pair is marked distinct, each work has its issue
    listing = litmon("dupes", "list", "--status", "distinct").output
    assert "works 1 and 2" in listing
    merged = litmon("dupes", "list", "--status", "merged").output
    assert "works 3 and 4" in merged and "works 1 and 2" not in merged
    again = litmon("dupes", "recheck")
    assert again.exit_code == 3
    assert "no automatic merge needs undoing" in again.output


def test_an_editors_merge_is_not_revisited(litmon):
    litmon("dupes", "recheck")
    assert litmon("dupes", "merge", "1", "2", "--reason", "same column").exit_code == 0
    assert litmon("dupes", "recheck").exit_code == 3
    assert live(litmon.path) == [1, 3, 5]
