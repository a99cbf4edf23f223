"""The fake E-utilities server, seen from a plain ``requests`` client over loopback."""

from __future__ import annotations

import gzip
import io
import threading
import time
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
import requests
from Bio import Entrez

from litmon.replay.server import DEMO_FILE, EutilsServer, Fault, serve_demo, shift_dates

DAY = date(2026, 3, 1)


@pytest.fixture
def server():
    # 40 synthetic records, one per day from DAY - 39 to DAY; PMIDs 30000000..30000039
    with EutilsServer() as srv:
        srv.add_synthetic(40, DAY - timedelta(days=39), DAY)
        yield srv


def esearch(srv: EutilsServer, method: str = "GET", **params: str) -> requests.Response:
    params = {"db": "pubmed", "term": "multiple sclerosis", **params}
    if method == "POST":
        return requests.post(srv.url + "esearch.fcgi", data=params, timeout=5)
    return requests.get(srv.url + "esearch.fcgi", params=params, timeout=5)


def efetch(srv: EutilsServer, **params: str) -> requests.Response:
    data = {"db": "pubmed", "retmode": "xml", **params}
    return requests.post(srv.url + "efetch.fcgi", data=data, timeout=5)


def search_result(response: requests.Response) -> dict:
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml; charset=UTF-8"
    return Entrez.read(io.BytesIO(response.content))


def fetched_pmids(response: requests.Response) -> list[str]:
    root = ET.fromstring(response.content)
    assert root.tag == "PubmedArticleSet"
    return [a.findtext("MedlineCitation/PMID") for a in root.iter("PubmedArticle")]


def test_esearch_filters_by_date_and_lists_newest_first(server):
    result = search_result(
        esearch(server, datetype="edat", mindate="2026/02/20", maxdate="2026/02/25")
    )
    assert result["Count"] == "6"
    assert result["IdList"] == [str(30000000 + i) for i in (35, 34, 33, 32, 31, 30)]
    assert "2026/02/20:2026/02/25[edat]" in result["QueryTranslation"]


def test_esearch_month_and_year_bounds_cover_whole_periods(server):
    february = search_result(esearch(server, datetype="crdt", mindate="2026/02", maxdate="2026/02"))
    assert february["Count"] == "28"
    january = esearch(server, datetype="pdat", mindate="2026/01", maxdate="2026/01")
    assert search_result(january)["Count"] == "11"  # Jan 21..31
    whole_year = esearch(server, datetype="pdat", mindate="2026", maxdate="2026")
    assert search_result(whole_year)["Count"] == "40"


def test_esearch_term_date_ranges_are_alternatives_and_anded_with_mindate(server):
    term = (
        'ms AND (("2026/01/21"[edat] : "2026/01/22"[edat]) OR '
        '("2026/02/28"[crdt] : "2026/03/01"[crdt]))'
    )
    assert search_result(esearch(server, term=term))["Count"] == "4"
    narrowed = esearch(server, term=term, datetype="edat", mindate="2026/02", maxdate="2026/03")
    assert search_result(narrowed)["Count"] == "2"


def count(srv: EutilsServer, term: str) -> int:
    return int(search_result(esearch(srv, term=term))["Count"])


def test_esearch_evaluates_and_or_not_and_parentheses_over_date_clauses(server):
    early_feb = '"2026/02/01"[edat] : "2026/02/10"[edat]'
    assert count(server, f'{early_feb} AND "2026/02/05"[crdt] : "2026/02/20"[crdt]') == 6
    assert count(server, f'({early_feb}) NOT "2026/02/03"[edat]') == 9
    assert count(server, f"ms[tiab] AND (({early_feb}) OR 2026/02/25:2026/02/26[crdt])") == 12
    # left to right, as PubMed: (A OR B) AND C, not A OR (B AND C)
    either_end = "2026/01/21:2026/01/22[edat] OR 2026/02/28:2026/03/01[crdt]"
    assert count(server, f"{either_end} AND 2026/03[pdat]") == 1
    assert count(server, f"{either_end} NOT 2026/03[pdat]") == 3
    assert count(server, "(30000003[pmid] OR 30000030[pmid]) AND 2026/02[edat]") == 1


