"""The built-in daemon runs the same jobs as cron would, on the configured crontab lines,
beats while it runs, and stops cleanly on SIGTERM."""

import logging
import os
import signal
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.schedulers.background import BackgroundScheduler
from conftest import TOPIC
from feed_server import FeedServer, serve_feed
from pubmed_builder import article, article_set
from test_crawl_kill import litmon
from test_crawl_locks import deployment

from litmon.core.clock import today_utc
from litmon.core.locks import file_lock
from litmon.crontab import cron_trigger
from litmon.db.heartbeat import read_heartbeat
from litmon.db.schema import open_db
from litmon.scheduler import build_scheduler, run_job
from litmon.settings import Config, ConfigError, NcbiSettings, load_config


def test_jobs_follow_the_configured_crontab_lines_in_utc(tmp_path):
    path = tmp_path / "litmon.toml"
    path.write_text('[schedule]\npubmed = "0 4 * * 1"\n')
    scheduler = build_scheduler(load_config(path, env={}), BackgroundScheduler())
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"pubmed", "feeds"}
    monday_4am = jobs["pubmed"].trigger.get_next_fire_time(None, datetime(2026, 11, 25, tzinfo=UTC))
    assert monday_4am == datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
    every_30 = jobs["feeds"].trigger.get_next_fire_time(
        None, datetime(2026, 11, 25, 6, 1, tzinfo=UTC)
    )
    assert every_30 == datetime(2026, 11, 25, 6, 30, tzinfo=UTC)


def test_a_bad_crontab_line_is_a_config_error(tmp_path):
    path = tmp_path / "litmon.toml"
    path.write_text('[schedule]\nfeeds = "every half hour"\n')
    with pytest.raises(ConfigError, match="schedule.feeds"):
        load_config(path, env={})


