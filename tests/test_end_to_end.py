"""PubMed, two journal feeds and a CSV export crawled into one store: one article is one
work with every source's sighting, and running everything again changes nothing."""

import sqlite3
from datetime import timedelta

from click.testing import CliRunner
from feed_server import FeedServer, serve_feed
from pubmed_builder import article, article_set

from litmon.cli import cli
from litmon.core.clock import today_utc
from litmon.core.version import VERSION

PMID, DOI = "39123456", "10.1177/13524585261234567"
TITLE = "Paramagnetic rim lesions on QSM and serum neurofilament light in multiple sclerosis"
OTHER = "Central vein sign at 3T separates MS from NMOSD: a multicentre study"

SAGE_RSS = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:prism="http://prismstandard.org/namespaces/basic/2.0/">
<channel><title>Multiple Sclerosis Journal: OnlineFirst</title>
<link>https://journals.sagepub.com/toc/msja/0/0</link><description>OnlineFirst</description>
<item><title>{TITLE}</title>
<link>https://journals.sagepub.com/doi/abs/{DOI.upper()}?af=R</link>
<guid isPermaLink="false">{DOI.upper()}</guid>
<description>Multiple Sclerosis Journal, Ahead of Print. &lt;b&gt;Background:&lt;/b&gt; Rims mark chronic active lesions.</description>
<dc:creator>Ana Rivera</dc:creator><dc:date>2026-11-20T07:00:00Z</dc:date>
<prism:doi>{DOI.upper()}</prism:doi></item>
<item><title>{OTHER}</title>
<link>https://journals.sagepub.com/doi/abs/10.1177/13524585269876543?af=R</link>
<guid isPermaLink="false">10.1177/13524585269876543</guid>
<description>Multiple Sclerosis Journal, Ahead of Print.</description>
<dc:creator>Kenji Sato</dc:creator><dc:date>2026-11-21T07:00:00Z</dc:date>
<prism:doi>10.1177/13524585269876543</prism:doi></item>
</channel></rss>"""

PUBMED_RSS = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>multiple sclerosis QSM - PubMed</title>
<link>https://pubmed.ncbi.nlm.nih.gov/rss/search/1xQdemo/?limit=15&amp;utm_campaign=pubmed-2</link>
<description>multiple sclerosis QSM - PubMed</description>
<item><title>{TITLE}</title>
<link>https://pubmed.ncbi.nlm.nih.gov/{PMID}/?utm_source=Other&amp;utm_medium=rss&amp;fc=20261122&amp;ff=20261122</link>
<description>&lt;p&gt;Rims mark chronic active lesions.&lt;/p&gt;</description>
<dc:creator>Ana Rivera</dc:creator><dc:date>2026-11-22</dc:date>
<dc:source>Mult Scler</dc:source><dc:identifier>pmid:{PMID}</dc:identifier>
<dc:identifier>doi:{DOI}</dc:identifier><guid isPermaLink="false">pubmed:{PMID}</guid></item>
</channel></rss>"""

CSV = f"""ID,author,title,journal,year,volume,number,pages,doi
emb-0001,"Rivera, A.","{TITLE}.",Mult Scler J,2026,31,2,100-110,https://doi.org/{DOI}
"""


def snapshot(db_path):
    conn = sqlite3.connect(db_path)
    tables = ("works", "sightings", "work_blocks", "possible_duplicates", "merges")
    return {table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall() for table in tables}


def test_all_sources_fold_into_one_work_and_a_rerun_changes_nothing(eutils, tmp_path, monkeypatch):
    eutils.add_xml(
        article_set([article(PMID, today_utc() - timedelta(days=2), title=TITLE, doi=DOI)])
    )
    csv_path = tmp_path / "embase.csv"
    csv_path.write_text(CSV)
    with FeedServer() as feeds:
        feeds.route("/msj", serve_feed(SAGE_RSS.encode(), etag='"1"'))
        feeds.route("/pubmed", serve_feed(PUBMED_RSS.encode()))
        (tmp_path / "feeds.toml").write_text(
            f'[[feed]]\nname = "msj"\nurl = "{feeds.url("/msj")}"\n'
            f'[[feed]]\nname = "pubmed-qsm"\nurl = "{feeds.url("/pubmed")}"\n'
        )
        (tmp_path / "litmon.toml").write_text(
            'contact = "ops@example.org"\n[ncbi]\napi_key = "k"\ntimeout = 2\n'
            '[feeds]\nfile = "feeds.toml"\n[topics.ms]\nquery = "multiple sclerosis[tiab]"\n'
        )
        monkeypatch.setenv("LITMON_CONFIG", str(tmp_path / "litmon.toml"))
        monkeypatch.setenv("LITMON_DB", str(tmp_path / "e2e.db"))
        monkeypatch.setenv("LITMON_EUTILS_URL", eutils.url)
        runner = CliRunner()

        def everything():
            for args in (
                ["crawl", "feeds", "--force"],
                ["crawl", "pubmed"],
                ["ingest", "csv", str(csv_path), "--source", "embase"],
            ):
                result = runner.invoke(cli, args, catch_exceptions=False)
                assert result.exit_code == 0, result.output

        everything()
        first = snapshot(tmp_path / "e2e.db")
        everything()
        assert snapshot(tmp_path / "e2e.db") == first

        user_agents = {seen.headers.get("user-agent") for seen in feeds.hits("/msj")}
        assert user_agents == {f"litmon/{VERSION} (+mailto:ops@example.org)"}

    works = {row[1]: row for row in first["works"]}  # by PMID
    assert len(first["works"]) == 2
    work_id = works[PMID][0]
    sources = sorted((s[2], s[3]) for s in first["sightings"] if s[1] == work_id)
    assert sources == sorted(
        [
            ("pubmed", PMID),
            ("feed:pubmed-qsm", f"pmid:{PMID}"),
            ("feed:msj", DOI),
            ("csv:embase", "emb-0001"),
        ]
    ), sources
