"""crawler.pubmed_xml: fields, faults, compression and streaming, on real-shape PubMed XML.

The fixtures and what each one expects are listed in tests/fixtures/pubmed/README.md.
"""

import gzip
import http.server
import io
import itertools
import re
import threading
import tracemalloc
from pathlib import Path

import pytest
from streams import Unseekable

from litmon.core.records import Deletion, Link, Record, Skipped
from litmon.crawler.pubmed_xml import PubMedXMLError, iter_items, iter_records

FIXTURES = Path(__file__).parent / "fixtures" / "pubmed"
DOCTYPE = (
    '<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, '
    '1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
)


def records(name):
    return list(iter_records(FIXTURES / name))


def by_pmid(name):
    return {record.pmid: record for record in records(name)}


def one_record_body(name="qsm_rim_lesions.xml"):
    """The first PubmedArticle element of a fixture, as text."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return text[text.index("<PubmedArticle>") : text.index("</PubmedArticle>") + 16]


def test_plain_article_fields():
    (record,) = records("qsm_rim_lesions.xml")
    assert record.source == "pubmed"
    assert record.source_id == record.pmid == "39012345"
    assert record.doi == "10.1177/13524585241234567"
    assert record.pmcid == "PMC11234567"
    assert record.title == (
        "Quantitative susceptibility mapping of paramagnetic rim lesions predicts disability"
        " progression in relapsing multiple sclerosis."
    )
    assert record.abstract.startswith("Paramagnetic rim lesions (PRLs) mark chronic active")
    assert record.abstract.endswith("than patients without PRLs.")
    assert "©" not in record.abstract
    assert record.authors == ["Lindqvist, Maja", "Okafor, Chidi E", "Müller, Jörg"]
    assert record.journal == "Multiple sclerosis (Houndmills, Basingstoke, England)"
    assert record.journal_abbrev == "Mult Scler"
    assert record.issn == "1477-0970"
    assert (record.volume, record.issue, record.pages) == ("30", "9", "1123-1134")
    assert record.pub_date == "2024-08"
    assert record.publication_types == ["Journal Article", "Research Support, Non-U.S. Gov't"]
    assert record.mesh == [
        "Adult",
        "Multiple Sclerosis, Relapsing-Remitting",
        "Magnetic Resonance Imaging",
        "Risk Assessment",
    ]
    assert record.keywords == [
        "Multiple sclerosis",
        "paramagnetic rim lesions",
        "quantitative susceptibility mapping",
    ]
    assert record.language == "eng"
    assert record.revised == "2024-09-17"
    assert record.url == "https://pubmed.ncbi.nlm.nih.gov/39012345/"
    assert record.links == [
        Link(
            type="CommentIn",
            pmid="39020000",
            ref="Mult Scler. 2024 Aug;30(9):1101-1102. doi: 10.1177/13524585241240000.",
        )
    ]


def test_identifiers_never_come_from_references():
    (record,) = records("structured_markup.xml")
    # PubmedData has neither DOI nor PMCID; the only reference has both.
    assert record.doi == "10.1016/j.nicl.2024.103650"  # from ELocationID
    assert record.pmcid is None
    (plain,) = records("qsm_rim_lesions.xml")
    reference_ids = {"31400001", "10.5555/jnr.2019.0474", "PMC6600001"}
    assert not reference_ids & {plain.pmid, plain.doi, plain.pmcid}


def test_structured_abstract_and_inline_markup():
    (record,) = records("structured_markup.xml")
    assert record.title == "Iron rims at 7T: in vivo R2* and QSM of chronic active lesions."
    assert record.abstract.split("\n\n") == [
        "BACKGROUND: Chronic active lesions carry an iron rim.",
        "METHODS: We imaged 30 patients at 7 T and measured R2* in s-1 and χ in ppb.",
        "RESULTS: Rim lesions had higher susceptibility (p < 0.001).",
        "CONCLUSIONS: QSM detects rims.",
    ]
    assert "Copyright" not in record.abstract
    assert record.keywords == ["7 T", "R2*", "Susceptibility"]
    assert record.pub_date == "2024-09-05"


def test_author_forms_and_invalid_authors():
    (record,) = records("structured_markup.xml")
    assert record.authors == [
        "Ferreira, Ana Luísa",
        "Tanaka, H",
        "Nakamura-Smith",
        "7T MS Imaging Consortium",
    ]


@pytest.mark.parametrize(
    ("pmid", "pub_date"),
    [
        ("31000001", "1998-12"),  # MedlineDate "1998 Dec-1999 Jan"
        ("31000002", "2000"),  # MedlineDate "2000 Spring"
        ("31000003", "1999"),  # MedlineDate "1999-2000"
        ("31000004", "2001"),  # Year + Season
        ("31000005", "2024-12-03"),  # Year, month name, day
        ("31000006", "2023-11-30"),  # no year in PubDate: ArticleDate
    ],
)
def test_pub_date_forms(pmid, pub_date):
    assert by_pmid("medline_dates.xml")[pmid].pub_date == pub_date


def test_pages_revised_and_vernacular_title():
    found = by_pmid("medline_dates.xml")
    assert found["31000001"].pages == "45-52"
    assert found["31000002"].pages == "e123"
    assert found["31000001"].revised == "1999-02-10"  # DateCompleted, no DateRevised
    assert found["31000002"].revised == "2019-11-09"  # DateRevised wins
    assert found["31000004"].revised is None
    assert found["31000003"].title == "Läsionen der weißen Substanz im Verlauf."
    assert found["31000003"].language == "ger"


def test_book_chapter_and_whole_book():
    chapter, book = records("book_article.xml")
    assert chapter.pmid == chapter.source_id == "29083811"
    assert chapter.title == "Multiple Sclerosis Imaging"
    assert chapter.journal == "Clinical Neuroimaging®"
    assert chapter.authors == ["Quinn, Declan", "Haddad, Rania"]
    assert chapter.doi == "10.5555/exneuro.ms-imaging"
    assert chapter.abstract.startswith("Magnetic resonance imaging is central")
    assert "Copyright" not in chapter.abstract
    assert (chapter.pub_date, chapter.revised) == ("2024-01", "2024-02-26")
    assert chapter.publication_types == ["Study Guide"]
    assert book.pmid == "21250001"
    assert book.title == "Multiple Sclerosis: Current Status and Strategies for the Future"
    assert book.authors == ["Committee on Multiple Sclerosis"]
    assert (book.pub_date, book.doi, book.journal) == ("2001", None, None)


def test_retraction_links_both_ways():
    found = by_pmid("retraction.xml")
    notice, retracted = found["39100002"], found["35000001"]
    assert notice.publication_types == ["Retraction of Publication"]
    assert [(link.type, link.pmid) for link in notice.links] == [("RetractionOf", "35000001")]
    assert "Retracted Publication" in retracted.publication_types
    assert [(link.type, link.pmid) for link in retracted.links] == [("RetractionIn", "39100002")]
    assert retracted.links[0].ref.startswith("Mult Scler. 2024 Feb;30(2):250.")


def test_erratum_links_keep_every_ref_type():
    found = by_pmid("erratum.xml")
    assert [(link.type, link.pmid) for link in found["39200002"].links] == [
        ("ErratumFor", "36000001")
    ]
    assert [(link.type, link.pmid) for link in found["36000001"].links] == [
        ("ErratumIn", "39200002"),
        ("ErratumIn", None),
        ("UpdateIn", "39300003"),
    ]
    assert found["36000001"].links[1].ref == "Mult Scler. 2023 Apr;29(4):612."


def test_gzip_file_and_gzip_stream_equal_plain():
    plain = records("qsm_rim_lesions.xml")
    assert records("qsm_rim_lesions.xml.gz") == plain
    compressed = (FIXTURES / "qsm_rim_lesions.xml.gz").read_bytes()
    assert list(iter_records(io.BytesIO(compressed))) == plain


def test_short_reads_from_an_unseekable_stream():
    data = (FIXTURES / "medline_dates.xml").read_bytes()
    streamed = list(iter_records(Unseekable(data)))
    assert streamed == records("medline_dates.xml")


class _Server(http.server.ThreadingHTTPServer):
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.paths: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(handler):  # noqa: N802
                self.paths.append(handler.path)
                handler.send_response(200)
                handler.send_header("Content-Type", "text/xml")
                handler.send_header("Content-Length", str(len(self.body)))
                handler.end_headers()
                handler.wfile.write(self.body)

            def log_message(handler, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    def __enter__(self):
        threading.Thread(target=self.serve_forever, args=(0.01,), daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


def test_http_response_stream_gzip_body():
    import urllib.request

    body = (FIXTURES / "qsm_rim_lesions.xml.gz").read_bytes()
    with _Server(body) as server, urllib.request.urlopen(server.url + "/efetch") as response:
        streamed = list(iter_records(response))
    assert streamed == records("qsm_rim_lesions.xml")


def test_dtd_named_in_doctype_is_never_fetched():
    with _Server(b"<!ELEMENT PubmedArticleSet ANY>") as server:
        xml = (FIXTURES / "qsm_rim_lesions.xml").read_text(encoding="utf-8")
        xml = xml.replace(
            "https://dtd.nlm.nih.gov/ncbi/pubmed/out/", server.url + "/ncbi/pubmed/out/"
        )
        found = list(iter_records(io.BytesIO(xml.encode())))
        assert server.paths == []
    assert [record.pmid for record in found] == ["39012345"]


def test_delete_citations_are_skipped():
    assert [record.pmid for record in records("baseline_update.xml")] == ["9050001", "9050002"]


def test_items_of_an_update_file_include_its_deletions_in_order():
    items = list(iter_items(FIXTURES / "baseline_update.xml"))
    assert [type(item) for item in items] == [Record, Record, Deletion]
    assert items[2] == Deletion(source="pubmed", source_ids=("9040001", "9040002"))


def test_truncated_file_yields_complete_records_then_fails_with_line():
    seen = []
    with pytest.raises(PubMedXMLError, match=r"malformed PubMed XML at line 9\b"):
        for record in iter_records(FIXTURES / "truncated.xml"):
            seen.append(record.pmid)
    assert seen == ["9050001", "9050002"]


@pytest.mark.parametrize(
    "name", ["billion_laughs.xml", "xxe_file.xml", "file_dtd.xml", "ncbi_error.html"]
)
def test_hostile_or_wrong_fixtures_yield_nothing(name):
    seen = []
    with pytest.raises(PubMedXMLError):
        for record in iter_records(FIXTURES / name):
            seen.append(record)
    assert seen == []


def test_entity_declarations_are_refused():
    with pytest.raises(PubMedXMLError, match="declares entities"):
        records("billion_laughs.xml")
    with pytest.raises(PubMedXMLError, match="declares entities"):
        records("xxe_file.xml")


def test_external_parameter_entity_is_refused():
    xml = (
        '<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [\n'
        '<!ENTITY % remote SYSTEM "file:///etc/passwd">\n%remote;\n]>\n'
        + "<PubmedArticleSet>"
        + one_record_body()
        + "</PubmedArticleSet>"
    )
    with pytest.raises(PubMedXMLError, match="declares entities"):
        list(iter_records(io.BytesIO(xml.encode())))


def test_entity_declared_after_a_long_internal_subset_is_refused():
    padding = "<!-- " + "x" * 100_000 + " -->"
    xml = (
        f'<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [\n{padding}\n'
        '<!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'
        "<PubmedArticleSet>" + one_record_body().replace("</ArticleTitle>", "&xxe;</ArticleTitle>")
    ) + "</PubmedArticleSet>"
    with pytest.raises(PubMedXMLError):
        list(iter_records(io.BytesIO(xml.encode())))


def test_local_file_dtd_is_refused():
    with pytest.raises(PubMedXMLError, match="local file"):
        records("file_dtd.xml")


@pytest.mark.parametrize(
    ("page", "named"),
    [
        ((FIXTURES / "ncbi_error.html").read_bytes(), "an HTML page"),
        (
            b"<html><head><title>502 Bad Gateway</title></head><body>bad gateway</body></html>",
            "an HTML page titled '502 Bad Gateway'",
        ),
        (b"\n\n<!doctype html>\n<html><body><p>Error</p></body></html>", "an HTML page"),
    ],
)
def test_html_page_is_named(page, named):
    with pytest.raises(PubMedXMLError, match=f"^expected PubMed XML, got {named}"):
        list(iter_records(io.BytesIO(page)))


def test_other_xml_root_is_refused_by_name():
    xml = (
        b'<?xml version="1.0" encoding="UTF-8" ?>\n<eFetchResult>\n'
        b"<ERROR>Empty id list - nothing todo</ERROR>\n</eFetchResult>\n"
    )
    with pytest.raises(PubMedXMLError, match="got <eFetchResult>"):
        list(iter_records(io.BytesIO(xml)))


@pytest.mark.parametrize("data", [b"", b"   \n", b"not xml at all"])
def test_empty_or_non_xml_input(data):
    with pytest.raises(PubMedXMLError, match="^expected PubMed XML"):
        list(iter_records(io.BytesIO(data)))


def test_record_without_pmid_is_an_error_for_iter_records():
    body = re.sub(r'<PMID Version="1">39012345</PMID>', "", one_record_body())
    xml = DOCTYPE + "<PubmedArticleSet>\n" + body + "</PubmedArticleSet>\n"
    with pytest.raises(PubMedXMLError, match="without a PMID"):
        list(iter_records(io.BytesIO(xml.encode())))


def test_an_article_without_pmid_is_skipped_by_line_and_the_rest_is_read():
    body = one_record_body()
    no_pmid = re.sub(r'<PMID Version="1">39012345</PMID>', "", body)
    second = body.replace("39012345", "39012346")
    xml = DOCTYPE + "<PubmedArticleSet>\n" + no_pmid + "\n" + second + "\n</PubmedArticleSet>\n"

    skipped, record = iter_items(io.BytesIO(xml.encode()))

    assert skipped == Skipped("<PubmedArticle> without a PMID at line 4")
    assert isinstance(record, Record) and record.pmid == "39012346"


def test_empty_article_set_yields_nothing():
    xml = DOCTYPE + "<PubmedArticleSet></PubmedArticleSet>\n"
    assert list(iter_records(io.BytesIO(xml.encode()))) == []


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        (" QSM of rim lesions ", "QSM of rim lesions"),
        ("QSM  of\trim\r\nlesions", "QSM of rim lesions"),
        ("QSM\u00a0of \u2009rim lesions: \u03c7 maps", "QSM of rim lesions: \u03c7 maps"),
        ("Ferreira's caf\u00e9 study", "Ferreira's caf\u00e9 study"),
    ],
)
def test_titles_have_whitespace_runs_collapsed(raw, title):
    xml = DOCTYPE + "<PubmedArticleSet>" + one_record_body() + "</PubmedArticleSet>"
    start, end = xml.index("<ArticleTitle>") + 14, xml.index("</ArticleTitle>")
    (record,) = iter_records(io.BytesIO((xml[:start] + raw + xml[end:]).encode()))
    assert record.title == title


def _big_file(path: Path, count: int) -> Path:
    body = one_record_body("baseline_update.xml")
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as out:
        out.write(DOCTYPE + "<PubmedArticleSet>\n")
        for pmid in range(40_000_000, 40_000_000 + count):
            out.write(body.replace("9050001", str(pmid)))
        out.write("</PubmedArticleSet>\n")
    return path


def test_truncated_gzip_download_yields_records_before_the_cut(tmp_path):
    data = _big_file(tmp_path / "big.xml.gz", 2_000).read_bytes()
    seen = []
    with pytest.raises(PubMedXMLError, match="cannot read PubMed XML"):
        for record in iter_records(io.BytesIO(data[: len(data) // 2])):
            seen.append(int(record.pmid))
    assert 500 < len(seen) < 2_000
    assert seen == list(range(40_000_000, 40_000_000 + len(seen)))


def test_corrupt_gzip_is_a_pubmed_error():
    data = bytearray((FIXTURES / "qsm_rim_lesions.xml.gz").read_bytes())
    data[40:240] = bytes(200)
    with pytest.raises(PubMedXMLError, match="cannot read PubMed XML"):
        list(iter_records(io.BytesIO(bytes(data))))


def _rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096


def test_memory_stays_flat_over_5000_records(tmp_path):
    path = _big_file(tmp_path / "big.xml.gz", 5_000)
    xml_bytes = 5_000 * len(one_record_body("baseline_update.xml").encode())

    tracemalloc.start()
    held = list(itertools.islice(iter_records(path), 500))
    holding_500 = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del held

    rss_start = _rss_bytes()
    rss_growth = 0
    tracemalloc.start()
    count, last = 0, None
    for record in iter_records(path):
        count, last = count + 1, record.pmid
        if count % 1000 == 0:
            rss_growth = max(rss_growth, _rss_bytes() - rss_start)
    streaming = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert (count, last) == (5_000, "40004999")
    # Python objects: streaming 5,000 records costs less than holding 500 of them.
    assert streaming < holding_500 / 2
    # libxml2's tree (invisible to tracemalloc): a kept tree would take several times the XML.
    assert rss_growth < xml_bytes / 4
