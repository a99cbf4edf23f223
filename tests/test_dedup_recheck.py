"""A database an earlier litmon built (schema 11, the rows its store wrote for five invented
records: a recurring column's issues 1 and 2 merged, an article seen twice merged) gets the
new blocks by migration 12, and `litmon dupes recheck` undoes the merge today's rules no
longer make."""

import json
import sqlite3
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from litmon.cli import cli
from litmon.core.records import Record
from litmon.db import schema
from litmon.db.blocks import backfill_blocks, digest
from litmon.db.schema import MIGRATIONS, open_db
from litmon.db.store import save_records

ROWS = Path(__file__).parent / "fixtures" / "dedup" / "schema11_automatic_merges.sql"
ARTICLE = "Remote ischaemic conditioning before thrombectomy in large vessel occlusion stroke"


def schema11_database(path: Path) -> Path:
    conn = sqlite3.connect(path)
    for number, script in enumerate(MIGRATIONS[:11], start=1):
        conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
    conn.executescript(f"BEGIN; {ROWS.read_text()} COMMIT;")
    conn.close()
    return path


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
    result = litmon("dupes", "recheck", "--json")
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