def test_esearch_clauses_it_cannot_evaluate_never_narrow_a_search(server):
    assert count(server, '"multiple sclerosis"[tiab] AND 2026/02[edat]') == 28
    assert count(server, "2026/02[edat] NOT review[pt]") == 28
    assert count(server, "2026/02[edat] OR review[pt]") == 40


def test_esearch_with_unbalanced_parentheses_is_an_error(server):
    with pytest.raises(RuntimeError, match="Unbalanced parentheses"):
        search_result(esearch(server, term="(2026/02[edat] OR 2026/01[edat]"))


def test_esearch_understands_pmid_and_doi_terms(server):
    term = "30000003[pmid] OR 10.5555/synthetic.30000007[doi]"
    assert search_result(esearch(server, term=term))["IdList"] == ["30000007", "30000003"]


def test_esearch_default_retmax_and_paging(server):
    first = search_result(esearch(server))
    assert (first["Count"], first["RetMax"], len(first["IdList"])) == ("40", "20", 20)
    rest = search_result(esearch(server, retstart="20", retmax="100"))
    assert rest["IdList"][-1] == "30000000"
    assert set(first["IdList"]).isdisjoint(rest["IdList"])


def test_esearch_post_works_like_get(server):
    params = {"datetype": "edat", "mindate": "2026/02/27", "maxdate": "2026/03/01"}
    assert search_result(esearch(server, "POST", **params))["Count"] == "3"


def test_errors_for_missing_db_and_lone_mindate(server):
    no_db = requests.get(server.url + "esearch.fcgi", params={"term": "x"}, timeout=5)
    with pytest.raises(RuntimeError, match="db"):
        search_result(no_db)
    with pytest.raises(RuntimeError, match="mindate and maxdate"):
        search_result(esearch(server, datetype="edat", mindate="2026"))


def test_efetch_by_posted_ids_keeps_order_and_skips_unknown(server):
    response = efetch(server, id="30000005,99999999,30000001")
    assert response.headers["Content-Type"] == "text/xml; charset=UTF-8"
    assert response.content.startswith(b'<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet')
    assert fetched_pmids(response) == ["30000005", "30000001"]


def test_efetch_pages_through_the_history_server(server):
    result = search_result(esearch(server, usehistory="y", retmax="0"))
    assert result["WebEnv"].startswith("MCID_") and result["QueryKey"] == "1"
    pages = [
        fetched_pmids(
            efetch(server, WebEnv=result["WebEnv"], query_key="1", retstart=str(s), retmax="15")
        )
        for s in (0, 15, 30)
    ]
    assert [len(p) for p in pages] == [15, 15, 10]
    assert pages[0][0] == "30000039" and pages[2][-1] == "30000000"


def test_second_search_on_a_webenv_gets_the_next_query_key(server):
    first = search_result(esearch(server, usehistory="y", term="30000001[uid]"))
    second = search_result(
        esearch(server, usehistory="y", term="30000002[uid]", WebEnv=first["WebEnv"])
    )
    assert (second["WebEnv"], second["QueryKey"]) == (first["WebEnv"], "2")
    response = efetch(server, WebEnv=first["WebEnv"], query_key="1")
    assert fetched_pmids(response) == ["30000001"]


def test_efetch_with_unknown_webenv_is_an_error(server):
    response = efetch(server, WebEnv="MCID_nope", query_key="1")
    assert response.status_code == 400
    assert b"<ERROR>Cannot retrieve history data" in response.content


