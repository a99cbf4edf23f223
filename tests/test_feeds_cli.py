"""Ops' view of feeds through the CLI: a failing feed fails the run (exit 1) without stopping
the others, shows up in `litmon feeds`, and trips `litmon feeds --check`."""

import pytest
from click.testing import CliRunner
from feed_server import FeedServer, serve_feed, status

from litmon.cli import cli


@pytest.fixture
def litmon(tmp_path, monkeypatch, eutils):
    server = FeedServer().__enter__()
    server.route("/msj", serve_feed("sage_msj.xml"))
    server.route("/broken", status(500, b"<html><title>Internal error</title></html>"))
    (tmp_path / "feeds.toml").write_text(
        f'[[feed]]\nname = "msj"\nurl = "{server.url("/msj")}"\n'
        f'[[feed]]\nname = "broken"\nurl = "{server.url("/broken")}"\n'
        f'[[feed]]\nname = "off"\nenabled = false\nurl = "{server.url("/off")}"\n'
    )
    (tmp_path / "litmon.toml").write_text('[feeds]\nfile = "feeds.toml"\n')
    monkeypatch.setenv("LITMON_CONFIG", str(tmp_path / "litmon.toml"))
    monkeypatch.setenv("LITMON_DB", str(tmp_path / "feeds.db"))
    monkeypatch.setenv("LITMON_EUTILS_URL", eutils.url)
    yield lambda *args: CliRunner().invoke(cli, list(args), catch_exceptions=False)
    server.__exit__(None, None, None)


def test_a_failing_feed_fails_the_run_but_not_the_other_feeds(litmon):
    result = litmon("crawl", "feeds")
    assert result.exit_code == 1
    assert "msj: 3 items, 3 new" in result.output
    assert "broken: FAILED: HTTP 500" in result.output
    assert "off" not in result.output  # disabled feeds are not polled

    again = litmon("crawl", "feeds")
    assert "msj: not due until" in again.output


def test_feeds_lists_state_and_the_check_trips_on_failing_feeds(litmon):
    assert litmon("feeds").output.startswith("litmon: no database at")  # nothing crawled yet
    litmon("crawl", "feeds")

    listing = litmon("feeds")
    assert "broken: last success never, 1 failure in a row" in listing.output
    assert "last error: HTTP 500" in listing.output
    assert listing.exit_code == 0
    assert litmon("feeds", "--check").exit_code == 0  # failing for minutes, not days
    tripped = litmon("feeds", "--check", "--failing-days", "0")
    assert tripped.exit_code == 1
    assert "FAILING for 0.0 days: broken" in tripped.output


def test_an_unknown_feed_name_is_a_usage_error_that_touches_nothing(litmon, tmp_path):
    result = litmon("crawl", "feeds", "--feed", "nope")
    assert result.exit_code == 2
    assert "no feed named 'nope' in" in result.output and "feeds.toml" in result.output
    assert not (tmp_path / "feeds.db").exists()
