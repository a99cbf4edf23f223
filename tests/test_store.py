"""The store keeps one paper per sighting and one work per identifier, whatever arrives."""

import json
import multiprocessing
from pathlib import Path

import orjson
import pytest

from litmon.core.errors import UsageError
from litmon.core.records import Deletion, Link, Record
from litmon.db import merge
from litmon.db.export import iter_works
from litmon.db.schema import open_db
from litmon.db.store import delete_works, record_from_dict, save_records, sighting_records

TITLE = "Rehabilitation robots for the upper limb after stroke"
AUTHORS = ["Okafor, Nnamdi", "Lindqvist, Eva", "Brandt, Tobias"]


def pubmed(**fields) -> Record:
    values = dict(
        source="pubmed",
        source_id="37000100",
        pmid="37000100",
        doi="10.1000/robots.100",
        title=TITLE + ".",
        authors=AUTHORS,
        journal="Journal of Rehabilitation Research",
        volume="41",
        pages="210-218",
        pub_date="2023-04-02",
        publication_types=["Journal Article"],
    )
    values.update(fields)
    return Record(**values)


def row(source_id: str = "r1", **fields) -> Record:
    """An invented import row."""
    values = dict(
        source="csv:review",
        source_id=source_id,
        title=TITLE,
        authors=AUTHORS,
        journal="Journal of Rehabilitation Research",
        volume="41",
        pages="210-218",
        pub_date="2023",
    )
    values.update(fields)
    return Record(**values)


def other_paper(**fields) -> Record:
    """Another paper entirely, as the next import gives it under a reused row id."""
    values = dict(
        title="Salt intake and blood pressure in adolescents: a cohort study",
        authors=["Haddad, Samir", "Moreau, Claire"],
        journal="Hypertension Research",
        volume="12",
        pages="5-9",
        pub_date="2021",
    )
    values.update(fields)
    return row(**values)


def works(db) -> dict[int, list[str]]:
    """Live works and their sightings."""
    found: dict[int, list[str]] = {}
    for work_id, source, source_id in db.execute(
        "SELECT w.id, s.source, s.source_id FROM works w JOIN sightings s ON s.work_id = w.id"
        " WHERE w.merged_into IS NULL ORDER BY w.id, s.id"
    ):
        found.setdefault(work_id, []).append(f"{source}/{source_id}")
    return found


def events(db) -> list[tuple[int, str]]:
    return db.execute("SELECT work_id, kind FROM work_events ORDER BY id").fetchall()


def merges(db) -> list[dict]:
    """The merges not undone, oldest first, as the merges table records them."""
    rows = db.execute(
        "SELECT id, kept_id, merged_id, sighting_ids FROM merges WHERE undone_at IS NULL"
        " ORDER BY id"
    ).fetchall()
    return [
        {"id": i, "kept_id": k, "merged_id": m, "sighting_ids": json.loads(s)}
        for i, k, m, s in rows
    ]


def first_sighting(db, source_id: str) -> int:
    return db.execute("SELECT id FROM sightings WHERE source_id = ?", (source_id,)).fetchone()[0]


def stored_title(db, source_id: str) -> str:
    (payload,) = db.execute(
        "SELECT record FROM sightings WHERE source_id = ?", (source_id,)
    ).fetchone()
    return json.loads(payload)["title"]


# 1. A sighting that turned into another paper is refused, never written over.


def test_reused_row_id_for_another_paper_is_refused_and_the_rest_stored(db):
    (first,) = save_records(db, [row()]).records
    before = events(db)
    third = row("r2", title="Mirror therapy for neglect", authors=["Haddad, Samir"], pages="1-8")
    result = save_records(db, [other_paper(), third])
    refused, stored = result.records
    assert refused.outcome == "refused" and result.refused == [refused]
    assert refused.work_id == first.work_id
    assert f"work {first.work_id} ({TITLE!r})" in refused.reason
    assert repr(other_paper().title) in refused.reason
    assert stored.outcome in ("new", "merged") and result.new + result.updated == 1
    assert stored_title(db, "r1") == TITLE
    assert not db.execute("SELECT 1 FROM works WHERE title LIKE 'Salt%'").fetchall()
    # the refused record changed nothing, so it has no event
    assert [e for e in events(db)[len(before) :] if e[0] == first.work_id] == []


