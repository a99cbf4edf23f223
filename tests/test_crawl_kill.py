"""A crawl process killed mid-crawl (SIGKILL) loses nothing it committed: its run stays
'running' until the next job of any kind closes it 'abandoned', and a rerun finishes the
job with each work stored once."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from pubmed_builder import article, article_set

from litmon.core.clock import today_utc
from litmon.db.schema import open_db

ROOT = Path(__file__).resolve().parents[1]


def litmon(args, env, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "litmon", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def statuses(db):
    return [row[0] for row in db.execute("SELECT status FROM crawl_runs ORDER BY id")]


def test_sigkill_mid_crawl_loses_nothing_the_next_job_closes_its_run_and_a_rerun_completes(
    eutils, tmp_path
):
    today = today_utc()
    eutils.add_xml(
        article_set([article(8000 + n, today - timedelta(days=n % 20)) for n in range(200)])
    )
    config = tmp_path / "litmon.toml"
    (tmp_path / "feeds.toml").write_text("# no feeds: the feeds job only starts\n")
    config.write_text(
        '[ncbi]\nbatch_size = 20\napi_key = "k"\ntimeout = 5\n[feeds]\nfile = "feeds.toml"\n'
        '[topics.ms]\nquery = "multiple sclerosis[tiab]"\n'
    )
    db_path = tmp_path / "crawl.db"
    env = {
        **os.environ,
        "LITMON_CONFIG": str(config),
        "LITMON_DB": str(db_path),
        "LITMON_EUTILS_URL": eutils.url,
    }
    eutils.set_delay(0.2)
    crawler = litmon(["crawl", "pubmed"], env)
    db = open_db(db_path)
    deadline = time.monotonic() + 30
    while db.execute("SELECT count(*) FROM works").fetchone()[0] < 60:
        assert time.monotonic() < deadline, "crawl made no progress"
        assert crawler.poll() is None, crawler.communicate()
        time.sleep(0.05)
    crawler.send_signal(signal.SIGKILL)
    crawler.wait()
    committed = db.execute("SELECT count(*) FROM works").fetchone()[0]
    assert 60 <= committed < 200
    assert committed % 20 == 0  # whole batches only: each batch is one transaction
    assert statuses(db) == ["running"]  # nobody was there to close it

    feeds = litmon(["crawl", "feeds"], env)  # another job: it closes the dead run
    out, err = feeds.communicate(timeout=60)
    assert feeds.returncode == 0, err
    assert statuses(db) == ["abandoned"]

    eutils.set_delay(0)
    rerun = litmon(["crawl", "pubmed"], env)
    out, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, err
    assert "ok" in out

    assert db.execute("SELECT count(*), count(DISTINCT pmid) FROM works").fetchone() == (200, 200)
    assert db.execute("SELECT count(*) FROM sightings").fetchone() == (200,)
    assert statuses(db) == ["abandoned", "ok"]
    windows = db.execute("SELECT window_start, window_end FROM crawl_runs").fetchall()
    assert windows[0] == windows[1]  # the killed window's checkpoint never moved: redone
    interrupted = db.execute("SELECT error FROM crawl_runs ORDER BY id LIMIT 1").fetchone()[0]
    assert "abandoned" in interrupted and "ended before finishing" in interrupted


def test_sigterm_stops_a_one_shot_crawl_after_its_batch_recorded_and_exit_75(eutils, tmp_path):
    """What `systemctl stop` of a oneshot crawl does: the batch under way is finished or
    dropped whole, the run is closed as interrupted (not left 'running'), exit 75."""
    today = today_utc()
    eutils.add_xml(
        article_set([article(9000 + n, today - timedelta(days=n % 20)) for n in range(200)])
    )
    config = tmp_path / "litmon.toml"
    config.write_text(
        '[ncbi]\nbatch_size = 20\napi_key = "k"\ntimeout = 5\n'
        '[topics.ms]\nquery = "multiple sclerosis[tiab]"\n'
    )
    db_path = tmp_path / "crawl.db"
    env = {**os.environ, "LITMON_CONFIG": str(config), "LITMON_DB": str(db_path),
           "LITMON_EUTILS_URL": eutils.url}  # fmt: skip
    eutils.set_delay(0.2)
    crawler = litmon(["crawl", "pubmed"], env)
    db = open_db(db_path)
    deadline = time.monotonic() + 30
    while db.execute("SELECT count(*) FROM works").fetchone()[0] < 40:
        assert time.monotonic() < deadline, "crawl made no progress"
        assert crawler.poll() is None, crawler.communicate()
        time.sleep(0.05)
    crawler.send_signal(signal.SIGTERM)
    out, err = crawler.communicate(timeout=60)
    assert crawler.returncode == 75, err
    assert "stopped by SIGTERM after the current batch" in err and "Traceback" not in err
    committed = db.execute("SELECT count(*) FROM works").fetchone()[0]
    assert committed % 20 == 0 and committed < 200
    status, error = db.execute("SELECT status, error FROM crawl_runs").fetchone()
    assert status in ("partial", "failed") and "interrupted" in error

    eutils.set_delay(0)
    rerun = litmon(["crawl", "pubmed"], env)
    rerun.communicate(timeout=60)
    assert rerun.returncode == 0
    assert db.execute("SELECT count(*), count(DISTINCT pmid) FROM works").fetchone() == (200, 200)
