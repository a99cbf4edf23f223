"""Every run is logged the same way (pipeline/run.py): it ends ok, partial or failed with a
one-line reason, and a run whose process died is closed 'abandoned' by the next run that
starts, never one that is still alive."""

import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
from datetime import timedelta

from click.testing import CliRunner
from pubmed_builder import article, article_set

from litmon.cli import cli
from litmon.core.clock import today_utc
from litmon.core.errors import SourceError
from litmon.db.runs import recent_runs
from litmon.db.schema import open_db
from litmon.pipeline.run import MAX_NOTES, close_abandoned_runs, recorded_run
from litmon.replay.server import Fault

# A process that starts a run and then waits, as a crawl does between requests.
HOLDER = textwrap.dedent(
    """
    import sys
    from litmon.db.schema import open_db
    from litmon.pipeline.run import recorded_run
    db = open_db(sys.argv[1])
    with recorded_run(db, sys.argv[2], "held") as run:
        print(run.id, flush=True)
        sys.stdin.readline()
    """
)


def hold_run(db_path, source):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db_path), source],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return holder, int(holder.stdout.readline())


def status(db, run_id):
    return db.execute("SELECT status, error FROM crawl_runs WHERE id = ?", (run_id,)).fetchone()


def test_a_live_run_is_never_closed_and_a_killed_one_is(tmp_path):
    db_path = tmp_path / "runs.db"
    db = open_db(db_path)
    for source in ("ingest:pubmed-xml", "feed:brain", "pubmed"):  # every kind of run
        holder, run_id = hold_run(db_path, source)
        with recorded_run(db, "csv:other"):  # another run starts while it lives
            pass
        assert status(db, run_id) == ("running", None)

        holder.kill()
        holder.wait()
        assert close_abandoned_runs(db) == 1
        state, reason = status(db, run_id)
        assert state == "abandoned"
        assert f"process {holder.pid}" in reason and "ended before finishing" in reason


def test_a_run_that_ends_normally_is_not_abandoned_later(tmp_path):
    db_path = tmp_path / "runs.db"
    holder, run_id = hold_run(db_path, "pubmed")
    holder.communicate("\n", timeout=30)
    db = open_db(db_path)
    assert close_abandoned_runs(db) == 0
    assert status(db, run_id) == ("ok", None)


def test_source_errors_fail_the_run_with_their_reason_and_bugs_say_internal_error(tmp_path):
    db = open_db(tmp_path / "runs.db")
    with recorded_run(db, "feed:a") as run:
        raise SourceError("HTTP 503 from https://example.org/rss")
    assert (run.status, run.error) == ("failed", "HTTP 503 from https://example.org/rss")

    with recorded_run(db, "feed:b") as run:
        run.counts.fetched = 3  # something was committed before the bug
        raise KeyError("title")
    assert run.status == "partial"
    assert run.error == "internal error: KeyError: 'title'"
    assert [row["status"] for row in recent_runs(db)] == ["partial", "failed"]


def test_an_interrupted_ingest_is_closed_and_the_command_still_ends(tmp_path):
    """A killed `litmon ingest` used to stay 'running' forever; now the next run of any
    kind closes it."""
    db_path = tmp_path / "runs.db"
    holder, run_id = hold_run(db_path, "ingest:pubmed-xml")
    holder.kill()
    holder.wait()
    feed = tmp_path / "feed.xml"
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        "<item><title>A QSM study in MS</title><guid>g1</guid></item></channel></rss>"
    )
    result = CliRunner().invoke(cli, ["--db", str(db_path), "ingest", "feed", str(feed)])
    assert result.exit_code == 0, result.output
    assert status(open_db(db_path), run_id)[0] == "abandoned"


def crawl_with_retries(eutils, tmp_path):
    """A PubMed crawl whose efetch met a 429 with Retry-After and a short answer (both
    retried), then a feed poll that failed; returns the database path."""
    eutils.add_xml(
        article_set([article(43000 + n, today_utc() - timedelta(days=n)) for n in range(3)])
    )
    eutils.inject(Fault("429", retry_after="1"), Fault("short"), endpoint="efetch")
    (tmp_path / "feeds.toml").write_text('[[feed]]\nname = "gone"\nurl = "http://127.0.0.1:9/x"\n')
    config = tmp_path / "litmon.toml"
    config.write_text(
        '[ncbi]\ntimeout = 2\napi_key = "k"\n[feeds]\nfile = "feeds.toml"\n'
        '[topics.ms]\nquery = "multiple sclerosis[tiab]"\n'
    )
    db_path = tmp_path / "history.db"
    base = ["--config", str(config), "--db", str(db_path)]
    runner = CliRunner(env={"LITMON_EUTILS_URL": eutils.url})
    assert runner.invoke(cli, [*base, "crawl", "pubmed"]).exit_code == 0
    assert runner.invoke(cli, [*base, "crawl", "feeds"]).exit_code == 1
    return db_path