def test_revision_of_the_same_paper_updates_its_sighting(db):
    (first,) = save_records(db, [row(title=TITLE.replace("limb", "lmb"))]).records
    revised = row(abstract="Robots helped.")
    (saved,) = save_records(db, [revised]).records
    assert (saved.outcome, saved.work_id) == ("updated", first.work_id)
    assert stored_title(db, "r1") == TITLE
    assert save_records(db, [revised]).refused == []


def test_pubmed_revision_of_its_own_pmid_is_never_refused(db):
    """NLM revises a citation it keeps under one PMID: it is that paper whatever it says."""
    save_records(db, [pubmed(title="[Not Available].", authors=[])])
    (saved,) = save_records(db, [pubmed()]).records
    assert saved.outcome == "updated"
    assert db.execute("SELECT title FROM works").fetchall() == [(TITLE + ".",)]


def test_import_row_changing_the_same_way_is_refused(db):
    """The near-twin: an import's row id names nothing but a row."""
    save_records(db, [row(title="[Not Available].", authors=[])])
    assert save_records(db, [row()]).records[0].outcome == "refused"


def test_reused_row_id_with_a_clashing_doi_is_refused(db):
    save_records(db, [row(doi="10.1000/robots.100")])
    # Same title, but another DOI, other authors and pages: not the stored paper.
    clash = row(doi="10.1000/robots.999", authors=["Haddad, Samir"], pages="300-310")
    (saved,) = save_records(db, [clash]).records
    assert saved.outcome == "refused"
    assert "doi 10.1000/robots.999 vs 10.1000/robots.100" in saved.reason


def test_corrected_doi_of_the_same_paper_is_a_revision(db):
    save_records(db, [row(doi="10.1000/robots.10")])
    (saved,) = save_records(db, [row(doi="10.1000/robots.100")]).records
    assert saved.outcome == "updated"
    assert db.execute("SELECT doi FROM works").fetchall() == [("10.1000/robots.100",)]


# 2. A revision whose identifiers name another work joins that work, never an IntegrityError.


def conference_row(**fields) -> Record:
    """The same paper as ``pubmed()``, but its import gives other pages: not merged."""
    return row(pages="A12", volume="40", **fields)


def test_revision_carrying_another_works_pmid_is_merged_into_it(db):
    (article,) = save_records(db, [pubmed()]).records
    (abstract,) = save_records(db, [conference_row()]).records
    assert abstract.work_id != article.work_id
    (saved,) = save_records(db, [conference_row(pmid="37000100")]).records
    assert (saved.outcome, saved.work_id, saved.merged_into) == (
        "merged",
        article.work_id,
        article.work_id,
    )
    assert works(db) == {article.work_id: ["pubmed/37000100", "csv:review/r1"]}
    (done,) = merges(db)
    assert (done["kept_id"], done["merged_id"]) == (article.work_id, abstract.work_id)
    assert events(db)[-2:] == [(article.work_id, "merged"), (abstract.work_id, "merged")]


def test_revision_carrying_another_works_pmid_moves_alone_when_its_work_has_more(db):
    (article,) = save_records(db, [pubmed()]).records
    feed = conference_row(source="feed:msj", source_id="tag:msj,2023:12")
    first, _ = save_records(db, [conference_row(), feed]).records
    assert len(works(db)) == 2
    (saved,) = save_records(db, [conference_row(pmid="37000100")]).records
    assert (saved.outcome, saved.work_id) == ("updated", article.work_id)
    assert works(db) == {
        article.work_id: ["pubmed/37000100", "csv:review/r1"],
        first.work_id: ["feed:msj/tag:msj,2023:12"],
    }
    *_, moved = merges(db)  # after the feed item's own automatic merge
    assert moved["sighting_ids"] == [first_sighting(db, "r1")]
    assert (moved["kept_id"], moved["merged_id"]) == (article.work_id, first.work_id)
    assert events(db)[-2:] == [(first.work_id, "updated"), (article.work_id, "updated")]
    # Splitting it again would give two works the PMID: a clear refusal.
    with pytest.raises(UsageError, match="would take back PMID 37000100"):
        merge.undo_merge(db, moved["id"])


