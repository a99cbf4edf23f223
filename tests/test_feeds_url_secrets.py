"""A feed's configured URL may carry a secret (a password as user-info, a token in its
query): polling it stores none of it, neither as the URL the table keeps nor as the
configured URL a change is noticed against, while conditional GET, permanent redirects and
an edited URL still work, and a database an earlier litmon wrote is scrubbed on upgrade.
Real loopback feeds; the SQLite file is read table by table and down to its bytes."""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner
from feed_server import FeedServer, Reply, Responder, Seen, redirect, serve_feed, status
from test_feeds_poll import NOW, poll

from litmon.cli import cli
from litmon.core.redact import redact_url
from litmon.db.feed_state import feed_status
from litmon.db.schema import MIGRATIONS, migrate, open_db
from litmon.feeds import FeedConfig

TOKEN = "TOKtok123secret"
NEW_TOKEN = "NEWtok456secret"
PASSWORD = "s3cr3tPWfeeds"
SECRETS = (TOKEN, NEW_TOKEN, PASSWORD)


def secrets_stored(path: Path) -> list[str]:
    """Where a secret is in the database file: every column of every table, then the raw
    bytes of the file and its WAL after a checkpoint (free space included)."""
    conn = sqlite3.connect(path)
    found = []
    tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    for table in tables:
        for row in conn.execute(f'SELECT * FROM "{table}"'):
            text = json.dumps([v.hex() if isinstance(v, bytes) else v for v in row])
            found += [f"{table}: {s}" for s in SECRETS if s in text or s.encode().hex() in text]
    busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    conn.close()
    assert busy == 0  # the checkpoint copied everything into the file
    for file in (path, path.with_name(path.name + "-wal")):
        if file.exists():
            data = file.read_bytes()
            found += [f"{file.name} bytes: {s}" for s in SECRETS if s.encode() in data]
    return found


def with_login(responder: Responder, password: str = PASSWORD) -> Responder:
    """A feed behind HTTP basic authentication as alice (401 without her password)."""
    expected = "Basic " + base64.b64encode(f"alice:{password}".encode()).decode()

    def respond(seen: Seen) -> Reply:
        if seen.headers.get("authorization") != expected:
            return Reply(401, b"log in", {"WWW-Authenticate": 'Basic realm="feeds"'})
        return responder(seen)

    return respond


def with_user_info(url: str, password: str = PASSWORD) -> str:
    return url.replace("http://", f"http://alice:{password}@")


@pytest.fixture
def server():
    with FeedServer() as running:
        yield running


def states(db) -> dict[str, dict]:
    return {row["name"]: row for row in feed_status(db)}


def test_feeds_with_a_token_or_a_password_poll_conditionally_and_store_neither(
    tmp_path, monkeypatch, eutils, server
):
    token_url = server.route(f"/msj?token={TOKEN}&page=1", serve_feed("sage_msj.xml", etag='"v1"'))
    server.route("/brain", with_login(serve_feed("oup_brain.xml", etag='"b1"')))
    login_url = with_user_info(server.url("/brain"))
    (tmp_path / "feeds.toml").write_text(
        f'[[feed]]\nname = "msj"\nurl = "{token_url}"\n'
        f'[[feed]]\nname = "brain"\nurl = "{login_url}"\n'
    )
    (tmp_path / "litmon.toml").write_text('[feeds]\nfile = "feeds.toml"\n')
    monkeypatch.setenv("LITMON_CONFIG", str(tmp_path / "litmon.toml"))
    monkeypatch.setenv("LITMON_DB", str(tmp_path / "feeds.db"))
    monkeypatch.setenv("LITMON_EUTILS_URL", eutils.url)
    litmon = CliRunner()

    first = litmon.invoke(cli, ["crawl", "feeds"])
    assert first.exit_code == 0, first.output
    assert "msj: 3 items, 3 new" in first.output and "brain: 2 items, 2 new" in first.output
    again = litmon.invoke(cli, ["crawl", "feeds", "--force"])
    assert again.exit_code == 0, again.output
    assert "msj: not modified" in again.output and "brain: not modified" in again.output
    # the second poll read the URL, token and password from the feeds file, not the table
    assert server.hits(f"/msj?token={TOKEN}&page=1")[-1].headers["if-none-match"] == '"v1"'
    assert server.hits("/brain")[-1].headers["if-none-match"] == '"b1"'

    shown = litmon.invoke(cli, ["feeds", "--json"])
    rows = {row["name"]: row for row in json.loads(shown.output)}
    assert rows["msj"]["url"] == token_url.replace(TOKEN, "***")
    assert rows["brain"]["url"] == server.url("/brain").replace("http://", "http://***@")
    assert (rows["msj"]["etag"], rows["msj"]["last_status"]) == ('"v1"', 304)
    assert (rows["brain"]["etag"], rows["brain"]["last_status"]) == ('"b1"', 304)
    for output in (first.output, again.output, shown.output):
        assert not [s for s in SECRETS if s in output]
    assert secrets_stored(tmp_path / "feeds.db") == []


