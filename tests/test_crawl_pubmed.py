"""PubMed crawls against the local fake E-utilities server: windows, checkpoints, costs."""

from datetime import date, timedelta

from conftest import TODAY, TOPIC, make_client
from pubmed_builder import article, article_set

from litmon.core.version import VERSION
from litmon.db import runs
from litmon.pipeline.pubmed import crawl_pubmed

# A revision as PubMed makes them: the same paper, its title corrected.
TYPO_TITLE = "Paramagnetic rim lesons and QSM in multiple sclerosis"
FIXED_TITLE = "Paramagnetic rim lesions and QSM in multiple sclerosis"


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


def endpoint_calls(server, endpoint):
    return [r for r in server.requests if r.endpoint == endpoint]


def stored_pmids(db) -> list[str]:
    return sorted(row[0] for row in db.execute("SELECT pmid FROM works"))


def test_first_crawl_looks_back_30_days_and_costs_one_search(eutils, db):
    eutils.add_xml(article_set([article(1000 + n, days_ago(n)) for n in range(60)]))
    client = make_client(eutils, batch_size=10)

    [report] = crawl_pubmed(db, client, [TOPIC], today=TODAY)

    assert report.status == "ok"
    assert report.window == (days_ago(30), TODAY)
    assert stored_pmids(db) == [str(1000 + n) for n in range(31)]
    assert len(endpoint_calls(eutils, "esearch")) == 1
    assert len(endpoint_calls(eutils, "efetch")) == 4  # ceil(31 / 10)
    assert (report.counts.new, report.counts.fetched, report.counts.requests) == (31, 31, 5)
    assert runs.get_checkpoint(db, "pubmed", TOPIC.name, "edat") == TODAY
    [row] = runs.recent_runs(db)
    assert (row["status"], row["new"], row["requests"], row["error"]) == ("ok", 31, 5, None)


def test_every_request_identifies_the_tool_and_contact(eutils, db, client):
    eutils.add_xml(article_set([article(1, days_ago(1))]))
    crawl_pubmed(db, client, [TOPIC], today=TODAY)
    for request in eutils.requests:
        assert request.params["tool"] == f"litmon-{VERSION}"
        assert request.params["email"] == "tests@example.org"
        assert request.params["api_key"] == "test-key"
    assert client.session.headers["User-Agent"] == (
        f"litmon/{VERSION} (litmon-{VERSION}; +mailto:tests@example.org)"
    )
    [search] = endpoint_calls(eutils, "esearch")
    assert search.params["usehistory"] == "y"
    assert search.params["db"] == "pubmed"


def test_next_crawl_starts_at_the_checkpoint_and_fetches_only_unseen_pmids(eutils, db, client):
    eutils.add_xml(article_set([article(2000 + n, days_ago(n)) for n in range(10)]))
    crawl_pubmed(db, client, [TOPIC], today=TODAY)
    later = TODAY + timedelta(days=2)
    eutils.add_xml(article_set([article(3000, TODAY + timedelta(days=1)), article(3001, later)]))
    eutils.requests.clear()

    [report] = crawl_pubmed(db, client, [TOPIC], today=later)

    assert report.window == (TODAY - timedelta(days=3), later)  # overlap_days = 3
    [fetch] = endpoint_calls(eutils, "efetch")
    assert fetch.method == "POST"
    assert sorted(fetch.params["id"].split(",")) == ["3000", "3001"]
    assert report.counts.new == 2
    assert report.counts.unchanged == 4  # the overlap's already-stored PMIDs
    assert len(stored_pmids(db)) == 12


def test_records_with_a_backdated_entrez_date_are_found_by_create_date(eutils, db, client):
    # PubMed backdates EDAT to the publication date for records added over a year late.
    # The fake evaluates the term's AND / OR / NOT, so this fails if the crawl's term ANDed
    # the two date ranges (4000 would be missed) or dropped either of them.
    late = article(4000, date(2024, 3, 1), crdt=days_ago(2))
    old = article(4002, date(2024, 3, 1), crdt=date(2024, 3, 1))
    eutils.add_xml(article_set([late, article(4001, days_ago(1)), old]))
    crawl_pubmed(db, client, [TOPIC], today=TODAY)
    assert stored_pmids(db) == ["4000", "4001"]


def test_a_window_over_the_esearch_cap_is_split_until_it_fits(eutils, db):
    eutils.add_synthetic(12_000, date(2026, 1, 1), date(2026, 6, 30))
    client = make_client(eutils, batch_size=5_000)

    [report] = crawl_pubmed(
        db, client, [TOPIC], since=date(2026, 1, 1), until=date(2026, 6, 30), today=TODAY
    )

    assert report.status == "ok", report.error
    assert db.execute("SELECT count(*), count(DISTINCT pmid) FROM works").fetchone() == (
        12_000,
        12_000,
    )
    assert len(endpoint_calls(eutils, "esearch")) >= 3  # the full window, then its halves
    # a --since backfill leaves the incremental checkpoint alone
    assert runs.get_checkpoint(db, "pubmed", TOPIC.name, "edat") is None