def test_revision_carrying_another_works_doi_is_merged_into_it_and_can_be_split(db):
    (article,) = save_records(db, [pubmed()]).records
    (abstract,) = save_records(db, [conference_row()]).records
    (saved,) = save_records(db, [conference_row(doi="10.1000/robots.100")]).records
    assert (saved.outcome, saved.work_id) == ("merged", article.work_id)
    dois = db.execute("SELECT doi FROM works WHERE doi IS NOT NULL").fetchall()
    assert dois == [("10.1000/robots.100",)]
    (done,) = merges(db)
    merge.undo_merge(db, done["id"])
    assert works(db) == {article.work_id: ["pubmed/37000100"], abstract.work_id: ["csv:review/r1"]}


def test_revision_keeping_its_own_pmid_stays_in_its_work(db):
    """The near-twin: a revision with the PMID its own work holds is a plain update."""
    (article,) = save_records(db, [pubmed()]).records
    (saved,) = save_records(db, [pubmed(abstract="Robots helped.")]).records
    assert (saved.outcome, saved.work_id) == ("updated", article.work_id)
    assert merges(db) == []


# 4. Notices carrying their article's DOI are not merged into it.


@pytest.mark.parametrize("source", ["feed:msj", "csv:review"])
@pytest.mark.parametrize("notice", ["Comment on: {}", "Erratum: {}", "{} - Authors' reply"])
def test_notice_with_the_articles_doi_stays_apart(db, source, notice):
    comment = row(source=source, title=notice.format(TITLE), doi="10.1000/robots.100")
    save_records(db, [pubmed(), comment])
    assert len(works(db)) == 2


@pytest.mark.parametrize("source", ["feed:msj", "csv:review"])
def test_article_from_another_source_matches_by_doi(db, source):
    twin = row(source=source, doi="10.1000/robots.100", pages=None, volume=None, authors=[])
    assert save_records(db, [pubmed(), twin]).records[1].outcome == "updated"
    assert len(works(db)) == 1


def test_article_does_not_join_a_comment_that_carries_its_doi(db):
    comment = row(source="feed:msj", title=f"Comment on: {TITLE}", doi="10.1000/robots.100")
    article = row("r2", doi="10.1000/robots.100")
    save_records(db, [comment, article])
    assert len(works(db)) == 2


# 5. Stored payloads outlive changes to the Record type.

# Written by orjson.dumps(record) for a Record of this version.
PAYLOAD = (
    '{"source":"pubmed","source_id":"38000001","title":"Iron rims in chronic lesions",'
    '"pmid":"38000001","doi":"10.1000/rims.1","pmcid":null,"abstract":null,'
    '"abstract_html":null,"authors":["Rivera, Ana"],"journal":"Mult Scler",'
    '"journal_abbrev":null,"issn":null,"volume":null,"issue":null,"pages":null,'
    '"pub_date":"2024-05","publication_types":["Journal Article"],"mesh":[],"keywords":[],'
    '"language":null,"links":[{"type":"RetractionIn","pmid":"39000002",'
    '"ref":"Mult Scler. 2025"}],"url":null,"revised":"2024-06-01"}'
)
RIMS = Record(
    source="pubmed",
    source_id="38000001",
    title="Iron rims in chronic lesions",
    pmid="38000001",
    doi="10.1000/rims.1",
    authors=["Rivera, Ana"],
    journal="Mult Scler",
    pub_date="2024-05",
    publication_types=["Journal Article"],
    links=[Link("RetractionIn", "39000002", "Mult Scler. 2025")],
    revised="2024-06-01",
)