def test_pubmed_serves_only_the_first_9999_ids():
    with EutilsServer() as srv:
        srv.add_synthetic(10_050, date(2025, 1, 1), date(2025, 12, 31))
        clamped = search_result(esearch(srv, retstart="9990", retmax="100", usehistory="y"))
        assert clamped["Count"] == "10050"
        assert len(clamped["IdList"]) == 9
        assert "adjusted to 9990, 9" in clamped["WarningList"]["OutputMessage"][0]
        with pytest.raises(RuntimeError, match="cannot be larger than 9998"):
            search_result(esearch(srv, retstart="9999", retmax="10"))
        history = {"WebEnv": clamped["WebEnv"], "query_key": "1"}
        assert len(fetched_pmids(efetch(srv, retstart="9990", retmax="100", **history))) == 9
        refused = efetch(srv, retstart="10000", retmax="100", **history)
        assert refused.status_code == 400 and b"cannot be larger than 9998" in refused.content


def test_requests_are_logged_in_order_with_merged_params(server):
    esearch(server)
    requests.post(server.url + "efetch.fcgi?db=pubmed", data={"id": "30000001"}, timeout=5)
    first, second = server.requests
    assert (first.endpoint, first.method) == ("esearch", "GET")
    assert (second.endpoint, second.method) == ("efetch", "POST")
    assert second.params == {"db": "pubmed", "id": "30000001"}
    assert first.at <= second.at <= time.monotonic()


def test_unknown_fault_kind_is_refused():
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("404")


def test_fault_429_then_recovery(server):
    server.inject(Fault("429", retry_after="2"), endpoint="esearch")
    limited = esearch(server, api_key="KEY")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "2"
    assert limited.json()["error"] == "API rate limit exceeded"
    assert limited.json()["limit"] == "10"
    assert search_result(esearch(server))["Count"] == "40"


@pytest.mark.parametrize("kind", ["500", "503"])
def test_fault_server_errors_are_html(server, kind):
    server.inject(Fault(kind))
    response = efetch(server, id="30000001")
    assert response.status_code == int(kind)
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Retry-After" not in response.headers


def test_fault_html_page_with_status_200(server):
    server.inject(Fault("html"))
    response = efetch(server, id="30000001")
    assert response.status_code == 200
    assert response.text.lstrip().lower().startswith("<!doctype html")


def test_fault_timeout_stalls_past_the_client_timeout(server):
    server.inject(Fault("timeout", delay=1.0))
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(
            server.url + "efetch.fcgi",
            data={"db": "pubmed", "id": "1", "retmode": "xml"},
            timeout=0.2,
        )


def test_fault_reset_closes_the_connection(server):
    server.inject(Fault("reset"))
    with pytest.raises(requests.exceptions.ConnectionError):
        efetch(server, id="30000001")
    assert fetched_pmids(efetch(server, id="30000001")) == ["30000001"]


def test_fault_truncate_drops_the_connection_inside_a_record(server):
    server.inject(Fault("truncate"))
    data = {"db": "pubmed", "retmode": "xml", "id": "30000001,30000002,30000003"}
    response = requests.post(server.url + "efetch.fcgi", data=data, stream=True, timeout=5)
    assert response.status_code == 200
    received = b""
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        for chunk in response.iter_content(1024):
            received += chunk
    assert received.count(b"<PubmedArticle>") == 2 and b"</PubmedArticleSet>" not in received
    assert fetched_pmids(efetch(server, id="30000001")) == ["30000001"]


def test_fault_short_lists_half_the_ids_and_fetches_one_record_less(server):
    server.inject(Fault("short"), endpoint="esearch")
    short = search_result(esearch(server))
    assert (short["Count"], len(short["IdList"])) == ("40", 10)
    server.inject(Fault("short"))
    assert fetched_pmids(efetch(server, id="30000001,30000002,30000003")) == [
        "30000001",
        "30000002",
    ]


def test_fault_backend_answers_with_a_warning_and_no_ids(server):
    server.inject(Fault("backend"), endpoint="esearch")
    result = search_result(esearch(server))
    assert (result["Count"], result["IdList"]) == ("0", [])
    assert result["WarningList"]["OutputMessage"][0].startswith("Search Backend failed")


