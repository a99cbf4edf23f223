"""Editors settle the pairs the dedup was unsure about: list, merge, and split again."""

import json

import pytest
from click.testing import CliRunner

from litmon.cli import cli
from litmon.core.records import Record
from litmon.db.schema import open_db
from litmon.db.store import save_records

TITLE = "Slowly expanding lesions on MRI and microglial activation on TSPO PET in progressive MS"


@pytest.fixture
def litmon(tmp_path, monkeypatch):
    monkeypatch.setenv("LITMON_DB", str(tmp_path / "dupes.db"))
    db = open_db(tmp_path / "dupes.db")
    article = Record(
        source="pubmed",
        source_id="39000001",
        pmid="39000001",
        doi="10.1212/nxi.0000000000200123",
        title=TITLE,
        authors=["Okafor, Chidi", "Lindqvist, Eva"],
        journal="Neurology(R) neuroimmunology & neuroinflammation",
        volume="12",
        pages="e200123",
        pub_date="2025-03",
    )
    abstract = Record(
        source="csv:embase",
        source_id="emb-77",
        title=TITLE,
        authors=["Okafor, C.", "Lindqvist, E."],
        journal="Multiple Sclerosis Journal",
        volume="30",
        pages="P512",
        pub_date="2024",
    )
    save_records(db, [article, abstract])

    def run(*args):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return run


def live_works(run) -> list[dict]:
    return [json.loads(line) for line in run("export", "works").output.splitlines()]


def test_list_merge_and_split_a_possible_duplicate(litmon):
    listing = litmon("dupes", "list")
    assert "works 1 and 2: similarity" in listing.output
    assert listing.output.count(TITLE[:60]) == 2
    assert len(live_works(litmon)) == 2

    merged = litmon("dupes", "merge", "1", "2")
    assert merged.exit_code == 0 and "merged work 2 into 1" in merged.output
    [work] = live_works(litmon)
    assert {s["source"] for s in work["sources"]} == {"pubmed", "csv:embase"}
    assert litmon("dupes", "list").output.strip() == "no open possible duplicates"

    split = litmon("dupes", "split", "1", "2")
    assert split.exit_code == 0 and "undid merge" in split.output
    assert len(live_works(litmon)) == 2
    assert "works 1 and 2" in litmon("dupes", "list", "--status", "distinct").output


def test_marking_a_pair_distinct_without_merging(litmon):
    result = litmon("dupes", "split", "1", "2")
    assert "marked as different papers" in result.output
    assert litmon("dupes", "list").output.strip() == "no open possible duplicates"


def test_merging_a_work_that_does_not_exist_is_a_clear_error(litmon):
    result = litmon("dupes", "merge", "1", "99")
    assert result.exit_code == 2
    assert "no work 99" in result.output


def test_merged_pairs_are_listed_automatic_and_editors(litmon, tmp_path):
    assert litmon("dupes", "list", "--status", "merged").output.strip() == (
        "no merged possible duplicates"
    )
    # A feed's copy of the PubMed article merges automatically into work 1.
    twin = Record(
        source="feed:nn",
        source_id="tag:nn,2025:200123",
        title=TITLE + ".",
        authors=["Okafor, Chidi", "Lindqvist, Eva"],
        journal="Neurol Neuroimmunol Neuroinflamm",
        volume="12",
        pages="e200123",
        pub_date="2025",
    )
    (saved,) = save_records(open_db(tmp_path / "dupes.db"), [twin]).records
    assert saved.outcome == "merged"
    litmon("dupes", "merge", "1", "2")
    listing = litmon("dupes", "list", "--status", "merged").output
    assert "works 1 and 2: similarity" in listing  # the editor's
    assert "works 1 and 3: similarity 1.00 (automatic: title exact 1.00)" in listing
    assert listing.count("works 1 and ") == 2


def test_a_pair_with_a_deleted_work_is_no_longer_offered(litmon, tmp_path):
    from litmon.core.records import Deletion
    from litmon.db.store import delete_works

    assert "works 1 and 2" in litmon("dupes", "list").output
    delete_works(open_db(tmp_path / "dupes.db"), Deletion("pubmed", ("39000001",)))
    assert litmon("dupes", "list").output.strip() == "no open possible duplicates"