def test_the_scheduled_pubmed_job_crawls_into_the_database(eutils, tmp_path):
    eutils.add_xml(
        article_set([article(9500 + n, today_utc() - timedelta(days=n)) for n in range(3)])
    )
    config = Config(
        source=None,
        db_path=tmp_path / "scheduled.db",
        ncbi=NcbiSettings(eutils_url=eutils.url, api_key="k", timeout=2),
        topics={TOPIC.name: TOPIC},
    )
    scheduler = build_scheduler(config, BackgroundScheduler())
    finished = threading.Event()
    outcome = {}

    def done(event):
        outcome[event.job_id] = event.exception
        finished.set()

    scheduler.add_listener(done, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    scheduler.start(paused=True)
    scheduler.get_job("feeds").pause()
    scheduler.modify_job("pubmed", next_run_time=datetime.now(UTC))
    scheduler.resume()
    try:
        assert finished.wait(20)
    finally:
        scheduler.shutdown()
    assert outcome == {"pubmed": None}
    assert open_db(config.db_path).execute("SELECT count(*) FROM works").fetchone() == (3,)


@pytest.mark.parametrize(
    ("weekday", "first_run"),
    [
        ("1", datetime(2026, 11, 30, 4, tzinfo=UTC)),
        ("0", datetime(2026, 11, 29, 4, tzinfo=UTC)),
        ("7", datetime(2026, 11, 29, 4, tzinfo=UTC)),
        ("1-5", datetime(2026, 11, 25, 4, tzinfo=UTC)),
        ("6", datetime(2026, 11, 28, 4, tzinfo=UTC)),
        ("0-2", datetime(2026, 11, 29, 4, tzinfo=UTC)),
        ("0-6", datetime(2026, 11, 25, 4, tzinfo=UTC)),
        ("*/2", datetime(2026, 11, 26, 4, tzinfo=UTC)),  # Sun, Tue, Thu, Sat
        ("fri-sun", datetime(2026, 11, 27, 4, tzinfo=UTC)),
    ],
)
def test_weekdays_count_from_sunday_as_in_crontab(weekday, first_run):
    trigger = cron_trigger(f"0 4 * * {weekday}")
    assert trigger.get_next_fire_time(None, datetime(2026, 11, 25, 1, tzinfo=UTC)) == first_run


def offline_config(tmp_path):
    """A config whose NCBI is a closed loopback port: these jobs must never get that far."""
    ncbi = NcbiSettings(eutils_url="http://127.0.0.1:9/", timeout=1, max_retries=0)
    return Config(
        source=None, db_path=tmp_path / "daemon.db", ncbi=ncbi, topics={TOPIC.name: TOPIC}
    )


def finished_jobs(caplog):
    return [r for r in caplog.records if getattr(r, "event", None) == "job_finished"]


def test_a_job_whose_lock_another_process_holds_is_skipped_with_a_log_line(tmp_path, caplog):
    config = offline_config(tmp_path)
    states = []
    with file_lock(Path(f"{config.db_path}.pubmed.lock"), holder="the pubmed job"):
        run_job("pubmed", config, lambda: False, states.append)  # lock_wait 900: no waiting
    (finished,) = finished_jobs(caplog)
    assert (finished.job, finished.status) == ("pubmed", "skipped")
    assert f"held by the pubmed job (pid {os.getpid()}" in finished.error
    assert states == ["running pubmed", "idle"]
    assert not config.db_path.exists()


def test_a_stop_while_waiting_for_the_ncbi_lock_ends_the_wait(tmp_path, caplog):
    config = offline_config(tmp_path)
    caplog.set_level(logging.INFO, "litmon.scheduler")
    stop, states = threading.Event(), []
    with file_lock(Path(f"{config.db_path}.lock"), holder="the feeds job"):
        job = threading.Thread(target=run_job, args=("pubmed", config, stop.is_set, states.append))
        job.start()
        while not states:  # the job has started: it now waits up to lock_wait (900 s)
            time.sleep(0.01)
        stop.set()
        job.join(30)
        assert not job.is_alive()
    (finished,) = finished_jobs(caplog)
    assert (finished.job, finished.status) == ("pubmed", "interrupted")


def test_six_fields_put_the_second_first_and_five_fire_at_second_zero():
    every_2s = cron_trigger("*/2 * * * * *")
    after = datetime(2026, 11, 25, 6, 0, 1, tzinfo=UTC)
    assert every_2s.get_next_fire_time(None, after) == datetime(2026, 11, 25, 6, 0, 2, tzinfo=UTC)
    monday = cron_trigger("30 15 5 * * 1")  # weekdays still count from Sunday
    assert monday.get_next_fire_time(None, after) == datetime(2026, 11, 30, 5, 15, 30, tzinfo=UTC)
    every_minute = cron_trigger("* * * * *")  # crontab's five fields: at second 0
    assert every_minute.get_next_fire_time(None, after) == datetime(2026, 11, 25, 6, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="5 fields .* or 6"):
        cron_trigger("1 2 3 4 5 6 7")


@pytest.mark.parametrize("line", ["0 4 1 * 1", "0 0 4 1 * mon"])
def test_a_line_restricting_both_day_fields_is_refused_naming_the_key(tmp_path, line):
    path = tmp_path / "litmon.toml"
    path.write_text(f'[schedule]\nfeeds = "*/30 * * * *"\npubmed = "{line}"\n')
    with pytest.raises(ConfigError, match=r"schedule\.pubmed: .*both day-of-month and day-of-week"):
        load_config(path, env={})


def wait_for(condition, process, what, seconds=60):
    """Poll ``condition`` until it holds (bounded), failing at once if ``process`` died."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def statuses(db, source):
    return [r[0] for r in db.execute("SELECT status FROM crawl_runs WHERE source = ?", [source])]


def test_the_daemon_runs_both_jobs_keeps_beating_and_stops_on_sigterm(eutils, tmp_path):
    eutils.add_xml(
        article_set([article(9600 + n, today_utc() - timedelta(days=n)) for n in range(30)])
    )
    with FeedServer() as feeds:
        feeds.route("/msj", serve_feed("sage_msj.xml", etag='"v1"'))
        every_2s = '[schedule]\npubmed = "*/2 * * * * *"\nfeeds = "*/2 * * * * *"\n'
        env = deployment(
            tmp_path, eutils, feeds.url("/msj"), extra=every_2s + "heartbeat_seconds = 1\n"
        )
        daemon = litmon(["schedule"], env)
        db = open_db(env["LITMON_DB"])
        wait_for(
            lambda: statuses(db, "pubmed").count("ok") >= 2 and "ok" in statuses(db, "feed:msj"),
            daemon,
            "both jobs to run, PubMed twice",
        )
        first = read_heartbeat(db)
        assert first["pid"] == daemon.pid
        assert first["state"] in {"idle", "running pubmed", "running feeds"}
        wait_for(lambda: read_heartbeat(db)["beat_at"] > first["beat_at"], daemon, "a new beat")

        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err
    assert "Traceback" not in err
    assert "job started" in err and "job finished" in err
    assert read_heartbeat(db)["state"] == "stopped"
    assert db.execute("SELECT count(*) FROM crawl_runs WHERE status = 'running'").fetchone() == (0,)
    works = db.execute("SELECT count(*), count(pmid), count(DISTINCT pmid) FROM works").fetchone()
    assert works == (33, 30, 30)  # 30 from PubMed, 3 from the feed; each once
    assert db.execute("SELECT count(*) FROM sightings").fetchone() == (33,)


def test_sigterm_during_a_long_crawl_records_it_interrupted_and_a_rerun_completes(eutils, tmp_path):
    today = today_utc()
    eutils.add_xml(
        article_set([article(8000 + n, today - timedelta(days=n % 20)) for n in range(200)])
    )
    every_second = '[schedule]\npubmed = "* * * * * *"\nfeeds = "0 0 1 1 *"\n'
    env = deployment(tmp_path, eutils, extra=every_second + "heartbeat_seconds = 1\n")
    eutils.set_delay(0.2)
    daemon = litmon(["schedule"], env)
    db = open_db(env["LITMON_DB"])
    wait_for(
        lambda: db.execute("SELECT count(*) FROM works").fetchone()[0] >= 20, daemon, "a batch"
    )
    eutils.set_delay(1)  # a long crawl from here on
    during = read_heartbeat(db)
    assert during["state"] == "running pubmed"
    wait_for(  # the heartbeat goes on while the only worker is busy crawling
        lambda: read_heartbeat(db)["beat_at"] > during["beat_at"], daemon, "a beat mid-crawl"
    )
    assert read_heartbeat(db)["state"] == "running pubmed"

    daemon.send_signal(signal.SIGTERM)
    out, err = daemon.communicate(timeout=60)
    assert daemon.returncode == 0, err
    assert read_heartbeat(db)["state"] == "stopped"
    (status, error), *others = db.execute("SELECT status, error FROM crawl_runs").fetchall()
    assert others == [] and status == "partial" and "interrupted" in error
    committed = db.execute("SELECT count(*) FROM works").fetchone()[0]
    assert 20 <= committed < 200 and committed % 20 == 0  # whole batches only

    eutils.set_delay(0)
    rerun = litmon(["crawl", "pubmed"], env)
    out, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, err
    assert db.execute("SELECT count(*), count(DISTINCT pmid) FROM works").fetchone() == (200, 200)
    assert statuses(db, "pubmed") == ["partial", "ok"]
