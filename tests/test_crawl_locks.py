"""Cron, the daemon and a person may start jobs at any moment: the same job never runs
twice at once (a second start exits 75 at once), and two different jobs never send NCBI
requests at the same time (one waits for the other's NCBI lock, up to database.lock_wait)."""

import json
import os
import sqlite3
import time
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from feed_server import FeedServer, serve_feed
from pubmed_builder import article, article_set
from test_crawl_kill import litmon

from litmon.cli import cli
from litmon.core.clock import today_utc
from litmon.core.locks import file_lock, is_held
from litmon.db.schema import open_db


@pytest.fixture
def feed_server():
    with FeedServer() as server:
        server.route("/msj", serve_feed("sage_msj.xml", etag='"v1"'))
        yield server


def deployment(
    tmp_path, eutils, feed_url=None, *, lock_wait=600, name="litmon.toml", extra="", timeout=5
):
    """A config (and feeds file) for subprocesses, and the environment to run them in;
    ``extra`` is appended to the config, ``timeout`` is the NCBI client's."""
    feeds = f'[[feed]]\nname = "msj"\nurl = "{feed_url}"\n' if feed_url else "# none\n"
    (tmp_path / "feeds.toml").write_text(feeds)
    config = tmp_path / name
    config.write_text(
        f"[database]\nlock_wait = {lock_wait}\n"
        f'[ncbi]\nbatch_size = 20\napi_key = "k"\ntimeout = {timeout}\n[feeds]\nfile = "feeds.toml"\n'
        '[topics.ms]\nquery = "multiple sclerosis[tiab]"\n' + extra
    )
    return {
        **os.environ,
        "LITMON_CONFIG": str(config),
        "LITMON_DB": str(tmp_path / "crawl.db"),
        "LITMON_EUTILS_URL": eutils.url,
    }


def held_by(lock: Path, pid: int) -> bool:
    """Whether the process ``pid`` holds ``lock`` (the holder writes its pid into it once it
    has the lock, before it does anything under it)."""
    if not is_held(lock):
        return False
    try:
        return json.loads(lock.read_text())["pid"] == pid
    except (OSError, ValueError, KeyError):
        return False


def crawling(eutils, env, articles=200):
    """A `crawl pubmed` subprocess that has committed its first batch and is slowed down
    (0.2 s a request) for the rest."""
    today = today_utc()
    eutils.add_xml(
        article_set([article(8000 + n, today - timedelta(days=n % 20)) for n in range(articles)])
    )
    eutils.set_delay(0.2)
    crawler = litmon(["crawl", "pubmed"], env)
    db = open_db(env["LITMON_DB"])
    deadline = time.monotonic() + 30
    while db.execute("SELECT count(*) FROM works").fetchone()[0] < 20:
        assert time.monotonic() < deadline, "crawl made no progress"
        assert crawler.poll() is None, crawler.communicate()
        time.sleep(0.05)
    return crawler, db


def test_a_held_job_lock_refuses_before_the_database_is_opened(tmp_path):
    db_path = tmp_path / "never.db"
    config = tmp_path / "litmon.toml"
    config.write_text(f'[database]\npath = "{db_path}"\nlock_wait = 600\n[topics.t]\nquery = "x"\n')
    with file_lock(Path(f"{db_path}.pubmed.lock"), holder="the pubmed job"):
        result = CliRunner().invoke(cli, ["--config", str(config), "crawl", "pubmed"])
    assert result.exit_code == 75, result.output
    assert f"the pubmed job (pid {os.getpid()}, since " in result.output
    assert "this run did nothing" in result.output and "Traceback" not in result.output
    assert not db_path.exists()  # refused before the database was opened (or created)


def test_crawl_all_runs_feeds_when_pubmed_is_locked_and_exits_with_the_worse(tmp_path):
    db_path = tmp_path / "all.db"
    (tmp_path / "feeds.toml").write_text("# no feeds\n")
    config = tmp_path / "litmon.toml"
    config.write_text(
        f'[database]\npath = "{db_path}"\n[feeds]\nfile = "feeds.toml"\n[topics.t]\nquery = "x"\n'
    )
    with file_lock(Path(f"{db_path}.pubmed.lock"), holder="the pubmed job"):
        result = CliRunner().invoke(cli, ["--config", str(config), "crawl", "all"])
    assert result.exit_code == 75, result.output
    assert "pubmed job's lock" in result.output
    assert db_path.exists()  # the feeds job ran (and opened the database)


def test_a_second_start_exits_75_at_once_and_another_job_gives_up_after_lock_wait(eutils, tmp_path):
    # lock_wait 600: waiting would hang the test; the first's client waits out the hold
    env = deployment(tmp_path, eutils, timeout=300)
    first, db = crawling(eutils, env)
    eutils.set_delay(300)  # the first stays busy until released, whatever the load

    second = litmon(["crawl", "pubmed"], env)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 75, err
    assert f"the pubmed job (pid {first.pid}, since " in err
    assert "this run did nothing" in err and "Traceback" not in err

    impatient = {**env, **deployment(tmp_path, eutils, lock_wait=0.5, name="impatient.toml")}
    feeds = litmon(["crawl", "feeds"], impatient)
    out, err = feeds.communicate(timeout=60)
    assert feeds.returncode == 75, err
    assert f"waited 0.5 s for the NCBI lock {env['LITMON_DB']}.lock" in err
    assert f"held by the pubmed job (pid {first.pid}" in err

    assert first.poll() is None  # neither waited for the first to end
    eutils.set_delay(0)
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert db.execute("SELECT count(*), count(DISTINCT pmid) FROM works").fetchone() == (200, 200)
    runs = db.execute("SELECT source, status FROM crawl_runs").fetchall()
    assert runs == [("pubmed", "ok")]  # the refused jobs left no run behind


def test_feeds_started_during_a_pubmed_crawl_waits_for_it_then_runs(eutils, tmp_path, feed_server):
    env = deployment(tmp_path, eutils, feed_server.url("/msj"))
    pubmed, db = crawling(eutils, env, articles=100)
    feeds = litmon(["crawl", "feeds"], env)
    ncbi_lock = Path(f"{env['LITMON_DB']}.lock")
    # as long as the crawl holds the NCBI lock (it scores and indexes after letting it
    # go), the feeds job waits having done nothing; what it had done is read first, so a
    # lock the crawl still holds afterwards it held then too (once it lets go, the lock may
    # be held again, by the feeds job)
    while True:
        polled, waiting = feed_server.hits("/msj"), feeds.poll() is None
        if not held_by(ncbi_lock, pubmed.pid):
            break
        assert waiting and polled == [], feeds.communicate()
        time.sleep(0.1)
    pubmed.wait(timeout=60)
    assert pubmed.returncode == 0, pubmed.communicate()
    out, err = feeds.communicate(timeout=60)
    assert feeds.returncode == 0, err
    assert "msj: 3 items, 3 new" in out

    # NCBI saw the whole PubMed crawl, then the feeds job's DOI lookups: never interleaved
    lookups = [i for i, r in enumerate(eutils.requests) if "[doi]" in r.params.get("term", "")]
    crawl = [i for i, r in enumerate(eutils.requests) if "[doi]" not in r.params.get("term", "")]
    assert lookups and max(crawl) < min(lookups)
    conn = sqlite3.connect(env["LITMON_DB"])
    pubmed_end = conn.execute("SELECT finished_at FROM crawl_runs WHERE topic = 'ms'").fetchone()
    feed_start = conn.execute("SELECT started_at FROM crawl_runs WHERE source = 'feed:msj'")
    assert feed_start.fetchone()[0] >= pubmed_end[0]
