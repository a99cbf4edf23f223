"""A write lock held past the busy timeout (another process in a long write, a stuck one):
the web answers 503 with Retry-After and a one-line reason, the command line says one line
and exits 75, ``/health`` reports the database cannot take a write; nothing is written.

The lock is a real one: another connection holds ``BEGIN IMMEDIATE`` on the same file.
The busy timeout is configured short (``database.busy_timeout``) so no test waits 30 s."""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from pubmed_builder import article, article_set
from test_queue import make_works
from web_server import serving

from litmon import review
from litmon.cli import cli
from litmon.crawler.settings import NcbiSettings, Topic
from litmon.db.schema import open_db
from litmon.db.transactions import write_problem
from litmon.scheduler import run_job
from litmon.settings import Config
from litmon.web import auth
from litmon.web.app import create_app

PASSWORD = "correct horse battery"
WAIT = 0.2  # the busy timeout of these tests, in seconds


@contextmanager
def write_lock_held(path: Path) -> Iterator[None]:
    """Another connection holds the database's write lock (a writer in a long batch)."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


@pytest.fixture
def site(tmp_path):
    """The web app over a queue of three approved candidates, one editor, one worker token,
    waiting at most WAIT seconds for a write lock."""
    path = tmp_path / "web.db"
    db = open_db(path)
    for n, work_id in enumerate(make_works(db, 3)):
        review.enqueue(db, work_id, [("ms_imaging", 9.0 - n)])
    token = auth.create_token(db, "summarizer-1")
    auth.add_user(db, "maria", PASSWORD)
    with serving(create_app(path, busy_timeout=WAIT)) as url:
        yield url, path, db, {"Authorization": f"Bearer {token}"}


def assert_try_again(answer: requests.Response) -> None:
    assert answer.status_code == 503, answer.text[:300]
    assert int(answer.headers["Retry-After"]) > 0
    assert "locked" in answer.text and "Traceback" not in answer.text


def test_sign_in_claim_and_a_decision_answer_503_with_retry_after(site):
    url, path, db, bearer = site
    editor = requests.Session()
    assert editor.post(f"{url}/login", data={"name": "maria", "password": PASSWORD}).ok
    page = editor.get(f"{url}/candidates/1").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    before = db.execute("SELECT state, version FROM candidates WHERE id = 1").fetchone()
    with write_lock_held(path):
        signing_in = requests.post(f"{url}/login", data={"name": "maria", "password": PASSWORD})
        assert_try_again(signing_in)
        claim = requests.post(f"{url}/api/claim", json={"worker": "w1"}, headers=bearer)
        assert_try_again(claim)
        assert claim.headers["content-type"].startswith("application/json")
        assert len(claim.json()["detail"].splitlines()) == 1
        decided = editor.post(
            f"{url}/candidates/1/decision",
            data={"csrf_token": token, "action": "reject", "version": before[1],
                  "reason": "off-topic"},
        )  # fmt: skip
        assert_try_again(decided)
    assert db.execute("SELECT state, version FROM candidates WHERE id = 1").fetchone() == before
    # the lock gone, the same requests go through
    assert requests.post(f"{url}/api/claim", json={"worker": "w1"}, headers=bearer).ok


def test_health_reports_a_database_that_cannot_take_a_write(site):
    url, path, _, _ = site
    assert requests.get(f"{url}/health").json()["status"] == "ok"
    with write_lock_held(path):
        health = requests.get(f"{url}/health")
        assert health.status_code == 503 and health.headers["Retry-After"]
        assert health.json()["status"] == "unavailable"
        assert "locked" in health.json()["database"]
        assert str(path) not in health.text  # anyone may ask /health
    assert requests.get(f"{url}/health").status_code == 200


@pytest.fixture
def cli_db(tmp_path, monkeypatch):
    """A queue database and a config that waits WAIT seconds for a write lock."""
    path = tmp_path / "queue.db"
    config = tmp_path / "litmon.toml"
    config.write_text(f'[database]\npath = "{path}"\nbusy_timeout = {WAIT}\n')
    monkeypatch.setenv("LITMON_CONFIG", str(config))
    monkeypatch.delenv("LITMON_DB", raising=False)
    db = open_db(path)
    for n, work_id in enumerate(make_works(db, 2)):
        review.enqueue(db, work_id, [("ms_imaging", 9.0 - n)])
    return path, db


def one_line(result, code: int) -> str:
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("litmon: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


def test_a_review_decision_says_one_line_and_exits_75(cli_db):
    path, db = cli_db
    with write_lock_held(path):
        result = CliRunner().invoke(
            cli, ["review", "1", "reject", "--reason", "off-topic", "--by", "maria"]
        )
    assert "locked" in one_line(result, 75)
    assert db.execute("SELECT state FROM candidates WHERE id = 1").fetchone()[0] != "rejected"


def test_an_ingest_says_one_line_and_exits_75(cli_db, tmp_path):
    path, db = cli_db
    xml = tmp_path / "new.xml"
    xml.write_bytes(
        article_set([article(41_000_001, date(2026, 1, 1), title="Rim lesions in cohort 1")])
    )
    with write_lock_held(path):
        result = CliRunner().invoke(cli, ["-q", "ingest", "pubmed-xml", str(xml)])
    line = one_line(result, 75)
    assert "locked" in line and str(path) in line
    assert db.execute("SELECT count(*) FROM works WHERE pmid = '41000001'").fetchone()[0] == 0
    again = CliRunner().invoke(cli, ["-q", "ingest", "pubmed-xml", str(xml)])
    assert again.exit_code == 0, again.output


@pytest.fixture
def small_disk(tmp_path):
    """A file system of 32 MiB of its own (a real tmpfs: needs root, skipped otherwise)."""
    where = tmp_path / "disk"
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(where)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a small file system here (needs root)")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def test_health_reports_a_full_disk_and_sign_in_never_answers_500(small_disk):
    path = small_disk / "web.db"
    db = open_db(path)
    auth.add_user(db, "maria", PASSWORD)
    with serving(create_app(path, busy_timeout=WAIT)) as url:
        assert requests.get(f"{url}/health").status_code == 200
        stat = os.statvfs(small_disk)
        (small_disk / "filler").write_bytes(b"\0" * (stat.f_bavail * stat.f_frsize))
        health = requests.get(f"{url}/health")
        assert health.status_code == 503 and "full" in health.json()["database"]
        signing_in = requests.post(f"{url}/login", data={"name": "maria", "password": PASSWORD})
        # signed in when the write-ahead log still had room, else 503: never a bare 500
        assert signing_in.ok or (
            signing_in.status_code == 503 and signing_in.headers["Retry-After"]
        ), signing_in.text[:300]
        (small_disk / "filler").unlink()
        assert requests.get(f"{url}/health").status_code == 200


def test_a_scheduled_job_that_meets_a_held_write_lock_fails_in_one_line(tmp_path, caplog):
    """The daemon maps the busy database through the same table: the job ends 'failed' with
    the one-line reason (not 'internal error' with a traceback), and the daemon goes on."""
    path = tmp_path / "daemon.db"
    open_db(path)
    ncbi = NcbiSettings(eutils_url="http://127.0.0.1:9/", timeout=1, max_retries=0)
    topic = Topic(name="ms", query="multiple sclerosis[tiab]")
    config = Config(source=None, db_path=path, ncbi=ncbi, topics={"ms": topic}, busy_timeout=WAIT)
    caplog.set_level(logging.INFO, "litmon.scheduler")
    with write_lock_held(path):
        run_job("pubmed", config, lambda: False, lambda state: None)
    (finished,) = [r for r in caplog.records if getattr(r, "event", None) == "job_finished"]
    assert finished.status == "failed"
    assert "locked" in finished.error and "internal error" not in finished.error


def test_the_write_probe_reports_a_read_only_file_system(small_disk):
    """/health's probe on a database whose file system was remounted read-only (what the
    kernel does after disk errors): 'read-only', never 'ok'."""
    path = small_disk / "ro.db"
    open_db(path).conn.close()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert write_problem(reader, path) == "the database is read-only"
    finally:
        reader.close()
