"""crawler.reference_lists: records' reference lists and history dates are cut before
parsing, nothing else is.

Built on tests/fixtures/pubmed/qsm_rim_lesions.xml, a record whose 25-line ReferenceList
(lines 169-193) holds references with their own PMIDs, DOIs and PMCIDs.
"""

import io
from pathlib import Path

import pytest
from lxml import etree
from pubmed_builder import DOCTYPE
from streams import Unseekable

from litmon.crawler.pubmed_xml import PubMedXMLError, _record, iter_records
from litmon.crawler.reference_lists import WithoutUnreadParts

FIXTURES = Path(__file__).parent / "fixtures" / "pubmed"
SOURCE = (FIXTURES / "qsm_rim_lesions.xml").read_bytes()
REFERENCE_PMID = b"31400001"


def filtered(data: bytes, limit: int | None = None, size: int = 4096) -> bytes:
    stream = WithoutUnreadParts(Unseekable(data, limit) if limit else io.BytesIO(data))
    parts = []
    while chunk := stream.read(size):
        parts.append(chunk)
    return b"".join(parts)


def article_set(*bodies: bytes) -> bytes:
    return (
        DOCTYPE.encode() + b"<PubmedArticleSet>\n" + b"\n".join(bodies) + b"\n</PubmedArticleSet>\n"
    )


def without(data: bytes, name: bytes) -> bytes:
    """``data`` with its first ``name`` element replaced by the newlines it held."""
    start, end = data.index(b"<" + name + b">"), data.index(b"</" + name + b">") + len(name) + 3
    return data[:start] + b"\n" * data.count(b"\n", start, end) + data[end:]


def body(pmid: bytes = b"39012345") -> bytes:
    start, end = SOURCE.index(b"<PubmedArticle>"), SOURCE.index(b"</PubmedArticle>") + 16
    return SOURCE[start:end].replace(b"39012345", pmid)


@pytest.mark.parametrize("limit", [None, 1, 7, 4096])
def test_reference_list_and_history_become_their_newlines_and_the_rest_is_unchanged(limit):
    out = filtered(SOURCE, limit)
    assert b"ReferenceList" not in out.split(b"-->", 1)[1]
    assert b"PubMedPubDate" not in out
    assert REFERENCE_PMID not in out
    assert out.count(b"\n") == SOURCE.count(b"\n")
    assert out == without(without(SOURCE, b"History"), b"ReferenceList")


def test_records_are_those_of_the_whole_tree():
    data = article_set(body(b"39000001"), body(b"39000002"))
    whole = etree.fromstring(data, etree.XMLParser(load_dtd=False, no_network=True))
    expected = [_record(element) for element in whole.iter("PubmedArticle")]
    assert [r.pmid for r in expected] == ["39000001", "39000002"]
    assert list(iter_records(io.BytesIO(data))) == expected


def test_nested_lists_go_whole():
    nested = body().replace(
        b"</ReferenceList>",
        b"<ReferenceList><Title>Data sources</Title><Reference><Citation>x</Citation>"
        b"</Reference></ReferenceList></ReferenceList>",
    )
    out = filtered(article_set(nested))
    assert b"ReferenceList" not in out and b"Data sources" not in out
    (record,) = iter_records(io.BytesIO(article_set(nested)))
    assert record.pmid == "39012345"


def test_other_spellings_are_left_to_the_parser():
    odd = body().replace(b"</ReferenceList>", b"</ReferenceList >")
    data = article_set(odd, body(b"39000002"))
    out = filtered(data)
    assert REFERENCE_PMID in out
    assert [r.pmid for r in iter_records(io.BytesIO(data))] == ["39012345", "39000002"]


def test_a_cut_never_spans_two_records():
    # The first list never closes in the exact spelling and the second never opens in it:
    # counting exact tags alone would pair them and swallow the end of one record and the
    # start of the next.
    first = body(b"39000001").replace(b"</ReferenceList>", b"</ReferenceList >")
    second = body(b"39000002").replace(b"<ReferenceList>", b'<ReferenceList Type="x">')
    data = article_set(first, second)
    assert filtered(data) == without(without(data, b"History"), b"History")
    assert [r.pmid for r in iter_records(io.BytesIO(data))] == ["39000001", "39000002"]


def test_download_cut_inside_a_list_fails_at_its_real_line():
    data = article_set(body(b"39000001"), body(b"39000002"))
    cut = data.rindex(REFERENCE_PMID)
    line = data.count(b"\n", 0, cut) + 1
    seen = []
    with pytest.raises(PubMedXMLError, match=rf"malformed PubMed XML at line {line}\b"):
        for record in iter_records(io.BytesIO(data[:cut])):
            seen.append(record.pmid)
    assert seen == ["39000001"]


def test_errors_after_a_cut_list_keep_their_line_numbers():
    broken = body(b"39000002").replace(b"<ArticleTitle>", b"<ArticleTitle><b>", 1)
    data = article_set(body(b"39000001"), broken)
    line = data.count(b"\n", 0, data.index(b"</ArticleTitle>", data.index(b"39000002"))) + 1
    with pytest.raises(PubMedXMLError, match=rf"at line {line}\b"):
        list(iter_records(io.BytesIO(data)))


def test_reading_everything_at_once():
    assert WithoutUnreadParts(io.BytesIO(SOURCE)).read() == filtered(SOURCE)


def test_a_record_longer_than_the_hold_limit_still_reads_whole():
    # 20 MB of abstract before the first PubMed end tag: the filter stops holding bytes back
    # and passes them on as they are; the record and its list still come out right.
    sections = b"<AbstractText>" + b" iron" * 200_000 + b"</AbstractText>"
    huge = body().replace(b"</Abstract>", sections * 20 + b"</Abstract>", 1)
    (record,) = iter_records(io.BytesIO(article_set(huge)))
    assert record.pmid == "39012345"
    assert record.abstract.count("\n\n") == 20
