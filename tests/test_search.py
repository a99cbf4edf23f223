"""Full-text search over works' titles and abstracts (FTS5): kept in step with the works by
the store, built for an existing database in batches, and used by the queue's filters."""

import json
import sqlite3
from datetime import date

from click.testing import CliRunner
from pubmed_builder import article, article_set
from test_migrations import old_database

from litmon import review
from litmon.cli import cli
from litmon.core.records import Record
from litmon.db.schema import open_db
from litmon.db.search import index_new_works
from litmon.db.store import save_records


def _record(pmid: str, title: str, abstract: str, **fields) -> Record:
    values = dict(
        source="pubmed",
        source_id=pmid,
        pmid=pmid,
        title=title,
        abstract=abstract,
        authors=[f"Author{pmid}, A"],
        journal="Multiple Sclerosis Journal",
        journal_abbrev="Mult Scler",
        pub_date="2026-10-05",
    )
    return Record(**values | fields)


def _hits(db, query: str) -> set[str]:
    rows = db.execute(
        "SELECT w.pmid FROM works_fts JOIN works w ON w.id = works_fts.rowid"
        " WHERE works_fts MATCH ?",
        (query,),
    )
    return {row[0] for row in rows}


def test_a_database_from_before_search_is_indexed_when_opened(tmp_path):
    path = tmp_path / "old.db"
    old_database(path, 10, with_work=False)  # schema 10: before the search index
    conn = sqlite3.connect(path)
    for n in range(7):
        conn.execute(
            "INSERT INTO works (title, abstract, created_at, updated_at) VALUES (?, ?, 'x', 'x')",
            (f"Old work {n}", "choroid plexus enlargement" if n == 3 else "other"),
        )
    conn.commit()
    conn.close()

    db = open_db(path)

    titles = [
        row[0]
        for row in db.execute(
            "SELECT w.title FROM works_fts JOIN works w ON w.id = works_fts.rowid"
            " WHERE works_fts MATCH 'choroid'"
        )
    ]
    assert titles == ["Old work 3"]
    # done: the next catch-up indexes nothing until a work is stored
    assert index_new_works(db.conn) == 0
    save_records(db, [_record("1", "New work", "choroid plexus in MOGAD")])
    assert index_new_works(db.conn) == 1 and _hits(db, "mogad") == {"1"}


def test_stored_works_are_indexed_once_in_batches_and_revisions_at_once(tmp_path):
    db = open_db(tmp_path / "litmon.db")
    save_records(db, [_record(str(n), f"Work {n}", "leptomeningeal enhancement") for n in (1, 2)])
    assert _hits(db, "leptomeningeal") == set()  # not inside the store's transaction
    assert index_new_works(db.conn, batch=1) == 2
    assert _hits(db, "leptomeningeal") == {"1", "2"}
    # an indexed work's revision is applied by the trigger; a new work waits for the
    # next catch-up, which indexes it once
    save_records(db, [_record("1", "Work 1 revised", "slowly expanding lesions")])
    save_records(db, [_record("3", "Work 3", "leptomeningeal enhancement")])
    assert _hits(db, "expanding") == {"1"} and _hits(db, "leptomeningeal") == {"2"}
    assert index_new_works(db.conn) == 1
    assert index_new_works(db.conn) == 0
    assert _hits(db, "leptomeningeal") == {"2", "3"}
    # the index agrees with the works it was built from (FTS5 raises if it does not)
    db.execute("INSERT INTO works_fts (works_fts, rank) VALUES ('integrity-check', 1)")


def test_a_revised_abstract_is_found_by_its_new_words_only(tmp_path):
    db = open_db(tmp_path / "litmon.db")
    save_records(db, [_record("1", "Central vein sign", "in 40 patients")])
    index_new_works(db.conn)
    save_records(db, [_record("1", "Central vein sign", "in 400 patients at 7 tesla")])
    assert _hits(db, "tesla") == {"1"}
    assert _hits(db, '"40"') == set()


