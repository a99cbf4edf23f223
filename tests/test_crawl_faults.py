"""Faults from E-utilities: retried politely, or recorded as a failed run that a rerun
finishes, never losing committed work and never storing a work twice."""

import socket
from datetime import timedelta

import pytest
from conftest import TODAY, TOPIC, ClientLog, make_client, sent_times
from pubmed_builder import article, article_set

from litmon.core.ratelimit import RateLimiter
from litmon.crawler.entrez import EntrezClient
from litmon.crawler.settings import NcbiSettings, Topic
from litmon.db import runs
from litmon.pipeline.pubmed import crawl_pubmed
from litmon.replay.server import Fault

FAULTS = {
    "429": ("HTTP 429", Fault("429")),
    "500": ("HTTP 500", Fault("500")),
    "503": ("HTTP 503", Fault("503")),
    "timeout": ("network error", Fault("timeout", delay=2.0)),
    "reset": ("network error", Fault("reset")),
    "truncate": ("cut off", Fault("truncate")),
    "html": ("HTML", Fault("html")),
    "short": ("PMIDs missing from the answer", Fault("short")),
}
SEARCH_FAULTS = {
    "short": ("esearch listed 6 of 12 ids", Fault("short")),
    "backend": ("Search Backend failed", Fault("backend")),
    "backend-error": ("Search Backend failed", Fault("backend-error")),
}


@pytest.fixture
def corpus(eutils):
    eutils.add_xml(article_set([article(7000 + n, TODAY - timedelta(days=n)) for n in range(12)]))
    return eutils


def spans(arrivals: list[float], n: int) -> list[float]:
    """Seconds between each request and the n-th after it: under 1.0 means n+1 in a second."""
    return [later - first for first, later in zip(arrivals, arrivals[n:], strict=False)]


def work_count(db) -> tuple[int, int]:
    return db.execute("SELECT count(*), count(DISTINCT pmid) FROM works").fetchone()


@pytest.mark.parametrize("kind", FAULTS)
def test_a_passing_fault_is_retried_and_the_crawl_completes(corpus, db, kind):
    client = make_client(corpus, batch_size=5, timeout=0.5)
    corpus.inject(FAULTS[kind][1], FAULTS[kind][1], endpoint="efetch")

    [report] = crawl_pubmed(db, client, [TOPIC], today=TODAY)

    assert report.status == "ok", report.error
    assert work_count(db) == (12, 12)
    assert report.counts.requests == 1 + 3 + 2  # esearch, 3 batches, 2 retried attempts


@pytest.mark.parametrize("kind", FAULTS)
def test_a_lasting_fault_fails_the_run_with_its_reason_and_a_rerun_finishes(corpus, db, kind):
    client = make_client(corpus, batch_size=5, timeout=0.5, max_retries=2)
    reason, fault = FAULTS[kind]
    # the first batch commits; the second fails on every attempt
    corpus.inject(*[fault] * 3, endpoint="efetch", after=1)

    [failed] = crawl_pubmed(db, client, [TOPIC], today=TODAY)

    assert failed.status == "partial"
    assert reason in failed.error and "gave up after 3 attempts" in failed.error
    assert work_count(db) == (5, 5)  # the committed batch stays
    assert runs.get_checkpoint(db, "pubmed", TOPIC.name, "edat") is None
    [row] = runs.recent_runs(db)
    assert row["status"] == "partial" and reason in row["error"]

    [rerun] = crawl_pubmed(db, client, [TOPIC], today=TODAY)

    assert rerun.status == "ok"
    assert (rerun.counts.new, rerun.counts.unchanged) == (7, 5)
    assert work_count(db) == (12, 12)
    assert runs.get_checkpoint(db, "pubmed", TOPIC.name, "edat") == TODAY


def test_a_lasting_short_efetch_names_the_missing_pmids(corpus, db):
    client = make_client(corpus, batch_size=5, max_retries=2)
    corpus.inject(*[Fault("short")] * 3, endpoint="efetch", after=1)

    [failed] = crawl_pubmed(db, client, [TOPIC], today=TODAY)

    # the second batch is 7005..7009, newest first; the fault leaves out its last record
    assert "1 of 5 PMIDs missing from the answer: 7009" in failed.error
    [row] = runs.recent_runs(db)
    assert "7009" in row["error"]


@pytest.mark.parametrize("kind", SEARCH_FAULTS)
def test_an_incomplete_search_is_retried_and_the_crawl_completes(corpus, db, kind):
    client = make_client(corpus, batch_size=5)
    corpus.inject(SEARCH_FAULTS[kind][1], SEARCH_FAULTS[kind][1], endpoint="esearch")

    [report] = crawl_pubmed(db, client, [TOPIC], today=TODAY)

    assert report.status == "ok", report.error
    assert work_count(db) == (12, 12)
    assert report.counts.requests == 3 + 3  # esearch twice retried, 3 batches


@pytest.mark.parametrize("kind", SEARCH_FAULTS)
def test_a_search_that_stays_incomplete_fails_and_holds_the_checkpoint(corpus, db, kind):
    client = make_client(corpus, batch_size=5, max_retries=2)
    reason, fault = SEARCH_FAULTS[kind]
    corpus.inject(fault, fault, fault, endpoint="esearch")

    [failed] = crawl_pubmed(db, client, [TOPIC], today=TODAY)

    assert failed.status == "failed"
    assert reason in failed.error and "gave up after 3 attempts" in failed.error
    assert work_count(db) == (0, 0)
    assert runs.get_checkpoint(db, "pubmed", TOPIC.name, "edat") is None


