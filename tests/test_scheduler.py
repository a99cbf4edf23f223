"""The built-in daemon runs the same jobs as cron would, on the configured crontab lines."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.schedulers.background import BackgroundScheduler
from conftest import TOPIC
from pubmed_builder import article, article_set

from litmon.core.clock import today_utc
from litmon.crontab import cron_trigger
from litmon.db.schema import open_db
from litmon.scheduler import build_scheduler
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
