"""``litmon status``: per-source figures (failing first), database counts, queue depth, the
longest-waiting approved candidate and the heartbeat, as text, JSON and Prometheus text
(parsed back with prometheus_client's own parser), on a database built by real crawls."""

import json
from datetime import UTC, datetime

import pytest
from ops_deployment import deployed
from prometheus_client.parser import text_string_to_metric_families

from litmon import review
from litmon.core.clock import parse_stamp
from litmon.crontab import cron_trigger
from litmon.db.heartbeat import beat
from litmon.db.schema import open_db
from litmon.replay.server import Fault


@pytest.fixture
def deployment(tmp_path, eutils, monkeypatch):
    with deployed(tmp_path, eutils, monkeypatch) as deployment:
        deployment.crawl()
        # two failed crawls of the topic after its success; the feed stays healthy
        deployment.age_runs("pubmed", 72)
        for _ in range(2):
            deployment.eutils.inject(Fault("500"), endpoint="esearch")
            assert deployment.run("crawl", "pubmed").exit_code == 1
        db = open_db(deployment.db_path)
        review.decide(db, ["pmid:7002"], "approve", by="editor")
        deployment.sql(
            "UPDATE candidate_audit SET at = '2026-11-20T08:00:00Z' WHERE action = 'approve'"
        )
        yield deployment


def status_json(deployment):
    result = deployment.run("status", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_json_has_each_sources_runs_schedule_and_the_queue(deployment):
    found = status_json(deployment)

    topic, feed = found["sources"]  # the failing topic first
    assert (topic["source"], topic["topic"], topic["healthy"]) == ("pubmed", "ms", False)
    assert (topic["state"], feed["state"]) == ("failing", "ok")
    assert topic["consecutive_failures"] == 2
    assert "500" in topic["last_error"]
    assert parse_stamp(topic["last_failure"]) > parse_stamp(topic["last_success"])
    expected = cron_trigger("15 5 * * *").get_next_fire_time(None, datetime.now(UTC))
    assert parse_stamp(topic["next_run"]) == expected
    assert (feed["source"], feed["feed"], feed["healthy"]) == ("feed", "msj", True)
    assert feed["consecutive_failures"] == 0 and feed["next_poll"] is not None
    assert parse_stamp(feed["next_run"]) >= parse_stamp(feed["next_poll"])  # waits for it
    assert found["database"]["works"] == found["database"]["live_works"] >= 3
    assert found["database"]["size_bytes"] > 0
    assert found["queue"]["approved"] == 1 and found["queue"]["new"] == 2
    assert found["queue"]["dead"] == 0  # every state is listed
    assert found["oldest_approved"]["pmid"] == "7002"
    assert found["oldest_approved"]["since"] == "2026-11-20T08:00:00Z"
    assert found["scheduler"] == {"runner": "cron", "heartbeat": "not used"}
    assert found["healthy"] is False and len(found["problems"]) == 1


def test_text_lists_failing_sources_first_with_their_error(deployment):
    result = deployment.run("status")

    assert result.exit_code == 0  # status reports; check judges
    lines = result.output.splitlines()
    assert lines[1].startswith("  FAILING   pubmed ms: last success ")
    assert "2 failures in a row" in lines[1] and "next run " in lines[1]
    assert lines[2].startswith("      last error: ") and "500" in lines[2]
    assert lines[3].startswith("      pubmed ms has not succeeded for 3 days")
    assert lines[4].startswith("  ok        feed msj: last success ")
    text = result.output
    assert "queue: new 2, approved 1, rejected 0" in text
    assert "oldest approved, not yet summarized: candidate " in text
    assert "since 2026-11-20T08:00:00Z" in text
    assert "scheduler heartbeat: not used ([schedule] runner = 'cron')" in text


def test_the_daemons_heartbeat_is_shown_when_it_is_the_runner(deployment):
    deployment.write_config('[schedule]\nrunner = "daemon"\n')
    beat(open_db(deployment.db_path), 4242, "host-a", "2026-11-01T00:00:00Z", "idle")

    scheduler = status_json(deployment)["scheduler"]

    assert scheduler["heartbeat"]["pid"] == 4242 and scheduler["heartbeat"]["state"] == "idle"
    assert 0 <= scheduler["age_seconds"] < 3600
    assert "scheduler heartbeat: " in deployment.run("status").output
    assert "idle (pid 4242 on host-a" in deployment.run("status").output


def samples(text):
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_prometheus_text_has_the_same_figures_as_the_json(deployment):
    found = status_json(deployment)
    result = deployment.run("status", "--format", "prometheus")

    assert result.exit_code == 0
    metrics = samples(result.output)
    topic = (("feed", ""), ("source", "pubmed"), ("topic", "ms"))
    feed = (("feed", "msj"), ("source", "feed"), ("topic", ""))
    last_success = parse_stamp(found["sources"][0]["last_success"]).timestamp()
    assert metrics[("litmon_source_last_success_timestamp_seconds", topic)] == last_success
    assert metrics[("litmon_source_consecutive_failures", topic)] == 2
    assert metrics[("litmon_source_healthy", topic)] == 0
    assert metrics[("litmon_source_healthy", feed)] == 1
    assert metrics[("litmon_queue_candidates", (("state", "approved"),))] == 1
    assert metrics[("litmon_works", ())] == found["database"]["works"]
    assert metrics[("litmon_oldest_approved_age_seconds", ())] > 0
    assert metrics[("litmon_problems", ())] == 1


def test_prometheus_output_file_is_replaced_whole(deployment, tmp_path):
    textfiles = tmp_path / "textfile"
    textfiles.mkdir()
    target = textfiles / "litmon.prom"
    target.write_text("# an older scrape\n")

    result = deployment.run("status", "--format", "prometheus", "--output", str(target))

    assert result.exit_code == 0 and result.output == ""
    assert [path.name for path in textfiles.iterdir()] == ["litmon.prom"]  # no temp file left
    assert ("litmon_source_healthy", (("feed", "msj"), ("source", "feed"), ("topic", ""))) in (
        samples(target.read_text())
    )


def test_status_of_a_missing_database_says_so_in_one_line(tmp_path, monkeypatch, eutils):
    with deployed(tmp_path, eutils, monkeypatch) as deployment:
        result = deployment.run("status")
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"litmon: no database at {deployment.db_path}: nothing has run yet,"
        " or --db, LITMON_DB or database.path is wrong"
    )
    assert not deployment.db_path.exists()