def test_a_new_token_restarts_the_feed_and_neither_token_is_stored(tmp_path, server):
    db = open_db(tmp_path / "litmon.db")
    server.route(f"/msj?token={TOKEN}", serve_feed("sage_msj.xml", etag='"v1"'))
    server.route(f"/msj?token={NEW_TOKEN}", serve_feed("sage_msj.xml", etag='"v1"'))
    old = FeedConfig("msj", server.url(f"/msj?token={TOKEN}"))
    poll(db, [old])
    assert poll(db, [old], force=True)["msj"].status == "not_modified"  # same URL: same state
    server.route(f"/msj?token={TOKEN}", status(401, b"token revoked"))
    assert poll(db, [old], force=True)["msj"].status == "failed"
    assert states(db)["msj"]["consecutive_failures"] == 1

    new = FeedConfig("msj", server.url(f"/msj?token={NEW_TOKEN}"))
    outcome = poll(db, [new])["msj"]  # not due by the old state's backoff: started again

    assert outcome.status == "ok" and outcome.unchanged == 3
    [request] = server.hits(f"/msj?token={NEW_TOKEN}")
    assert "if-none-match" not in request.headers  # the old URL's validators were dropped
    state = states(db)["msj"]
    assert state["url"] == new.url.replace(NEW_TOKEN, "***")
    assert (state["consecutive_failures"], state["failing_since"]) == (0, None)
    assert secrets_stored(tmp_path / "litmon.db") == []


def test_a_permanent_redirect_is_remembered_only_to_a_url_without_a_secret(tmp_path, server):
    db = open_db(tmp_path / "litmon.db")
    clean_target = server.route("/clean-home", serve_feed("oup_brain.xml", etag='"c1"'))
    server.route(f"/leaky-home?token={TOKEN}", serve_feed("sage_msj.xml", etag='"l1"'))
    server.route(f"/clean?token={TOKEN}", redirect(301, "/clean-home"))
    server.route(f"/leaky?token={TOKEN}", redirect(301, f"/leaky-home?token={TOKEN}"))
    clean = FeedConfig("clean", server.url(f"/clean?token={TOKEN}"))
    leaky = FeedConfig("leaky", server.url(f"/leaky?token={TOKEN}"))

    first = poll(db, [clean, leaky])
    assert first["clean"].status == first["leaky"].status == "ok"
    assert states(db)["clean"]["url"] == clean_target  # remembered: it carries no secret
    assert states(db)["leaky"]["url"] == redact_url(leaky.url)  # not remembered
    again = poll(db, [clean, leaky], force=True)

    assert again["clean"].status == again["leaky"].status == "not_modified"
    assert len(server.hits(f"/clean?token={TOKEN}")) == 1  # straight to the new home
    assert len(server.hits(f"/leaky?token={TOKEN}")) == 2  # the redirect followed again
    assert server.hits(f"/leaky-home?token={TOKEN}")[-1].headers["if-none-match"] == '"l1"'
    assert secrets_stored(tmp_path / "litmon.db") == []


def test_an_upgraded_database_keeps_no_secret_and_its_feeds_keep_their_failures(tmp_path, server):
    """A database as the litmon before the fix left it: configured URLs, a password and a
    token in them, stored as they were, one of them failing for two days."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    before = next(n for n, script in enumerate(MIGRATIONS) if "config_fingerprint" in script)
    for number, script in enumerate(MIGRATIONS[:before], start=1):
        conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
    server.route(f"/msj?token={TOKEN}", status(500, b"down"))
    server.route("/brain", with_login(serve_feed("oup_brain.xml", etag='"b1"')))
    server.route("/plain", serve_feed("elsevier_msard.xml"))
    token = FeedConfig("msj", server.url(f"/msj?token={TOKEN}"))
    login = FeedConfig("brain", with_user_info(server.url("/brain")))
    plain = FeedConfig("plain", server.url("/plain"))
    since = "2024-05-20T12:00:00Z"
    conn.executemany(
        "INSERT INTO feeds (name, url, config_url, etag, consecutive_failures, failing_since,"
        " last_error) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (token.name, token.url, token.url, '"m1"', 4, since, "HTTP 500"),
            (login.name, login.url, login.url, '"b0"', 0, None, None),
            (plain.name, plain.url, plain.url, None, 0, None, None),
        ],
    )
    conn.commit()
    assert len(secrets_stored(path)) > 0
    # upgraded through a connection that does not zero deleted content (SQLite's own
    # default; Debian's build zeroes it anyway)
    conn.execute("PRAGMA secure_delete = OFF")
    migrate(sqlite_utils.Database(conn), path)
    conn.close()

    assert secrets_stored(path) == []
    db = open_db(path)
    shown = states(db)
    assert shown["msj"]["url"] == server.url("/msj?***")  # until the next poll
    assert shown["brain"]["url"] == server.url("/brain").replace("http://", "http://***@")
    assert shown["plain"]["url"] == plain.url
    assert (shown["msj"]["consecutive_failures"], shown["msj"]["failing_since"]) == (4, since)

    outcomes = poll(db, [token, login, plain], now=NOW + timedelta(days=1))

    assert outcomes["msj"].status == "failed"
    assert outcomes["brain"].status == outcomes["plain"].status == "ok"
    assert "if-none-match" not in server.hits("/brain")[-1].headers  # its validator dropped
    after = states(db)
    assert (after["msj"]["consecutive_failures"], after["msj"]["failing_since"]) == (5, since)
    assert after["msj"]["url"] == redact_url(token.url)
    assert after["brain"]["etag"] == '"b1"'
    assert secrets_stored(path) == []
