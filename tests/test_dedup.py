"""One article seen by several sources is one work; look-alike distinct papers stay apart."""

from pathlib import Path

from litmon.core.records import Record
from litmon.db import dedup
from litmon.db.store import save_records
from litmon.imports import read_csv

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
    # only the automatic merges are recorded as pairs, none is left open
    assert db.execute("SELECT DISTINCT status FROM possible_duplicates").fetchall() == [("merged",)]


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


def test_new_pubmed_record_costs_the_same_few_queries_however_full_its_blocks(db, monkeypatch):
    """Blocks full of other PubMed works are filtered in SQL (none is loaded or compared),
    and a block shared by four times as many works costs a new record no more queries."""
    compared = []
    monkeypatch.setattr(dedup, "compare", lambda *pair: compared.append(pair))

    def reads_of_a_new_record(upto: int) -> list[str]:
        save_records(
            db,
            [
                article(
                    source_id=str(n), pmid=str(n), doi=f"10.1/{n}", title=f"{TITLE}: cohort {n}"
                )
                for n in range(len(live_works(db)) + 1, upto)
            ],
        )
        statements: list[str] = []
        db.conn.set_trace_callback(statements.append)
        save_records(db, [article(source_id=f"x{upto}", pmid=f"x{upto}", doi=f"10.2/{upto}")])
        db.conn.set_trace_callback(None)
        return [s for s in statements if s.lstrip().upper().startswith("SELECT")]

    reads_of_a_new_record(300)  # the first record with its title has blocks of its own
    few, many = reads_of_a_new_record(301), reads_of_a_new_record(1200)
    assert compared == []
    # the lookups (sighting, identifiers, blocks and the narrower blocks of full ones, one
    # query of the few works that pass the filters inside the index) and the block writes
    assert len(many) == len(few) <= 16, many


TITLE_OF_PAPER = "Balance training with visual feedback in chronic stroke"
SUBTITLE = ": a randomised controlled trial of home practice in adults over seventy"


def paper(source_id: str, **fields) -> Record:
    """An invented import row: a multi-page article in a journal volume."""
    values = dict(
        source="csv:review",
        source_id=source_id,
        title=TITLE_OF_PAPER,
        authors=["Okafor, N.", "Lindqvist, E.", "Brandt, T."],
        journal="Journal of Rehabilitation Research",
        volume="41",
        issue="3",
        pages="210-218",
        pub_date="2016",
    )
    values.update(fields)
    return Record(**values)


def outcome(db, records: list[Record]) -> tuple[int, int]:
    """(live works, open possible duplicates) after saving the records."""
    save_records(db, records)
    possible = db.execute(
        "SELECT count(*) FROM possible_duplicates WHERE status = 'open'"
    ).fetchone()[0]
    return len(live_works(db)), possible


def test_note_with_nested_brackets_does_not_hide_the_title(db):
    noted = paper(
        "2",
        title="Balance training with visual feedback in chronic stroke.[Erratum appears in"
        " J Rehabil Res. 2016;41(5):400 Note: Brandt, Thomas [added]]",
    )
    assert outcome(db, [paper("1"), noted]) == (1, 0)


def test_correction_titled_with_a_citation_is_an_erratum(db):
    """Web of Science and Embase title a correction by the corrected article and its citation:
    the notice stays apart from the article, and the two forms of the notice are one work."""
    wos = paper("2", title=TITLE_OF_PAPER + " (vol 41, pg 210, 2016)", issue="5", pages="400")
    embase = paper(
        "3",
        title=f"Erratum: {TITLE_OF_PAPER} (Journal of Rehabilitation Research (2016) 41 (210-218))",
        issue="5",
        pages="400",
    )
    assert dedup.judge(wos, paper("1")).reason == "notice kind erratum vs article"
    save_records(db, [paper("1"), wos, embase])
    assert sorted(s for _, s in live_works(db)) == [
        ["csv:review/1"],
        ["csv:review/2", "csv:review/3"],
    ]


