"""Feed items gain PubMed's metadata when their DOI turns up in PubMed."""

import json
from datetime import UTC, datetime, timedelta

from conftest import TODAY
from pubmed_builder import article, article_set

from litmon.core.records import Record
from litmon.db.store import save_records
from litmon.pipeline.enrich import enrich_from_pubmed
from litmon.replay.server import Fault

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


def test_a_failed_lookup_batch_does_not_stop_the_next_and_is_tried_again(eutils, db, client):
    """40 DOIs per search: the first search fails for good, the second still runs and
    enriches its work; the first batch's DOIs are asked again on the next run."""
    first_batch = [f"10.5555/first.{n}" for n in range(40)]
    save_records(db, [feed_item(doi, f"guid-{doi}") for doi in [*first_batch, DOI]])
    eutils.add_xml(article_set([article(9100, TODAY, doi=DOI, title="QSM rims in MS: a cohort")]))
    eutils.inject(*[Fault("500")] * 4, endpoint="esearch")  # every attempt of the first search

    run = enrich_from_pubmed(db, client)

    assert run.status == "partial"
    assert run.error.startswith("1 of 2 lookup batches failed: DOIs 1-40: esearch.fcgi")
    assert db.execute("SELECT pmid FROM works WHERE doi = ?", (DOI,)).fetchone() == ("9100",)
    later = enrich_from_pubmed(db, client)
    assert later is not None and later.status == "ok"
    [search] = [r for r in eutils.requests if r.endpoint == "esearch"][-1:]
    assert '"10.5555/first.0"[doi]' in search.params["term"]
