"""Secrets in a feed's URL (user-info, a token or key in its query) are hidden where an
error or a URL is built, so no database row, command output or page shows them: through a
real failing loopback feed (an HTTP 500, and a port where nothing listens)."""

from __future__ import annotations

import json
import socket
from dataclasses import replace

import pytest
import requests
from click.testing import CliRunner
from feed_server import FeedServer, status
from web_server import serving

from litmon.cli import cli
from litmon.core.redact import redact_text, redact_url
from litmon.db.schema import open_db
from litmon.health import assess
from litmon.settings import load_config
from litmon.web import auth
from litmon.web.app import create_app

SECRETS = ("s3cr3tPW", "TOKtok123", "KEYkey456", "SIGsig789")
QUERY = "?token=TOKtok123&api_key=KEYkey456&Signature=SIGsig789&page=2"
PASSWORD = "correct horse battery"


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, text


def closed_port() -> int:
    """A loopback port where nothing listens (a dead feed host)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def deployment(tmp_path, monkeypatch, eutils):
    """Two feeds with secrets in their URLs, one answering 500, one on a dead port."""
    server = FeedServer().__enter__()
    server.route("/broken" + QUERY, status(500, b"<html><title>Internal error</title></html>"))
    broken = server.url("/broken" + QUERY).replace("http://", "http://alice:s3cr3tPW@")
    dead = f"http://bob:s3cr3tPW@127.0.0.1:{closed_port()}/feed.xml{QUERY}"
    (tmp_path / "feeds.toml").write_text(
        f'[[feed]]\nname = "broken"\nurl = "{broken}"\n[[feed]]\nname = "dead"\nurl = "{dead}"\n'
    )
    (tmp_path / "litmon.toml").write_text('[feeds]\nfile = "feeds.toml"\n')
    monkeypatch.setenv("LITMON_CONFIG", str(tmp_path / "litmon.toml"))
    monkeypatch.setenv("LITMON_DB", str(tmp_path / "feeds.db"))
    monkeypatch.setenv("LITMON_EUTILS_URL", eutils.url)
    yield tmp_path / "feeds.db", broken, dead
    server.__exit__(None, None, None)


def litmon(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_a_failing_feed_stores_and_shows_its_url_without_secrets(deployment):
    db_path, broken, dead = deployment
    crawled = litmon("crawl", "feeds")
    assert crawled.exit_code == 1
    assert "broken: FAILED: HTTP 500" in crawled.output and "dead: FAILED:" in crawled.output
    assert "127.0.0.1" in crawled.output  # the host is still named
    assert_no_secret(crawled.output)

    db = open_db(db_path)
    stored = json.dumps(
        list(db.query("SELECT last_error FROM feeds"))
        + list(db.query("SELECT error, warnings, notes FROM crawl_runs"))
    )
    assert "HTTP 500" in stored and "token=***" in stored
    assert_no_secret(stored)

    run_ids = [row["id"] for row in db.query("SELECT id FROM crawl_runs WHERE error IS NOT NULL")]
    outputs = [litmon("runs"), litmon("feeds"), litmon("status"), litmon("runs", "--json")]
    outputs += [litmon("runs", "show", str(run_id)) for run_id in run_ids]
    for result in outputs:
        assert_no_secret(result.output)
    assert "last error: HTTP 500" in outputs[1].output


def test_the_ops_page_shows_no_secret(deployment):
    db_path, _, _ = deployment
    litmon("crawl", "feeds")
    db = open_db(db_path)
    auth.add_user(db, "maria", PASSWORD)
    config = replace(load_config(), db_path=db_path)
    app = create_app(db_path, status=lambda conn: assess(config, conn).as_dict())
    with serving(app) as url:
        editor = requests.Session()
        assert editor.post(f"{url}/login", data={"name": "maria", "password": PASSWORD}).ok
        page = editor.get(f"{url}/ops").text
    assert "HTTP 500" in page
    assert_no_secret(page)


def test_ingest_feed_names_the_url_without_its_secrets(deployment):
    _, broken, dead = deployment
    result = litmon("ingest", "feed", broken, dead)
    assert result.exit_code == 1
    assert result.output.count("FAILED") == 2
    assert_no_secret(result.output)


def test_user_info_and_secret_query_values_are_hidden_and_the_rest_kept():
    url = "https://alice:pw@feeds.example.org:8443/a/feed.xml?Token=t&apiKey=k&access_token=a&q=ms"
    assert redact_url(url) == (
        "https://***@feeds.example.org:8443/a/feed.xml?Token=***&apiKey=***&access_token=***&q=ms"
    )
    # near-twins that are no secrets stay as they are
    plain = "https://feeds.example.org/feed.xml?monkey=1&keyword=ms&page=2"
    assert redact_url(plain) == plain
    said = "cannot reach host: Max retries exceeded with url: /f.xml?sig=abc&page=2 (refused)"
    assert redact_text(said) == (
        "cannot reach host: Max retries exceeded with url: /f.xml?sig=***&page=2 (refused)"
    )