def test_a_source_that_never_ran_is_never_run_not_ok(tmp_path, monkeypatch, eutils):
    with deployed(tmp_path, eutils, monkeypatch) as deployment:
        assert deployment.run("crawl", "pubmed").exit_code == 0  # the feed is not polled yet
        found = status_json(deployment)
        text = deployment.run("status").output
    feed = next(source for source in found["sources"] if source["source"] == "feed")
    assert (feed["state"], feed["healthy"]) == ("never run", True)  # in its window of grace
    assert "  NEVER RUN feed msj: last success never" in text


def test_a_source_whose_last_run_failed_is_failing_within_its_window(tmp_path, monkeypatch, eutils):
    with deployed(tmp_path, eutils, monkeypatch) as deployment:
        deployment.crawl()
        deployment.eutils.inject(Fault("500"), endpoint="esearch")
        assert deployment.run("crawl", "pubmed").exit_code == 1
        found = status_json(deployment)
        text = deployment.run("status").output
    topic = next(source for source in found["sources"] if source["source"] == "pubmed")
    assert (topic["state"], topic["healthy"]) == ("failing", True)  # check still passes
    assert "  FAILING   pubmed ms: " in text


def test_status_without_a_database_leaves_no_log_behind(tmp_path, monkeypatch, eutils):
    logs = tmp_path / "var" / "log"
    with deployed(tmp_path, eutils, monkeypatch) as deployment:
        deployment.write_config(f'[log]\nfile = "{logs / "litmon.log"}"\n')
        assert deployment.run("status").exit_code == 2
    assert not logs.parent.exists()
