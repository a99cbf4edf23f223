"""``litmon check``: exit 0 and one "OK" line for a healthy deployment, exit 1 with one line
per problem (the first the summary) for each unhealthy condition, on a database built by
real crawls (the ``eutils`` replay server, the feed server) with rows aged by hand."""

import os
import sqlite3
import struct
import time

import pytest
from feed_server import status
from ops_deployment import deployed
from pubmed_builder import article_set

from litmon import review
from litmon.db.heartbeat import beat
from litmon.db.schema import open_db
from litmon.replay.server import Fault


@pytest.fixture
def deployment(tmp_path, eutils, monkeypatch):
    with deployed(tmp_path, eutils, monkeypatch) as deployment:
        yield deployment


def check(deployment, *args):
    result = deployment.run("check", *args)
    return result.exit_code, result.output.splitlines()


def test_a_freshly_crawled_deployment_is_ok_in_one_line(deployment):
    deployment.crawl()

    code, lines = check(deployment)

    assert code == 0
    assert len(lines) == 1
    assert lines[0].startswith("OK: 1 PubMed topic and 1 feed within their windows")


def test_a_topic_failing_past_its_window_is_critical_with_its_last_error(deployment):
    deployment.crawl()
    deployment.age_runs("pubmed", 72)  # the daily line's window is 2 days
    deployment.eutils.inject(Fault("500"), endpoint="esearch")
    assert deployment.run("crawl", "pubmed").exit_code == 1

    code, lines = check(deployment)

    assert code == 1
    assert lines[0].startswith(
        "CRITICAL: pubmed ms has not succeeded for 3 days (window 2 days): last error: "
    )
    assert "500" in lines[0]
    assert len(lines) == 1  # the feed is fine


def test_a_topic_past_its_window_does_not_quote_an_error_older_than_its_last_success(
    deployment,
):
    deployment.eutils.inject(Fault("500"), endpoint="esearch")
    assert deployment.run("crawl", "pubmed").exit_code == 1  # failed, then mended
    deployment.crawl()
    deployment.age_runs("pubmed", 72)

    code, lines = check(deployment)

    assert code == 1
    assert lines[0] == "CRITICAL: pubmed ms has not succeeded for 3 days (window 2 days)"


def test_max_age_overrides_every_window(deployment):
    deployment.crawl()
    deployment.age_runs("pubmed", 100 / 60)
    deployment.age_runs("feed:msj", 100 / 60)

    assert check(deployment)[0] == 0  # inside both default windows (2 days, 2 hours)
    code, lines = check(deployment, "--max-age", "90m")

    assert code == 1
    assert lines[0] == (
        "CRITICAL: pubmed ms has not succeeded for 100 minutes (window 90 minutes) (+1 more)"
    )
    assert lines[1] == "feed msj has not succeeded for 100 minutes (window 90 minutes)"
    assert deployment.run("check", "--max-age", "soon").exit_code == 2


def test_a_feed_is_judged_by_its_own_interval(deployment):
    deployment.crawl()
    deployment.age_runs("feed:msj", 3)  # interval_minutes = 60: window 2 hours
    deployment.feeds.route("/msj", status(503))
    assert deployment.run("crawl", "feeds", "--force").exit_code == 1

    code, lines = check(deployment)

    assert code == 1
    assert lines[0].startswith("CRITICAL: feed msj has not succeeded for 3 hours (window 2 hours)")
    assert "last error" in lines[0] and "503" in lines[0]


def test_a_source_that_never_ran_is_reported_once_it_had_a_window_of_time(deployment):
    deployment.crawl()
    deployment.write_config('[topics.other]\nquery = "neuromyelitis[tiab]"\n')
    assert check(deployment)[0] == 0  # just added to the config: its first crawl is due

    deployment.age_runs("pubmed", 72)
    deployment.age_runs("feed:msj", 72)
    three_days_ago = time.time() - 72 * 3600
    os.utime(deployment.config, (three_days_ago, three_days_ago))
    assert deployment.run("crawl", "pubmed", "--topic", "ms").exit_code == 0  # not "other"
    assert deployment.run("crawl", "feeds", "--force").exit_code == 0

    code, lines = check(deployment)

    assert code == 1
    assert lines == [
        "CRITICAL: pubmed other has never run, 3 days after the database's first run or"
        " the config's last change (window 2 days)"
    ]