def test_year_off_by_one_in_the_same_volume_merges(db):
    online_first = paper("2", pub_date="2015", pages=None, issue=None)
    assert outcome(db, [paper("1"), online_first]) == (1, 0)


def test_year_off_by_one_without_the_same_volume_is_only_possible(db):
    other_volume = paper("2", pub_date="2015", volume=None, pages=None, issue=None)
    assert outcome(db, [paper("1"), other_volume]) == (2, 1)


def test_year_two_apart_is_not_merged_even_in_the_same_volume(db):
    assert outcome(db, [paper("1"), paper("2", pub_date="2014", pages=None)])[0] == 2


def test_page_range_with_and_without_a_letter_prefix_is_one_place(db):
    pair = [
        paper("1", title="Stroke unit care", pages="c210-c218", pub_date="2017"),
        paper("2", title="Stroke unit care", pages="210-218", pub_date="2016"),
    ]
    assert outcome(db, pair) == (1, 0)


def test_article_number_is_not_the_page_range_it_starts(db):
    pair = [
        paper("1", title="Stroke unit care", pages="e210"),
        paper("2", title="Stroke unit care", pages="210-218"),
    ]
    assert outcome(db, pair)[0] == 2


def test_meeting_supplement_journal_name_matches_its_abbreviation(db):
    abstract = paper(
        "1",
        journal="Journal of Rehabilitation Research.Conference: 9th Annual Meeting of the"
        " Rehabilitation Society Oslo Norway.",
        volume=None,
        issue=None,
        pages=None,
    )
    abbreviated = paper("2", journal="J Rehabil Res", pages=None)
    assert outcome(db, [abstract, abbreviated]) == (1, 0)


def test_meeting_abstract_under_another_journal_is_only_possible(db):
    """Two journals are two publications, even with no volume or pages to disagree (a
    journal club's record of an article often has none): an editor decides."""
    abstract = paper(
        "1",
        journal="Journal of Rehabilitation Medicine.Conference: 9th Annual Meeting Oslo.",
        volume=None,
        issue=None,
        pages=None,
    )
    abbreviated = paper("2", journal="J Rehabil Res", pages=None)
    assert outcome(db, [abstract, abbreviated]) == (2, 1)


def test_dropped_subtitle_merges_on_the_same_volume_and_pages(db):
    subtitled = paper("2", title=TITLE_OF_PAPER + SUBTITLE)
    assert outcome(db, [paper("1"), subtitled]) == (1, 0)


def test_dropped_subtitle_without_pages_is_only_possible(db):
    subtitled = paper("2", title=TITLE_OF_PAPER + SUBTITLE, pages=None)
    assert outcome(db, [paper("1"), subtitled]) == (2, 1)


def test_lost_digit_in_the_title_merges_on_the_full_locator(db):
    title = "Expression of p21 in the peri-infarct cortex after stroke"
    typo = paper("2", title=title.replace("p21", "p2"))
    assert outcome(db, [paper("1", title=title), typo]) == (1, 0)


def test_different_number_in_the_title_without_locator_stays_apart(db):
    title = "Expression of p21 in the peri-infarct cortex after stroke"
    other = paper("2", title=title.replace("p21", "p27"), pages=None)
    assert outcome(db, [paper("1", title=title), other])[0] == 2


def test_title_ending_in_response_is_an_article_not_a_reply(db):
    title = "Motor learning and the balance training response"
    pair = [paper("1", title=title), paper("2", title=title + SUBTITLE)]
    assert outcome(db, pair) == (1, 0)


def test_translated_title_in_brackets_is_the_title_not_a_tag(db):
    """PubMed brackets a translated title; a short one is not a tag like "[Chinese]"."""
    translated = paper("2", title="[Stroke care in rural clinics]. [Article in German]")
    assert outcome(db, [paper("1", title="Stroke care in rural clinics"), translated]) == (1, 0)
