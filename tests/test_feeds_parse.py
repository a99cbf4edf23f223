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


def test_atom_doi_from_id_not_from_summary_text_and_content_preferred():
    records = parse("atom_publisher.xml")
    # The second entry's DOI is only in its summary text: a hint, not its identity.
    assert [r.doi for r in records] == ["10.1371/journal.pone.0300001", None]
    assert records[0].title == "7T imaging of in vivo cortical lesions"
    assert (
        records[0].abstract
        == "Purpose: To count cortical lesions at 7T.\n\nResults: 7T found twice as many."
    )
    assert records[0].authors == ["Weber, Hannah", "Kowalski, Tomasz"]
    assert (
        records[0].url == "https://journals.example.org/nil/article?id=10.1371/journal.pone.0300001"
    )


def test_a_doi_only_in_the_description_is_not_the_items_doi():
    comment, article = parse("comment_cites_doi.xml")
    assert comment.title.startswith("Comment on: Slowly expanding lesions")
    assert comment.doi is None  # the cited article's DOI would merge the comment into it
    assert "10.1177/13524585241260001" in comment.abstract  # still shown, as text
    assert article.doi == "10.1177/13524585241260001"  # prism:doi, not the DOI it cites


def test_the_entry_id_doi_wins_over_a_related_doi_link():
    reply = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>Letters</title>'
        b"<entry><title>Reply to: 7T imaging of cortical lesions</title>"
        b"<id>https://doi.org/10.1371/journal.pone.0300099</id>"
        b'<link rel="related" href="https://doi.org/10.1371/journal.pone.0300001"/>'
        b"<updated>2024-05-22T10:00:00Z</updated></entry></feed>"
    )
    [record] = parse_feed(reply, FeedConfig(name="nil", url="https://x")).records
    assert record.doi == "10.1371/journal.pone.0300099"


WIDE_FEEDS = {
    "utf16le_bom.xml": [
        "Läsionen der weißen Substanz: eine 7-T-Studie",
        "𝛽-Amyloid-PET bei Multipler Sklerose",
    ],
    "utf16be_bom.xml": ["Ατροφία νωτιαίου μυελού στην ΠΣ", "Lésions corticales à 7 T"],
    "utf16le_no_bom.xml": ["脳MRIにおける皮質病変の検出", "Señales de lesiones en expansión lenta"],
    "utf32le_bom.xml": [
        "Resonancia de 7 T y lesiones corticales: ¿más es mejor?",
        "𝛼-Sinucleína en LCR",
    ],
    "ucs2_csunicode.xml": [
        "Ryggmargsatrofi hos pasienter med MS – en kohortstudie",
        "Kortikale lesjoner påvist med 7 T MR",
    ],
    "utf16be_no_declaration.xml": [
        "Léze šedé hmoty u roztroušené sklerózy",
        "Atrofie míchy: pětiletá studie",
    ],
}


@pytest.mark.parametrize(("name", "titles"), WIDE_FEEDS.items())
def test_utf16_and_utf32_feeds_are_read_with_and_without_a_bom(name, titles):
    parsed = parse_feed(fixture(name), FeedConfig(name="wide", url="https://x"))
    assert [record.title for record in parsed.records] == titles
    assert parsed.warnings == []


@pytest.mark.parametrize("label", ["UCS-2", "ucs-2", "ISO-10646-UCS-2", "csUnicode", "UTF-16BE"])
def test_ucs2_labels_python_does_not_know_are_read_as_utf16(label):
    text = fixture("ucs2_csunicode.xml").decode("utf-16-be").replace("csUnicode", label, 1)
    parsed = parse_feed(text.encode("utf-16-be"), FeedConfig(name="ucs", url="https://x"))
    assert [record.title for record in parsed.records] == WIDE_FEEDS["ucs2_csunicode.xml"]
    assert parsed.warnings == []


@pytest.mark.parametrize(
    ("label", "encoding"),
    [("UTF-32", "utf-32-be"), ("ISO-10646-UCS-4", "utf-32-be"), ("utf-32", "utf-32-le")],
)
def test_utf32_without_a_bom_is_read(label, encoding):
    text = fixture("utf32le_bom.xml").decode("utf-32").replace('"UTF-32"', f'"{label}"', 1)
    parsed = parse_feed(text.encode(encoding), FeedConfig(name="u32", url="https://x"))
    assert [record.title for record in parsed.records] == WIDE_FEEDS["utf32le_bom.xml"]


def test_utf16_only_in_the_http_charset_is_read():
    parsed = parse_feed(
        fixture("utf16be_no_declaration.xml"),
        FeedConfig(name="cn", url="https://x"),
        content_type="application/rss+xml; charset=UTF-16",
    )
    assert parsed.records[1].title == "Atrofie míchy: pětiletá studie"
    assert parsed.warnings == []