def test_fault_backend_error_is_an_esearch_error(server):
    server.inject(Fault("backend-error"), endpoint="esearch")
    with pytest.raises(RuntimeError, match="Search Backend failed: Database is not supported"):
        search_result(esearch(server))


def test_fault_no_pmid_drops_the_last_records_pmid(server):
    server.inject(Fault("no-pmid"))
    root = ET.fromstring(efetch(server, id="30000001,30000002").content)
    assert [a.findtext("MedlineCitation/PMID") for a in root.iter("PubmedArticle")] == [
        "30000001",
        None,
    ]


def test_a_fault_for_the_other_endpoint_is_refused(server):
    with pytest.raises(ValueError, match="is for efetch"):
        server.inject(Fault("no-pmid"), endpoint="esearch")


def test_faults_are_consumed_in_order_per_endpoint(server):
    server.inject(Fault("500"), Fault("503"), after=1)
    assert search_result(esearch(server))["Count"] == "40"  # esearch untouched
    statuses = [efetch(server, id="30000001").status_code for _ in range(4)]
    assert statuses == [200, 500, 503, 200]


def test_set_delay_slows_every_response(server):
    server.set_delay(0.3)
    esearch(server)
    esearch(server)  # sent once the first answer came
    first, second = server.requests
    assert second.at - first.at >= 0.3


def test_a_long_delay_holds_requests_until_a_shorter_one_lets_them_go(server):
    server.set_delay(600)
    answered = []
    waiting = threading.Thread(target=lambda: answered.append(esearch(server).status_code))
    waiting.start()
    while not server.requests:  # it arrived and is held
        time.sleep(0.01)
    assert waiting.is_alive() and answered == []
    server.set_delay(0)
    waiting.join(timeout=30)
    assert answered == [200]


def test_shift_dates_moves_full_and_month_dates_and_keeps_format():
    xml = (
        b"<DateRevised><Year>2026</Year><Month>11</Month><Day>25</Day></DateRevised>"
        b"<PubDate><Year>2026</Year><Month>Nov</Month></PubDate>"
        b'<PubMedPubDate PubStatus="entrez"><Year>2026</Year><Month>12</Month><Day>31</Day>'
        b"<PubDate><Year>2026</Year></PubDate>"
    )
    assert shift_dates(xml, 7) == (
        b"<DateRevised><Year>2026</Year><Month>12</Month><Day>02</Day></DateRevised>"
        b"<PubDate><Year>2026</Year><Month>Nov</Month></PubDate>"
        b'<PubMedPubDate PubStatus="entrez"><Year>2027</Year><Month>1</Month><Day>7</Day>'
        b"<PubDate><Year>2026</Year></PubDate>"
    )


@pytest.mark.parametrize("today", [date(2026, 11, 25), date(2031, 2, 14)])
def test_demo_finds_the_same_records_whatever_the_day(today):
    start = today - timedelta(days=30)

    def span(tag: str) -> str:
        return f'"{start:%Y/%m/%d}"[{tag}] : "{today:%Y/%m/%d}"[{tag}]'

    term = f"(multiple sclerosis) AND (({span('edat')}) OR ({span('crdt')}))"
    srv = serve_demo(today=today)
    try:
        result = search_result(esearch(srv, term=term, retmax="200"))
        everything = search_result(esearch(srv, retmax="200"))
    finally:
        srv.stop()
    assert result["Count"] == "25"  # README: 24 by EDAT + 1 backdated caught by CRDT
    assert everything["Count"] == "57"


def test_demo_file_is_small_and_real_shaped():
    assert len(DEMO_FILE.read_bytes()) < 300_000
    parsed = Entrez.read(io.BytesIO(gzip.decompress(DEMO_FILE.read_bytes())), validate=True)
    assert len(parsed["PubmedArticle"]) == 57