def test_payload_written_today_reads_back():
    assert orjson.dumps(RIMS).decode() == PAYLOAD
    assert record_from_dict(json.loads(PAYLOAD)) == RIMS


def test_payload_with_a_key_record_no_longer_has_reads_back():
    data = json.loads(PAYLOAD)
    data["citation_count"] = 12
    data["links"][0]["note"] = "from a later version"
    assert record_from_dict(data) == RIMS


def test_payload_without_a_key_record_has_gained_takes_the_default():
    data = json.loads(PAYLOAD)
    del data["keywords"], data["links"][0]["ref"]
    loaded = record_from_dict(data)
    assert loaded.keywords == [] and loaded.links == [Link("RetractionIn", "39000002")]


def test_work_is_refolded_from_payloads_of_another_version(db):
    data = json.loads(PAYLOAD)
    data["citation_count"] = 12
    del data["keywords"]
    save_records(db, [RIMS])
    db.execute("UPDATE sightings SET record = ?", (json.dumps(data),))
    db.conn.commit()
    (work_id,) = works(db)
    assert sighting_records(db.conn, work_id) == [RIMS]
    feed = Record(source="feed:msj", source_id="rims", title=RIMS.title, doi=RIMS.doi)
    assert save_records(db, [feed]).records[0].work_id == work_id


# 8. Deleted works hide and match nothing new.


NEWCOMERS = {
    "its DOI": row(source="feed:msj", doi="10.1000/robots.100"),
    "its PMID": row(pmid="37000100", title=TITLE + " (cohort two)", pages=None),
    "its title": row(source="csv:other", title=TITLE + "."),
}


@pytest.mark.parametrize("newcomer", NEWCOMERS.values(), ids=NEWCOMERS)
def test_deleted_work_does_not_swallow_new_sightings(db, newcomer):
    (deleted,) = save_records(db, [pubmed()]).records
    assert delete_works(db, Deletion("pubmed", ("37000100",))) == [deleted.work_id]
    (saved,) = save_records(db, [newcomer]).records
    assert (saved.outcome, works(db)[deleted.work_id]) == ("new", ["pubmed/37000100"])
    assert [work["id"] for work in iter_works(db)] == [saved.work_id]
    # PubMed sending the deleted record again changes nothing.
    assert save_records(db, [pubmed()]).records[0].outcome == "unchanged"


@pytest.mark.parametrize("newcomer", NEWCOMERS.values(), ids=NEWCOMERS)
def test_live_work_takes_the_same_sightings(db, newcomer):
    """The near-twin: not deleted, the work takes each newcomer."""
    (article,) = save_records(db, [pubmed()]).records
    assert save_records(db, [newcomer]).records[0].work_id == article.work_id


# 3. Two writers on one database never make two works of one DOI.

ROUNDS = 60


def _write_rounds(path: str, source: str, barrier) -> None:
    db = open_db(path)
    for n in range(ROUNDS):
        record = Record(
            source=source,
            source_id=f"item-{n}",
            title=f"Round {n} of a race between two writers",
            doi=f"10.1000/race.{n}",
        )
        barrier.wait()
        save_records(db, [record])
    db.conn.close()