def test_revised_records_are_picked_up_by_the_periodic_refresh(eutils, db, client):
    eutils.add_xml(article_set([article(5000, days_ago(3), title=TYPO_TITLE)]))
    crawl_pubmed(db, client, [TOPIC], today=TODAY)
    revised_on = TODAY + timedelta(days=8)
    eutils.add_xml(article_set([article(5000, days_ago(3), revised=revised_on, title=FIXED_TITLE)]))

    [report] = crawl_pubmed(db, client, [TOPIC], today=revised_on)

    assert report.counts.updated == 1
    assert db.execute("SELECT title FROM works").fetchall() == [(FIXED_TITLE,)]
    assert db.execute("SELECT count(*) FROM sightings").fetchone() == (1,)


def test_a_stored_export_with_the_pmid_and_a_mistyped_doi_does_not_block_the_crawl(
    eutils, db, client
):
    from litmon.core.records import Record
    from litmon.db.store import save_records

    eutils.add_xml(article_set([article(6000 + n, days_ago(n)) for n in range(5)]))
    typo = Record(
        source="csv:embase",
        source_id="emb-1",
        pmid="6002",
        doi="10.5555/litmon.60O2",  # letter O for zero, as typed into a reference manager
        title="Paramagnetic rim lesions and QSM in multiple sclerosis: cohort 6002",
    )
    save_records(db, [typo])

    [report] = crawl_pubmed(db, client, [TOPIC], today=TODAY)

    assert report.status == "ok", report.error
    assert stored_pmids(db) == ["6000", "6001", "6002", "6003", "6004"]
    sources = db.execute(
        "SELECT s.source, w.doi FROM sightings s JOIN works w ON w.id = s.work_id"
        " WHERE w.pmid = '6002' ORDER BY s.source"
    ).fetchall()
    assert sources == [("csv:embase", "10.5555/litmon.6002"), ("pubmed", "10.5555/litmon.6002")]


def test_an_until_after_today_never_moves_the_checkpoint_past_today(eutils, db, client):
    eutils.add_xml(article_set([article(8000, days_ago(1))]))

    [report] = crawl_pubmed(db, client, [TOPIC], until=TODAY + timedelta(days=10), today=TODAY)

    assert report.status == "ok", report.error
    assert report.window == (days_ago(30), TODAY)
    assert runs.get_checkpoint(db, "pubmed", TOPIC.name, "edat") == TODAY
    [search] = endpoint_calls(eutils, "esearch")
    assert f'"{TODAY:%Y/%m/%d}"[edat]' in search.params["term"]


def test_a_refresh_day_with_more_revisions_than_esearch_lists_is_walked_by_entrez_date(
    eutils, db, client
):
    eutils.add_xml(article_set([article(5000, days_ago(3), title=TYPO_TITLE)]))
    crawl_pubmed(db, client, [TOPIC], today=TODAY)
    revised_on = TODAY + timedelta(days=8)
    # a mass revision: 10,000 records from 2020 modified on one day, besides the stored one
    eutils.add_synthetic(10_000, date(2020, 1, 1), date(2020, 12, 31), revised=revised_on)
    eutils.add_xml(article_set([article(5000, days_ago(3), revised=revised_on, title=FIXED_TITLE)]))

    [report] = crawl_pubmed(db, client, [TOPIC], today=revised_on)

    assert report.status == "ok", report.error
    assert (report.counts.updated, report.warnings) == (1, [])
    assert db.execute("SELECT title FROM works").fetchall() == [(FIXED_TITLE,)]
    assert runs.get_checkpoint(db, "pubmed", TOPIC.name, "mdat") == revised_on


def test_revisions_esearch_cannot_list_even_by_entrez_date_are_a_warning_not_a_block(
    eutils, db, client
):
    eutils.add_xml(article_set([article(5000, days_ago(3))]))
    crawl_pubmed(db, client, [TOPIC], today=TODAY)
    revised_on = TODAY + timedelta(days=8)
    eutils.add_synthetic(10_000, date(2020, 6, 1), date(2020, 6, 1), revised=revised_on)

    [report] = crawl_pubmed(db, client, [TOPIC], today=revised_on)

    assert report.status == "ok", report.error
    [warning] = report.warnings
    assert f"10000 records modified on {revised_on} with Entrez date 2020-06-01" in warning
    assert runs.get_checkpoint(db, "pubmed", TOPIC.name, "mdat") == revised_on
    [row, _] = runs.recent_runs(db)
    assert row["status"] == "ok" and "not refreshed" in row["warnings"][0]