def test_an_article_without_a_pmid_is_a_warning_not_a_retried_batch(corpus, db):
    client = make_client(corpus, batch_size=5)
    corpus.inject(Fault("no-pmid"), endpoint="efetch")

    [report] = crawl_pubmed(db, client, [TOPIC], today=TODAY)

    assert report.status == "ok", report.error
    assert report.counts.requests == 1 + 3  # nothing asked twice
    assert work_count(db) == (11, 11)
    assert len(report.warnings) == 2
    assert "without a PMID at line" in report.warnings[0]
    assert "PMID 7004 came back without a readable record" in report.warnings[1]
    [row] = runs.recent_runs(db)
    assert row["status"] == "ok" and "7004" in row["warnings"][1]


def test_a_search_that_keeps_failing_is_a_failed_run_with_nothing_stored(corpus, db):
    client = make_client(corpus, max_retries=1)
    corpus.inject(Fault("500"), Fault("500"), endpoint="esearch")
    [report] = crawl_pubmed(db, client, [TOPIC], today=TODAY)
    assert report.status == "failed"
    assert "esearch.fcgi" in report.error
    assert work_count(db) == (0, 0)


def test_retry_after_is_honoured(corpus, db):
    client = make_client(corpus, batch_size=20)
    corpus.inject(Fault("429", retry_after="1"), endpoint="efetch")

    crawl_pubmed(db, client, [TOPIC], today=TODAY)

    first, retry = sent_times(client, "efetch")
    assert retry - first >= 1.0


def test_retry_after_zero_still_waits_the_normal_backoff(corpus, db):
    settings = NcbiSettings(eutils_url=corpus.url, api_key="test-key", batch_size=20)
    limiter = RateLimiter(settings.requests_per_second)
    client = EntrezClient(settings, session=ClientLog(), limiter=limiter, backoff=0.6)
    corpus.inject(Fault("429", retry_after="0"), endpoint="efetch")

    [report] = crawl_pubmed(db, client, [TOPIC], today=TODAY)

    assert report.status == "ok", report.error
    first, retry = sent_times(client, "efetch")
    assert retry - first >= 0.6 * 0.5  # the first backoff, at its lowest jitter


def test_a_keyed_and_a_keyless_client_share_the_lower_limit(corpus):
    shared = {"open": 0, "most_open": 0}
    keyed = EntrezClient(
        NcbiSettings(eutils_url=corpus.url, api_key="test-key"), session=ClientLog(shared)
    )
    keyless = EntrezClient(NcbiSettings(eutils_url=corpus.url), session=ClientLog(shared))

    for _ in range(4):
        keyed.esearch("qsm", usehistory=False)
        keyless.esearch("qsm", usehistory=False)

    arrivals = sorted(sent_times(keyed) + sent_times(keyless))
    assert len(arrivals) == 8
    assert min(spans(arrivals, 3)) >= 1.0


def test_without_an_api_key_no_second_sees_more_than_three_requests(corpus, db):
    client = make_client(corpus, api_key="", batch_size=2)

    crawl_pubmed(db, client, [TOPIC], today=TODAY)

    arrivals = sent_times(client)
    assert len(arrivals) == 7
    assert min(spans(arrivals, 3)) >= 1.0


def test_with_an_api_key_no_second_sees_more_than_ten_requests(corpus, db):
    client = make_client(corpus, batch_size=1)

    crawl_pubmed(db, client, [TOPIC], today=TODAY)

    arrivals = sent_times(client)
    assert len(arrivals) == 13
    assert min(spans(arrivals, 10)) >= 1.0
    assert min(spans(arrivals, 3)) < 1.0  # and it does use the higher limit


def test_the_api_key_never_reaches_logs_or_the_crawl_log(corpus, db, caplog):
    client = make_client(corpus, api_key="SECRET-KEY-123", max_retries=1, timeout=0.5)
    corpus.inject(Fault("reset"), Fault("timeout", delay=2.0), endpoint="efetch")
    caplog.set_level("DEBUG")

    [report] = crawl_pubmed(db, client, [TOPIC], today=TODAY)

    assert report.status == "failed"
    assert all(r.params["api_key"] == "SECRET-KEY-123" for r in corpus.requests)  # it is sent
    stored = " ".join(str(value) for row in runs.recent_runs(db) for value in row.values())
    assert "SECRET-KEY-123" not in caplog.text + stored + str(client.settings)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


def test_a_dead_host_is_named_with_its_cause_and_later_topics_fail_at_once(db):
    dead = f"http://127.0.0.1:{_closed_port()}/eutils/"
    settings = NcbiSettings(eutils_url=dead, api_key="test-key", max_retries=2, timeout=1.0)
    client = EntrezClient(settings, session=ClientLog(), limiter=RateLimiter(10), backoff=0.01)
    other = Topic(name="ms_broad", query='"multiple sclerosis"[tiab]')

    first, second = crawl_pubmed(db, client, [TOPIC, other], today=TODAY)

    host = dead.split("/")[2]
    assert first.status == second.status == "failed"
    assert f"network error: {host}: connection refused" in first.error
    assert "gave up after 3 attempts" in first.error
    assert f"not tried: gave up earlier in this job: network error: {host}" in second.error
    assert len(client.session.sent) == 3  # the second topic sent nothing


def test_a_host_that_answers_again_is_not_given_up_on(corpus, db):
    """Its near twin: a network error that passes keeps the client trying later topics."""
    client = make_client(corpus, timeout=0.5, max_retries=2)
    corpus.inject(Fault("reset"), endpoint="esearch")
    other = Topic(name="ms_broad", query='"multiple sclerosis"[tiab]')

    reports = crawl_pubmed(db, client, [TOPIC, other], today=TODAY)

    assert [r.status for r in reports] == ["ok", "ok"]
