"""The block index holds each work's kind (no PMID, PMID, PMID and preprint), so a PubMed
record reads only the works it can be: the kinds follow the works as they gain and lose
PMIDs, a database of schema 13 gets them by migration 14, and a block that fills in the
middle of a batch is still descended by the batch's later records."""

import json
import sqlite3

import sqlite_utils

from litmon.core.records import Deletion, Record
from litmon.db.blocks import BLOCK_CAP, IS_PREPRINT, block_kind
from litmon.db.schema import MIGRATIONS, open_db
from litmon.db.store import delete_works, save_records

TITLE = "Balance training with visual feedback in chronic stroke"
OTHER = "Treadmill walking with music cues in chronic stroke"
AUTHORS = ["Okafor, N", "Lindqvist, E", "Brandt, T"]


def pubmed(number: str, **fields) -> Record:
    values = dict(
        source="pubmed",
        source_id=number,
        pmid=number,
        doi=f"10.5555/{number}",
        title=TITLE,
        authors=AUTHORS,
        journal="Journal of Rehabilitation Research",
        volume="41",
        issue="3",
        pages="210-218",
        pub_date="2016-05",
        publication_types=["Journal Article"],
    )
    values.update(fields)
    return Record(**values)


def feed(guid: str, **fields) -> Record:
    return pubmed(
        "", **{"source": "feed:jrr", "source_id": guid, "pmid": None, "doi": None, **fields}
    )


def live(db) -> list[list[str]]:
    """The sightings of each live work, in work order."""
    rows = db.execute(
        "SELECT s.work_id, s.source_id FROM sightings s JOIN works w ON w.id = s.work_id"
        " WHERE w.merged_into IS NULL ORDER BY s.work_id, s.id"
    ).fetchall()
    works: dict[int, list[str]] = {}
    for work_id, source_id in rows:
        works.setdefault(work_id, []).append(source_id)
    return list(works.values())


def test_a_work_that_gains_a_pmid_is_no_longer_a_candidate_of_other_pubmed_records(db):
    save_records(db, [feed("jrr-1", doi="10.5555/1")])
    save_records(db, [pubmed("1")])  # the same DOI: the feed's work takes PMID 1
    save_records(db, [pubmed("2", doi=None)])  # the same citation under another PMID
    assert live(db) == [["jrr-1", "1"], ["2"]]


def test_a_work_that_loses_its_pmid_is_a_candidate_again(db):
    save_records(db, [feed("jrr-1", doi="10.5555/1"), pubmed("1")])
    # NLM withdraws PMID 1 (a duplicate of 2): the feed's work stays live without it
    delete_works(db, Deletion(source="pubmed", source_ids=("1",)))
    save_records(db, [pubmed("2", doi=None)])
    assert ["jrr-1", "2"] in live(db)


def test_a_pubmed_preprint_and_its_journal_version_are_still_linked(db):
    preprint = pubmed(
        "7", journal="medRxiv", volume=None, issue=None, pages=None, publication_types=["Preprint"]
    )
    save_records(db, [preprint, pubmed("8")])
    relations = db.execute("SELECT relation FROM work_relations").fetchall()
    assert relations == [("preprint_of",)]


def test_a_block_filled_in_the_middle_of_a_batch_is_descended_by_its_later_records(db):
    first = feed("jrr-0")
    others = [
        feed(f"jrr-{n}", authors=[f"Author{n}, A"], journal=f"Journal {n}", pages=f"{n}-{n + 5}")
        for n in range(1, BLOCK_CAP + 8)
    ]
    # a paper of another volume, looked up the way the last record will be, before the fill
    twin = feed("jrr-twin", volume="42", issue="1", pub_date="2016-01")
    again = pubmed("99", doi=None)  # the first one's article, seen by PubMed
    save_records(db, [first, twin, *others, again])
    assert live(db)[:2] == [["jrr-0", "99"], ["jrr-twin"]]


def schema13_database(path):
    """A database as litmon's schema 13 left it: schema 14 (migrations 1..14 applied),
    today's store writes the rows, then the block entries lose their kinds (the v13 table)
    and the version goes back to 13."""
    conn = sqlite3.connect(path)
    for number, script in enumerate(MIGRATIONS[:14], start=1):
        conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
    db = sqlite_utils.Database(conn)
    preprint = pubmed(
        "7",
        title="Home practice of balance in chronic stroke survivors",
        journal="medRxiv",
        volume=None,
        issue=None,
        pages=None,
        publication_types=["Preprint"],
    )
    save_records(db, [feed("jrr-1"), pubmed("2", title=OTHER), preprint])
    db.close()
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        BEGIN;
        CREATE TABLE v13 (key BLOB NOT NULL, work_id INTEGER NOT NULL REFERENCES works(id),
                          PRIMARY KEY (key, work_id)) WITHOUT ROWID;
        INSERT INTO v13 SELECT key, work_id FROM work_blocks;
        DROP TABLE work_blocks;
        ALTER TABLE v13 RENAME TO work_blocks;
        CREATE INDEX work_blocks_work ON work_blocks(work_id);
        PRAGMA user_version = 13;
        COMMIT;
        """
    )
    conn.close()
    return path


def test_a_schema_13_database_gets_the_kinds_and_finds_its_works_as_before(tmp_path):
    db = open_db(schema13_database(tmp_path / "old.db"))
    kinds = db.execute(
        "SELECT DISTINCT w.pmid, b.kind FROM work_blocks b JOIN works w ON w.id = b.work_id"
        " ORDER BY b.kind"
    ).fetchall()
    assert kinds == [(None, 0), ("2", 1), ("7", 2)]
    save_records(
        db,
        [
            pubmed("3"),  # the feed's article: joins it
            pubmed("4", doi=None, title=OTHER),  # another PMID's citation: apart
            pubmed("8", title="Home practice of balance in chronic stroke survivors"),
        ],
    )
    assert live(db)[:2] == [["jrr-1", "3"], ["2"]]
    assert db.execute("SELECT relation FROM work_relations").fetchall() == [("preprint_of",)]


def test_the_kind_of_a_block_entry_agrees_with_the_stores_sql_test_of_a_preprint():
    conn = sqlite3.connect(":memory:")
    for types in (
        ["Preprint"],
        ["preprint"],
        ["PREPRINT", "Letter"],
        ["Journal Article"],
        ["Preprint server"],
        ["Pre\u0130print"],
        ["\u212aPreprint"],
        [],
    ):
        text = json.dumps(types, ensure_ascii=False)  # as the store writes it
        (sql,) = conn.execute(
            f"SELECT {IS_PREPRINT} FROM (SELECT ? AS publication_types)", (text,)
        ).fetchone()
        assert block_kind("1", text) == (2 if sql else 1), types
        assert block_kind(None, text) == 0


def test_a_work_put_in_a_block_of_pubmed_works_is_found_later_in_the_same_batch(db):
    save_records(
        db,
        [
            pubmed("1", authors=["Other, A"], journal="Journal One", pages="1-9"),
            # finds only another PubMed record in the title's blocks: nothing to read
            pubmed("2", authors=["Another, B"], journal="Journal Two", pages="20-29"),
            feed("jrr-1"),  # joins the blocks
            pubmed("3", doi=None),  # the feed's article
        ],
    )
    assert ["jrr-1", "3"] in live(db)