def runs_cli(db_path, *args):
    return CliRunner().invoke(cli, ["--db", str(db_path), "runs", *args])


def test_runs_show_lists_each_retry_429_and_missing_pmid_of_a_run(eutils, tmp_path):
    db_path = crawl_with_retries(eutils, tmp_path)
    [pubmed] = json.loads(runs_cli(db_path, "--source", "pubmed", "--json").output)

    shown = runs_cli(db_path, "show", str(pubmed["id"]))

    assert shown.exit_code == 0, shown.output
    assert "rate_limited: efetch.fcgi: HTTP 429 (Retry-After: 1s); retrying" in shown.output
    assert "short_response: efetch.fcgi:" in shown.output
    assert "PMIDs missing from the answer: 4300" in shown.output
    assert f"pid {os.getpid()} on " in shown.output and "finished: 20" in shown.output
    record = json.loads(runs_cli(db_path, "show", str(pubmed["id"]), "--json").output)
    assert [note["event"] for note in record["notes"]] == ["rate_limited", "short_response"]
    assert record["status"] == "ok" and record["new"] == 3 and record["seconds"] >= 1
    # the list points at them
    assert f"2 notes: litmon runs show {pubmed['id']}" in runs_cli(db_path).output


def test_runs_filters_by_source_kind_failure_and_date_newest_first(eutils, tmp_path):
    db_path = crawl_with_retries(eutils, tmp_path)

    every = json.loads(runs_cli(db_path, "--json").output)  # one JSON array
    feeds = [
        json.loads(line)
        for line in runs_cli(db_path, "--source", "feed", "--nl").output.splitlines()
    ]
    failed = json.loads(runs_cli(db_path, "--failed", "--json").output)
    later = runs_cli(db_path, "--since", (today_utc() + timedelta(days=1)).isoformat())

    assert [row["id"] for row in every] == sorted((row["id"] for row in every), reverse=True)
    assert {row["source"] for row in every} == {"pubmed", "feed:gone"}
    assert [row["source"] for row in feeds] == ["feed:gone"]
    assert [row["source"] for row in failed] == ["feed:gone"]
    assert "cannot reach http://127.0.0.1:9/x" in failed[0]["error"]
    assert later.output.startswith("no matching runs yet")
    assert json.loads(runs_cli(db_path, "--source", "fee", "--json").output) == []
    assert len(json.loads(runs_cli(db_path, "-n", "1", "--json").output)) == 1


def test_runs_show_of_an_unknown_run_is_one_line_and_exit_2(tmp_path):
    result = runs_cli(tmp_path / "empty.db", "show", "999")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"litmon: no run #999 in {tmp_path / 'empty.db'}"]
    help_text = runs_cli(tmp_path / "empty.db", "--help").output
    assert "--failed" in help_text and "--since" in help_text and "show" in help_text


def test_notes_are_the_run_threads_warnings_capped_with_a_count_of_the_rest(tmp_path):
    db = open_db(tmp_path / "notes.db")
    log = logging.getLogger("litmon.crawler.entrez")
    with recorded_run(db, "pubmed", "capped") as run:
        other = threading.Thread(target=log.warning, args=("another thread's warning",))
        other.start()
        other.join()
        log.info("not a note")
        for n in range(MAX_NOTES + 7):
            log.warning("retry %d", n, extra={"event": "server_error"})
    [row] = recent_runs(db)
    messages = [note["message"] for note in row["notes"]]
    assert messages == [f"retry {n}" for n in range(MAX_NOTES)] + ["+7 more"]
    assert row["notes"][0]["event"] == "server_error" and row["notes"][0]["level"] == "WARNING"
    assert run.notes == row["notes"][:MAX_NOTES]
    log.warning("after the run")  # no run active: kept nowhere, no error
    assert recent_runs(db)[0]["notes"] == row["notes"]