def _queue_db(tmp_path, monkeypatch):
    monkeypatch.setenv("LITMON_DB", str(tmp_path / "queue.db"))
    db = open_db(tmp_path / "queue.db")
    save_records(
        db,
        [
            _record("11", "Paramagnetic rim lesions and disability", "QSM at 3T in relapsing MS"),
            _record("12", "Rim-negative lesions", "paramagnetic rims were absent", pub_date="2025"),
            _record(
                "13",
                "Optic neuritis in MOGAD",
                "visual outcomes",
                journal="Neurology",
                journal_abbrev="Neurology",
            ),
        ],
    )
    for work_id, score in db.execute("SELECT id, 10 - id FROM works ORDER BY id").fetchall():
        review.enqueue(db, work_id, [("ms_imaging", float(score))])
    return db


def _listed(*args) -> list[str]:
    result = CliRunner().invoke(cli, ["queue", "list", "--json", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return [item["pmid"] for item in json.loads(result.output)]


def test_queue_search_journal_and_dates(tmp_path, monkeypatch):
    _queue_db(tmp_path, monkeypatch)
    assert _listed("--search", "paramagnetic") == ["11", "12"]
    assert _listed("--search", "paramagnetic rim") == ["11", "12"]  # rims: stemmed
    assert _listed("--search", '"rim lesions"') == ["11"]
    assert _listed("--search", "visual outcom*") == ["13"]
    assert _listed("--search", "Mögad") == ["13"]
    assert _listed("--journal", "neurology") == ["13"]
    assert _listed("--journal", "mult scler") == ["11", "12"]
    assert _listed("--since", "2026") == ["11", "13"]
    assert _listed("--until", "2025-12") == ["12"]
    assert _listed("--since", "2026-10-05", "--until", "2026-10-05") == ["11", "13"]


def test_search_text_is_never_an_fts_syntax_error(tmp_path, monkeypatch):
    _queue_db(tmp_path, monkeypatch)
    for text in ["AND", "NEAR(", '"unclosed', "title:rim", "*", "-rim", "rim OR"]:
        result = CliRunner().invoke(cli, ["queue", "list", "--json", "--search", text])
        assert result.exit_code == 0, (text, result.output)
    assert _listed("--search", "title:rim") == []  # a column filter is just two words
    bad = CliRunner().invoke(cli, ["queue", "list", "--since", "last week"])
    assert bad.exit_code == 2 and "2026-03" in bad.output


def test_a_search_matching_thousands_of_works_pages_them_in_rank_order(tmp_path):
    """A common word takes the other plan (walk the ranking, check each candidate against
    the index): the same candidates, in the same order, as ranking every match would."""
    db = open_db(tmp_path / "many.db")
    count = 5200  # above the count at which the plan changes
    save_records(
        db,
        [
            _record(str(70_000 + n), f"Thalamic volume, cohort {n}",
                    "thalamic atrophy" if n % 2 else "cortical lesions")
            for n in range(count)
        ],
    )  # fmt: skip
    for (work_id,) in db.execute("SELECT id FROM works").fetchall():
        review.enqueue(db, work_id, [("ms_imaging", float(work_id * 7919 % 1000))])
    index_new_works(db.conn)

    def ranked(where: str) -> list[int]:
        return [
            row[0]
            for row in db.execute(
                "SELECT c.id FROM candidates c JOIN works w ON w.id = c.work_id"
                f" WHERE {where} ORDER BY c.score DESC, c.id LIMIT 100"
            )
        ]

    rare = review.list_candidates(db, search="cohort 4321")
    assert [item["title"] for item in rare.items] == ["Thalamic volume, cohort 4321"]
    for word, where in (("thalamic", "1"), ("atrophy", "w.abstract LIKE '%atrophy%'")):
        first = review.list_candidates(db, search=word, limit=50)
        rest = review.list_candidates(db, search=word, limit=50, after=first.next_after)
        assert [item["id"] for item in first.items + rest.items] == ranked(where), word


def test_an_ingest_leaves_its_works_searchable(tmp_path):
    """The job indexes what it stored before it ends (a reader that opens no database of
    its own, like the web app's connections, finds them)."""
    xml = tmp_path / "one.xml"
    xml.write_bytes(
        article_set([article(61_000_001, date(2026, 11, 2), title="Meningeal lymphatics on MRI")])
    )
    db_path = tmp_path / "ingest.db"
    result = CliRunner().invoke(cli, ["--db", str(db_path), "ingest", "pubmed-xml", str(xml)])
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(db_path)
    hits = conn.execute("SELECT rowid FROM works_fts WHERE works_fts MATCH 'lymphatics'")
    assert len(hits.fetchall()) == 1
