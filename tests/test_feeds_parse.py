"""Feed documents into Records: identifiers, authors, text, and documents that are refused."""

import re
from pathlib import Path

import pytest
from feed_server import fixture

from litmon.core.errors import UsageError
from litmon.core.http_headers import parse_max_age, parse_retry_after
from litmon.feeds import FeedConfig, FeedConfigError, FeedError, load_feeds, parse_feed

SHIPPED = Path(__file__).resolve().parents[1] / "config" / "feeds.toml"


def parse(name: str, **config) -> list:
    feed = FeedConfig(name="test", url="https://example.org/feed", **config)
    return parse_feed(fixture(name), feed).records


def by_doi(records) -> dict:
    return {record.doi: record for record in records}


def test_sage_rss2_dois_authors_and_sanitized_abstracts():
    records = by_doi(parse("sage_msj.xml"))
    assert set(records) == {
        "10.1177/13524585241251234",
        "10.1177/13524585241249876",
        "10.1177/13524585241255555",
    }
    prl = records["10.1177/13524585241251234"]
    assert prl.source == "feed:test"
    assert prl.authors == ["Müller, Margarete", "van der Berg, Luca", "Zhang, Wei"]
    assert prl.journal == "Multiple Sclerosis Journal"
    assert prl.pub_date == "2024-05-20"
    assert prl.url == "https://journals.sagepub.com/doi/abs/10.1177/13524585241251234"
    assert "script" not in prl.abstract_html and "onclick" not in prl.abstract_html
    assert "alert(1)" not in prl.abstract
    assert prl.abstract.startswith("Background: Paramagnetic rim lesions")  # teaser line dropped
    assert "<" not in prl.abstract
    assert records["10.1177/13524585241249876"].authors == ["Lopez, Ana", "MAGNIMS Study Group"]
    assert records["10.1177/13524585241255555"].abstract is None  # only the teaser


def test_wiley_rdf_abstract_from_dc_description_and_single_creator_list():
    records = by_doi(parse("wiley_annneurol.rdf"))
    sel = records["10.1002/ana.26990"]
    assert sel.authors == ["Doe, Jane", "Smith, John Q.", "de la Cruz, Maria"]
    assert sel.abstract.split("\n\n")[:2] == [
        "Objective",
        "To test whether slowly expanding lesions (SELs) predict whole-brain atrophy.",
    ]
    assert sel.source_id == "https://onlinelibrary.wiley.com/doi/10.1002/ana.26990"
    assert sel.pub_date == "2024-05-14"  # as written, not shifted to UTC


def test_wiley_society_host_flip_keeps_item_identity():
    feed = FeedConfig(name="ann", url="https://example.org/feed")
    main = parse_feed(fixture("wiley_annneurol.rdf"), feed).records
    flipped_bytes = fixture("wiley_annneurol.rdf").replace(
        b"https://onlinelibrary.wiley.com/doi/", b"http://ana.onlinelibrary.wiley.com/doi/"
    )
    flipped = parse_feed(flipped_bytes, feed).records
    assert flipped == main


def test_elsevier_pii_identity_and_authors_from_metadata_paragraph():
    parsed = parse_feed(fixture("elsevier_msard.xml"), FeedConfig(name="msard", url="https://x"))
    first = parsed.records[0]
    assert first.source_id == "S2211034824002311"
    assert first.doi is None
    assert first.authors == ["Bianchi, Chiara", "García, Tomás", "Nair, Priya"]
    assert first.abstract is None  # metadata lines are not an abstract
    assert first.url == "https://sciencedirect.com/science/article/pii/S2211034824002311"
    assert parsed.ttl_minutes == 720


def test_oup_doi_from_link_path_without_article_number():
    records = parse("oup_brain.xml", journal="Brain")
    assert [r.doi for r in records] == ["10.1093/brain/awae151", "10.1093/brain/awae160"]
    assert all(r.journal == "Brain" for r in records)  # configured name wins over feed title
    assert not any("rss=1" in r.source_id for r in records)


def test_pubmed_items_identity_is_pmid_and_tracking_links_do_not_matter():
    records = parse("pubmed_search.xml")
    assert [(r.source_id, r.pmid, r.doi) for r in records] == [
        ("pmid:38771234", "38771234", "10.1016/j.msard.2024.105678"),
        ("pmid:38770001", "38770001", "10.3174/ajnr.a8301"),
    ]
    assert records[0].journal == "Mult Scler Relat Disord"
    assert records[1].journal == "AJNR Am J Neuroradiol"
    assert records[0].url == "https://pubmed.ncbi.nlm.nih.gov/38771234/"
    refetched = re.sub(rb"ff=\d+", b"ff=20240523091500", fixture("pubmed_search.xml"))
    refetched = refetched.replace(b"utm_source=Other", b"utm_source=Feedly")
    feed = FeedConfig(name="test", url="https://example.org/feed")
    again = parse_feed(refetched, feed).records
    assert again == records


def test_biorxiv_preprints_with_surname_initial_authors():
    records = parse("biorxiv_neuro.rdf", preprint=True)
    first = records[0]
    assert first.doi == "10.1101/2024.05.18.594801"
    assert first.authors == ["Okafor, C.", "Lindqvist, E. M.", "Ruiz, P."]
    assert first.publication_types == ["Preprint"] and first.is_preprint
    assert first.pub_date == "2024-05-21"
    assert first.source_id == "https://biorxiv.org/cgi/content/short/2024.05.18.594801v1"