def test_a_declaration_lying_about_utf16_is_read_with_a_warning():
    parsed = parse_feed(
        fixture("utf16le_declared_utf8.xml"), FeedConfig(name="np", url="https://x")
    )
    assert [record.title for record in parsed.records] == [
        "Zmiany korowe w obrazowaniu 7 T: łączna analiza",
        "Żółte plamki i stwardnienie rozsiane",
    ]
    assert parsed.warnings == ["document declares utf-8 but is utf-16-le"]


@pytest.mark.parametrize(
    ("label", "named"), [("UTF-16", "utf-16"), ("csUnicode", "utf-16"), ("UTF-32", "utf-32")]
)
def test_a_wide_label_on_8_bit_bytes_is_not_believed(label, named):
    latin1 = fixture("latin1_declared_utf8.xml").replace(b'"UTF-8"', f'"{label}"'.encode(), 1)
    parsed = parse_feed(latin1, FeedConfig(name="rn", url="https://x"))
    assert parsed.records[0].title == "Les lésions corticales en IRM 7T"
    assert f"document declares {named} but is cp1252" in parsed.warnings
    http = parse_feed(
        fixture("sage_msj.xml"),
        FeedConfig(name="msj", url="https://x"),
        content_type=f"text/xml; charset={label}",
    )
    assert http.records[0].authors[0] == "Müller, Margarete"
    assert f"HTTP charset {named} contradicts the document, read as utf-8" in http.warnings


def rss_item(inner: str, channel: str = "") -> bytes:
    return (
        f'<rss version="2.0"><channel><title>Odd</title>{channel}'
        f"<item><title>Odd item</title>{inner}</item></channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    "ttl", ["²", "12 minutes", "-5", "9" * 5000, "1e3"], ids=["sup2", "words", "neg", "long", "exp"]
)
def test_a_ttl_that_is_not_a_plain_number_is_ignored(ttl):
    parsed = parse_feed(rss_item("", f"<ttl>{ttl}</ttl>"), FeedConfig(name="o", url="https://x"))
    assert parsed.ttl_minutes is None and len(parsed.records) == 1


@pytest.mark.parametrize(
    "url", ["https://x.example.org:99999/a", "https://x.example.org:abc/a", "http://[::1/a"]
)
def test_unparseable_links_and_guids_are_kept_as_text_not_urls(url):
    feed = FeedConfig(name="o", url="https://x")
    [from_link] = parse_feed(rss_item(f"<link>{url}</link>"), feed).records
    assert from_link.url is None and from_link.source_id.startswith("title:")
    [from_guid] = parse_feed(rss_item(f"<guid>{url}</guid>"), feed).records
    assert from_guid.source_id == url


@pytest.mark.parametrize("charset", ["base64", "rot13", "undefined", "x-no-such-charset"], ids=str)
def test_a_charset_that_is_not_a_text_encoding_is_ignored(charset):
    latin1 = fixture("latin1_declared_utf8.xml")
    parsed = parse_feed(
        latin1.replace(b'"UTF-8"', f'"{charset}"'.encode(), 1),
        FeedConfig(name="rn", url="https://x"),
        content_type=f"application/rss+xml; charset={charset}",
    )
    assert parsed.records[0].title == "Les lésions corticales en IRM 7T"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-be", "utf-16"])
def test_an_entity_bomb_in_utf16_or_utf32_is_still_refused(encoding):
    text = fixture("billion_laughs.xml").decode("utf-8")
    with pytest.raises(FeedError, match="declares the entity 'lol'"):
        parse_feed(text.encode(encoding), FeedConfig(name="bad", url="https://x"))


def test_an_undecodable_utf16_feed_is_refused_in_one_line():
    with pytest.raises(FeedError) as caught:
        parse_feed(fixture("utf16le_lone_surrogate.xml"), FeedConfig(name="bu", url="https://x"))
    message = str(caught.value)
    assert message.startswith("refused: the document is not valid UTF-16-LE (illegal UTF-16")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("document", "raised"),
    [
        (
            b'<rss version="2.0"><channel><item><title>A &#xD800; B</title></item></channel>',
            "UnicodeEncodeError",  # a surrogate character reference, in the lenient parser
        ),
        (
            b'<rss version="2.0"><channel><item><title>T</title><link>http</item>s://x</link>',
            "KeyError",  # a link closed after its item
        ),
    ],
    ids=["surrogate-charref", "link-after-item"],
)
def test_documents_that_break_feedparser_are_refused_in_one_line(document, raised):
    with pytest.raises(FeedError, match=rf"^broken feed: feedparser failed \({raised}: [^\n]*\)$"):
        parse_feed(document, FeedConfig(name="bad", url="https://x"))


def test_a_summary_feedparser_could_not_finish_is_no_abstract():
    unfinished = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>T</title><id>x</id>'
        b'<summary type="htm>\n<content type="xhtml"><div>x</div></content></entry></feed>'
    )
    [record] = parse_feed(unfinished, FeedConfig(name="odd", url="https://x")).records
    assert (record.title, record.abstract) == ("T", None)


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