def test_two_writers_never_make_two_works_of_one_doi(tmp_path: Path):
    path = str(tmp_path / "race.db")
    open_db(path).conn.close()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    writers = [
        context.Process(target=_write_rounds, args=(path, source, barrier))
        for source in ("feed:a", "feed:b")
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    assert [writer.exitcode for writer in writers] == [0, 0]
    db = open_db(path)
    per_doi = db.execute(
        "SELECT doi, count(*) FROM works WHERE doi IS NOT NULL GROUP BY doi"
    ).fetchall()
    assert len(per_doi) == ROUNDS
    assert {count for _, count in per_doi} == {1}
    assert db.execute("SELECT count(*) FROM sightings").fetchone()[0] == 2 * ROUNDS


def test_a_deletion_of_a_work_other_sources_saw_keeps_it_live_without_pubmeds_sighting(db):
    """NLM withdrawing its citation does not withdraw the article a journal feed shows."""
    feed = row(source="feed:jrr", source_id="guid-7", doi="10.1000/robots.100")
    (kept,) = save_records(db, [pubmed(), feed]).records[:1]

    (withdrawn,) = delete_works(db, Deletion("pubmed", ("37000100",)))

    assert withdrawn != kept.work_id
    [work] = [w for w in iter_works(db)]
    assert work["id"] == kept.work_id and work["pmid"] is None  # PubMed's PMID left with it
    assert work["sources"] == [{"source": "feed:jrr", "id": "guid-7"}]
    hidden = db.execute("SELECT deleted_at FROM works WHERE id = ?", (withdrawn,)).fetchone()
    assert hidden[0] is not None


def test_a_deletion_of_a_work_only_pubmed_saw_hides_it(db):
    (saved,) = save_records(db, [pubmed()]).records
    assert delete_works(db, Deletion("pubmed", ("37000100",))) == [saved.work_id]
    assert list(iter_works(db)) == []


# -- whose fields a merged work shows -------------------------------------------------------


def _shown(db, work_id: int) -> tuple[str, str, str]:
    row = db.execute(
        "SELECT title, journal, abstract FROM works WHERE id = ?", (work_id,)
    ).fetchone()
    return tuple(row)


@pytest.mark.parametrize("pubmed_first", [True, False])
def test_pubmeds_fields_win_in_a_merged_work_whichever_arrived_first(db, pubmed_first):
    feed = row(
        source="feed:msj",
        doi="10.1000/robots.100",
        title=TITLE.upper(),  # a feed's shouting title, its own journal spelling and teaser
        journal="J Rehabil Res",
        abstract="Ahead of print. Robots and stroke.",
    )
    imported = row(doi="10.1000/robots.100", journal="JRR", abstract="Imported abstract.")
    article = pubmed(abstract="Robots helped 41 patients regain arm function.")
    batches = [[article], [feed], [imported]] if pubmed_first else [[imported], [feed], [article]]
    for batch in batches:
        (saved,) = save_records(db, batch).records
    assert len(works(db)) == 1
    assert _shown(db, saved.work_id) == (
        TITLE + ".",
        "Journal of Rehabilitation Research",
        "Robots helped 41 patients regain arm function.",
    )


def test_a_feeds_fields_win_over_an_imports_without_pubmed(db):
    feed = row(
        source="feed:msj",
        doi="10.1000/robots.100",
        journal="J Rehabil Res",
        abstract="From the feed.",
    )
    imported = row(doi="10.1000/robots.100", journal="JRR", abstract="From the import.")
    save_records(db, [imported])
    (saved,) = save_records(db, [feed]).records
    assert _shown(db, saved.work_id)[1:] == ("J Rehabil Res", "From the feed.")


@pytest.mark.parametrize("exact_first", [True, False])
def test_a_record_sure_of_two_works_joins_the_better_match(db, exact_first):
    """Two stored works kept apart by their pages; a feed item without pages is a sure match
    for both. It joins the one whose title it gives exactly, whichever was stored first."""
    exact = row("a", title=TITLE, pages="210-218", volume=None)
    near = row("b", title=TITLE.replace("upper limb", "upper limbs"), pages="310-318", volume=None)
    stored = {}
    for record in [exact, near] if exact_first else [near, exact]:
        (saved,) = save_records(db, [record]).records
        stored[record.source_id] = saved.work_id
    assert len(set(stored.values())) == 2  # the pages keep them apart
    (item,) = save_records(db, [row("n", source="feed:msj", pages=None, volume=None)]).records
    assert (item.outcome, item.work_id) == ("merged", stored["a"])
