"""Feed items gain PubMed's metadata when their DOI turns up in PubMed."""

import json
from datetime import UTC, datetime, timedelta

from conftest import TODAY
from pubmed_builder import article, article_set

from litmon.core.records import Record
from litmon.db.store import save_records
from litmon.pipeline.enrich import enrich_from_pubmed

DOI = "10.1177/13524585261111111"


def feed_item(doi: str, guid: str) -> Record:
    return Record(
        source="feed:msj",
        source_id=guid,
        title="Paramagnetic rim lesions and QSM in multiple sclerosis",
        doi=f"https://doi.org/{doi.upper()}",
        journal="Multiple Sclerosis Journal",
        pub_date="2026-11",
    )


def test_a_feed_item_found_in_pubmed_by_doi_carries_both_sightings(eutils, db, client):
    eutils.add_xml(article_set([article(9100, TODAY, doi=DOI, title="QSM rims in MS: a cohort")]))
    save_records(db, [feed_item(DOI, "guid-1"), feed_item("10.1177/13524585269999999", "guid-2")])

    counts = enrich_from_pubmed(db, client).counts

    assert (counts.fetched, counts.new, counts.updated) == (1, 0, 1)
    [search] = [r for r in eutils.requests if r.endpoint == "esearch"]
    assert f'"{DOI}"[doi]' in search.params["term"]  # both DOIs in one search
    work = db.execute("SELECT id, pmid, title, authors FROM works WHERE doi = ?", (DOI,)).fetchone()
    assert work[1:3] == ("9100", "QSM rims in MS: a cohort")  # PubMed's metadata wins
    assert json.loads(work[3]) == ["Rivera, Ana"]
    sightings = db.execute("SELECT source FROM sightings WHERE work_id = ? ORDER BY id", (work[0],))
    assert [row[0] for row in sightings] == ["feed:msj", "pubmed"]
    assert db.execute("SELECT count(*) FROM works").fetchone() == (2,)


def test_a_doi_is_not_asked_again_until_the_retry_interval_passes(eutils, db, client):
    save_records(db, [feed_item("10.1177/13524585269999999", "guid-2")])
    enrich_from_pubmed(db, client)
    asked = len(eutils.requests)

    enrich_from_pubmed(db, client)
    assert len(eutils.requests) == asked

    enrich_from_pubmed(db, client, now=datetime.now(UTC) + timedelta(days=1))
    assert len(eutils.requests) == asked + 1
