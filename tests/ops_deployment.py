"""A litmon deployment for the ops tests (check, status, db): a config with one PubMed topic
(with a profile, so crawls queue candidates) and one feed, its database, and the CLI, with the
replay servers on loopback."""

import sqlite3
from contextlib import contextmanager
from datetime import timedelta

from click.testing import CliRunner
from feed_server import FeedServer, serve_feed
from pubmed_builder import article, article_set

from litmon.cli import cli
from litmon.core.clock import today_utc

PROFILE = """
[topics.ms.profile]
threshold = 6
[topics.ms.profile.groups.disease]
terms = { "multiple sclerosis" = 3 }
[topics.ms.profile.groups.imaging]
terms = { "QSM" = 4 }
"""


class Deployment:
    """A config (one PubMed topic with a profile, one feed), its database, and the CLI."""

    def __init__(self, tmp_path, eutils, feeds, monkeypatch, extra=""):
        self.tmp_path, self.eutils, self.feeds = tmp_path, eutils, feeds
        self.db_path = tmp_path / "check.db"
        self.config = tmp_path / "litmon.toml"
        self.extra = extra
        feeds.route("/msj", serve_feed("sage_msj.xml"))
        (tmp_path / "feeds.toml").write_text(
            f'[[feed]]\nname = "msj"\nurl = "{feeds.url("/msj")}"\ninterval_minutes = 60\n'
        )
        self.write_config()
        monkeypatch.setenv("LITMON_CONFIG", str(self.config))
        monkeypatch.setenv("LITMON_DB", str(self.db_path))
        monkeypatch.setenv("LITMON_EUTILS_URL", eutils.url)
        today = today_utc()
        eutils.add_xml(
            article_set([article(7000 + n, today - timedelta(days=n)) for n in range(3)])
        )

    def write_config(self, extra=None):
        self.config.write_text(
            '[ncbi]\napi_key = "k"\nmax_retries = 0\ntimeout = 2\n'
            '[feeds]\nfile = "feeds.toml"\n'
            '[topics.ms]\nquery = "multiple sclerosis[tiab]"\n'
            + PROFILE
            + (self.extra if extra is None else extra)
        )

    def run(self, *args):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    def crawl(self):
        assert self.run("crawl", "pubmed").exit_code == 0
        assert self.run("crawl", "feeds").exit_code == 0

    def sql(self, statement, *args):
        conn = sqlite3.connect(self.db_path)
        with conn:
            conn.execute(statement, args)
        conn.close()

    def age_runs(self, source, hours):
        """Move every run of ``source`` ``hours`` into the past."""
        shift = f"-{round(hours * 60)} minutes"
        self.sql(
            "UPDATE crawl_runs SET started_at = strftime('%Y-%m-%dT%H:%M:%SZ', started_at, ?),"
            " finished_at = strftime('%Y-%m-%dT%H:%M:%SZ', finished_at, ?) WHERE source = ?",
            shift,
            shift,
            source,
        )


@contextmanager
def deployed(tmp_path, eutils, monkeypatch):
    """A Deployment with its feed server running (for a test's ``deployment`` fixture)."""
    with FeedServer() as feeds:
        yield Deployment(tmp_path, eutils, feeds, monkeypatch)