def test_atom_doi_from_related_link_or_summary_text_and_content_preferred():
    records = parse("atom_publisher.xml")
    assert [r.doi for r in records] == [
        "10.1371/journal.pone.0300001",
        "10.1371/journal.pone.0300002",
    ]
    assert records[0].title == "7T imaging of in vivo cortical lesions"
    assert (
        records[0].abstract
        == "Purpose: To count cortical lesions at 7T.\n\nResults: 7T found twice as many."
    )
    assert records[0].authors == ["Weber, Hannah", "Kowalski, Tomasz"]
    assert (
        records[0].url == "https://journals.example.org/nil/article?id=10.1371/journal.pone.0300001"
    )


def test_declared_utf8_but_latin1_bytes_is_read_with_a_warning():
    parsed = parse_feed(fixture("latin1_declared_utf8.xml"), FeedConfig(name="rn", url="https://x"))
    assert parsed.records[0].title == "Les lésions corticales en IRM 7T"
    assert parsed.records[0].authors == ["Pérez, Lucía"]
    assert any("declares utf-8" in warning for warning in parsed.warnings)


def test_http_charset_contradicting_the_document_does_not_garble_text():
    feed = FeedConfig(name="msj", url="https://x")
    parsed = parse_feed(
        fixture("sage_msj.xml"), feed, content_type="application/rss+xml; charset=ISO-8859-1"
    )
    assert parsed.records[0].authors[0] == "Müller, Margarete"
    assert any("HTTP charset" in warning for warning in parsed.warnings)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (fixture("billion_laughs.xml"), "declares the entity 'lol'"),
        (fixture("xxe_file_dtd.xml"), "loads a DTD from 'file:///etc/passwd'"),
        (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
            b"<rss><channel><title>&x;</title></channel></rss>",
            "declares the entity 'x'",
        ),
        (fixture("challenge_page.html"), "HTML page titled 'Just a moment...'"),
        (fixture("not_a_feed.txt"), "not a feed"),
    ],
)
def test_unsafe_or_wrong_documents_are_refused_with_a_clear_reason(document, message):
    with pytest.raises(FeedError, match=re.escape(message)):
        parse_feed(document, FeedConfig(name="bad", url="https://x"))


def test_retry_after_as_seconds_or_http_date_and_cache_control():
    from datetime import UTC, datetime

    now = datetime(2024, 5, 22, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Wed, 22 May 2024 12:30:00 GMT", now) == 1800
    assert parse_retry_after("soon", now) is None
    assert parse_max_age("public, max-age=3600") == 3600
    assert parse_max_age("no-cache") is None


def test_shipped_feeds_file_lists_the_services_journals():
    feeds = {feed.name: feed for feed in load_feeds(SHIPPED)}
    journals = {feed.journal for feed in feeds.values()}
    for journal in (
        "Multiple Sclerosis Journal",
        "Journal of Cerebral Blood Flow & Metabolism",
        "Multiple Sclerosis and Related Disorders",
        "NeuroImage",
        "Annals of Neurology",
        "Magnetic Resonance in Medicine",
        "Brain",
        "Neurology: Neuroimmunology & Neuroinflammation",
        "Radiology",
        "American Journal of Neuroradiology",
    ):
        assert journal in journals
    preprints = [feed for feed in feeds.values() if feed.preprint]
    assert {urlhost(feed.url) for feed in preprints} == {
        "connect.medrxiv.org",
        "connect.biorxiv.org",
    }
    assert all(feed.url.startswith("https://") for feed in feeds.values())


def urlhost(url: str) -> str:
    return url.split("/")[2]


def test_per_feed_interval_overrides_the_default_and_feeds_can_be_disabled(tmp_path):
    path = tmp_path / "feeds.toml"
    path.write_text(
        "[defaults]\ninterval_minutes = 60\n"
        '[[feed]]\nname = "a"\nurl = "https://example.org/a"\n'
        '[[feed]]\nname = "b"\nurl = "https://example.org/b"\ninterval_minutes = 15\n'
        "enabled = false\n"
    )
    a, b = load_feeds(path)
    assert (a.interval_minutes, a.enabled) == (60, True)
    assert (b.interval_minutes, b.enabled) == (15, False)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[feed]]\nname = "a"\n', "[[feed]] #1 ('a') key 'url'"),
        ('[[feed]]\nname = "a"\nurl = "ftp://x"\n', "key 'url' must be an http(s) URL"),
        ('[[feed]]\nname = "a"\nurl = "https://x"\nintervall = 5\n', "unknown key 'intervall'"),
        ('[[feed]]\nname = "a"\nurl = "https://x"\ninterval_minutes = 0\n', "'interval_minutes'"),
        ('[[feed]]\nname = "a"\nurl = "https://x"\nenabled = "no"\n', "key 'enabled'"),
        ('[[feed]]\nname = "A B"\nurl = "https://x"\n', "key 'name'"),
        ('[[feed]]\nname = "a"\nurl = "https://x"\n' * 2, "'a' is used more than once"),
        ("[[feed]\n", "cannot read feeds file"),
    ],
)
def test_bad_config_names_the_file_and_the_key(tmp_path, body, message):
    path = tmp_path / "feeds.toml"
    path.write_text(body)
    with pytest.raises(FeedConfigError, match=re.escape(message)) as caught:
        load_feeds(path)
    assert str(path) in str(caught.value)
    assert isinstance(caught.value, UsageError)  # the command line exits 2 with it
