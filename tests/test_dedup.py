"""One article seen by several sources is one work; look-alike distinct papers stay apart."""

from pathlib import Path

from db import dedup
from db.records import Record
from db.store import save_records
from imports import read_csv

FIXTURES = Path(__file__).parent / "fixtures" / "imports"
TITLE = "Thrombectomy for stroke at 6 to 24 hours after onset"
AUTHORS = ["Nogueira, Raul G", "Jadhav, Ashutosh P", "Haussen, Diogo C"]


def article(**fields) -> Record:
    values = dict(
        source="pubmed",
        source_id="29129157",
        pmid="29129157",
        doi="10.1056/NEJMoa1706442",
        title=TITLE + ".",
        authors=AUTHORS,
        journal="The New England journal of medicine",
        journal_abbrev="N Engl J Med",
        volume="378",
        issue="1",
        pages="11-21",
        pub_date="2018-01-04",
        publication_types=["Journal Article"],
    )
    values.update(fields)
    return Record(**values)


def live_works(db) -> list[tuple[int, list[str]]]:
    rows = db.execute(
        "SELECT w.id, s.source, s.source_id FROM works w JOIN sightings s ON s.work_id = w.id"
        " WHERE w.merged_into IS NULL ORDER BY w.id, s.id"
    ).fetchall()
    works: dict[int, list[str]] = {}
    for work_id, source, source_id in rows:
        works.setdefault(work_id, []).append(f"{source}/{source_id}")
    return list(works.items())


def four_sightings() -> list[Record]:
    feed_a = article(
        source="feed:a",
        source_id="https://nejm.org/doi/10.1056/NEJMoa1706442",
        pmid=None,
        doi="https://doi.org/10.1056/NEJMOA1706442",
        title=TITLE,
        pages=None,
        issue=None,
        publication_types=[],
    )
    feed_b = article(
        source="feed:b",
        source_id="tag:example.org,2018:nejm-11",
        pmid=None,
        doi=None,
        title="Thrombectomy for Stroke at 6 to 24 Hours after Onset",
        authors=["Raul G. Nogueira", "Ashutosh P. Jadhav", "Diogo C. Haussen"],
        journal="New England Journal of Medicine",
        journal_abbrev=None,
        volume=None,
        issue=None,
        pages=None,
        publication_types=[],
    )
    csv_row = next(read_csv(FIXTURES / "review.csv", source="review"))
    return [article(), feed_a, feed_b, csv_row]


def test_one_article_from_four_sources_is_one_work(db):
    counts = save_records(db, four_sightings())
    assert (counts.new, counts.updated) == (1, 3)
    ((work_id, sightings),) = live_works(db)
    assert sorted(sightings) == sorted(
        [
            "pubmed/29129157",
            "feed:a/https://nejm.org/doi/10.1056/NEJMoa1706442",
            "feed:b/tag:example.org,2018:nejm-11",
            "csv:review/r1",
        ]
    )
    # PubMed's metadata wins the fold.
    title, journal = db.execute(
        "SELECT title, journal FROM works WHERE id = ?", (work_id,)
    ).fetchone()
    assert (title, journal) == (TITLE + ".", "The New England journal of medicine")


def test_order_of_arrival_does_not_matter(db):
    save_records(db, list(reversed(four_sightings())))
    assert len(live_works(db)) == 1


def test_resaving_changes_nothing(db):
    save_records(db, four_sightings())
    before = db.execute("SELECT count(*) FROM works").fetchone(), live_works(db)
    counts = save_records(db, four_sightings())
    assert (counts.new, counts.updated, counts.unchanged) == (0, 0, 4)
    assert (db.execute("SELECT count(*) FROM works").fetchone(), live_works(db)) == before
    assert db.execute("SELECT count(*) FROM possible_duplicates").fetchone()[0] == 0


def test_erratum_stays_apart_from_its_article(db):
    pubmed_erratum = article(
        source_id="29490276",
        pmid="29490276",
        doi=None,
        title=TITLE + ".",  # PubMed errata often repeat the article's title
        pages="708",
        pub_date="2018-02-22",
        publication_types=["Published Erratum"],
    )
    feed_correction = article(
        source="feed:b",
        source_id="correction-1",
        pmid=None,
        doi=None,
        title="Correction to: " + TITLE,
        pages=None,
        publication_types=[],
    )
    save_records(db, [article(), pubmed_erratum, feed_correction])
    works = dict(live_works(db))
    assert ["pubmed/29129157"] in works.values()
    assert len(works) >= 2


def test_parts_of_a_series_stay_apart(db):
    part = dict(
        source="csv:review",
        authors=["Langhorne, P.", "Dennis, M."],
        journal="Stroke",
        volume="40",
        pub_date="2009",
    )
    first = Record(source_id="1", title="Stroke units: an overview. Part I", pages="1-9", **part)
    second = Record(source_id="2", title="Stroke units: an overview. Part II", **part)
    save_records(db, [first, second])
    assert len(live_works(db)) == 2


def test_reply_on_the_same_page_stays_apart(db):
    letter = Record(
        source="csv:review",
        source_id="1",
        title="Thrombomodulin in atypical hemolytic-uremic syndrome",
        authors=["Edey, M."],
        journal="N Engl J Med",
        volume="361",
        pages="1511",
        pub_date="2009",
    )
    reply = Record(
        source="csv:review",
        source_id="2",
        title="Thrombomodulin in atypical hemolytic-uremic syndrome. Authors' reply",
        authors=["Esmon, C. T."],
        journal="N Engl J Med",
        volume="361",
        pages="1511",
        pub_date="2009",
    )
    save_records(db, [letter, reply])
    assert len(live_works(db)) == 2


def test_preprint_and_journal_version_are_linked_not_merged(db):
    preprint = article(
        source="feed:medrxiv",
        source_id="10.1101/2017.01.01.000001",
        pmid=None,
        doi="10.1101/2017.01.01.000001",
        journal="medRxiv",
        journal_abbrev=None,
        volume=None,
        issue=None,
        pages=None,
        pub_date="2017-06-01",
        publication_types=["Preprint"],
    )
    save_records(db, [preprint, article()])
    works = live_works(db)
    assert len(works) == 2
    preprint_id = next(w for w, s in works if s == ["feed:medrxiv/10.1101/2017.01.01.000001"])
    journal_id = next(w for w, s in works if s == ["pubmed/29129157"])
    relations = db.execute("SELECT work_id, other_id, relation FROM work_relations").fetchall()
    assert relations == [(preprint_id, journal_id, "preprint_of")]


def test_uncertain_pair_is_a_possible_duplicate_not_a_merge(db):
    conference = article(
        source="csv:review",
        source_id="abstract-1",
        pmid=None,
        doi=None,
        journal="Stroke",
        volume="48",
        pages="A12",
        pub_date="2017",
    )
    save_records(db, [article(), conference])
    assert len(live_works(db)) == 2
    ((score, status),) = db.execute("SELECT score, status FROM possible_duplicates").fetchall()
    assert status == "open" and score >= 0.9


def test_new_pubmed_record_costs_few_queries(db, monkeypatch):
    """Blocks full of other PubMed works are filtered in SQL: none is loaded or compared."""
    save_records(
        db,
        [
            article(source_id=str(n), pmid=str(n), doi=f"10.1/{n}", title=f"{TITLE}: cohort {n}")
            for n in range(1, 300)
        ],
    )
    compared = []
    monkeypatch.setattr(dedup, "compare", lambda *pair: compared.append(pair))
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    save_records(db, [article()])
    db.conn.set_trace_callback(None)
    assert compared == []
    assert len(statements) <= 12