def test_a_damaged_database_is_critical(deployment):
    deployment.crawl()
    conn = sqlite3.connect(deployment.db_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    with open(deployment.db_path, "r+b") as handle:  # the header's count of free pages
        handle.seek(36)
        handle.write(struct.pack(">I", 7))

    code, lines = check(deployment)

    assert code == 1
    assert lines[0].startswith(f"CRITICAL: database {deployment.db_path} fails PRAGMA quick_check")
    assert "freelist" in lines[0]


def test_a_stale_heartbeat_counts_only_when_the_daemon_is_the_runner(deployment):
    deployment.crawl()
    beat(open_db(deployment.db_path), 4242, "host-a", "2026-11-01T00:00:00Z", "idle")
    deployment.sql(
        "UPDATE scheduler_heartbeat SET beat_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-10 minutes')"
    )
    assert check(deployment)[0] == 0  # runner = "cron": no heartbeat to keep

    deployment.write_config('[schedule]\nrunner = "daemon"\nheartbeat_seconds = 60\n')
    code, lines = check(deployment)

    assert code == 1
    assert lines == [
        "CRITICAL: the scheduler's heartbeat is 10 minutes old (limit 3 minutes): last 'idle'"
        " from pid 4242 on host-a"
    ]
    beat(open_db(deployment.db_path), 4242, "host-a", "2026-11-01T00:00:00Z", "idle")
    assert check(deployment)[0] == 0


def test_a_daemon_that_never_beat_is_critical(deployment):
    deployment.crawl()
    deployment.write_config('[schedule]\nrunner = "daemon"\n')

    code, lines = check(deployment)

    assert code == 1
    assert "the scheduler ([schedule] runner = daemon) has never run" in lines[0]


def test_a_dead_letter_is_critical_until_retried(deployment):
    deployment.crawl()
    db = open_db(deployment.db_path)
    first = review.decide(db, ["pmid:7001"], "approve", by="editor")[0]["id"]
    packet = review.claim(db, "worker", max_attempts=1)
    review.fail(db, packet["id"], packet["lease_token"], "summarizer crashed", max_attempts=1)

    code, lines = check(deployment)

    assert code == 1
    assert lines == [
        f"CRITICAL: 1 dead-lettered candidate ({first}) failed every summarizing attempt:"
        " litmon queue retry ID, or litmon queue discard ID"
    ]
    review.retry(db, str(first), by="editor")
    assert check(deployment)[0] == 0


def test_a_withdrawn_piece_is_critical_until_its_takedown_is_acknowledged(deployment):
    deployment.crawl()
    db = open_db(deployment.db_path)
    review.decide(db, ["pmid:7000"], "approve", by="editor")
    packet = review.claim(db, "worker")
    assert packet["work"]["pmid"] == "7000"
    review.done(db, packet["id"], packet["lease_token"], "A lay summary.")
    parts = dict.fromkeys(("finding", "what_was_done", "why_it_matters", "limits"), "Text.")
    review.edit(db, packet["id"], parts, "editor")
    review.publish(db, packet["id"], "editor", force=True)
    deletion = deployment.tmp_path / "update.xml"
    deletion.write_bytes(
        article_set(["<DeleteCitation><PMID Version='1'>7000</PMID></DeleteCitation>"])
    )
    assert deployment.run("ingest", "pubmed-xml", str(deletion)).exit_code == 0

    code, lines = check(deployment)

    assert code == 1
    assert lines[0].startswith(f"CRITICAL: 1 withdrawn candidate ({packet['id']}) was published")
    review.ack_takedown(db, str(packet["id"]), by="editor")
    assert check(deployment)[0] == 0


def test_check_without_a_database_is_critical_and_a_config_error_exits_2(deployment):
    code, lines = check(deployment)
    assert code == 1
    assert lines == [f"CRITICAL: no database at {deployment.db_path}: nothing has run yet"]

    deployment.write_config("[schedule]\nrunner = 'sometimes'\n")
    assert deployment.run("check").exit_code == 2
