"""Every run is logged the same way (pipeline/run.py): it ends ok, partial or failed with a
one-line reason, and a run whose process died is closed 'abandoned' by the next run that
starts, never one that is still alive."""

import subprocess
import sys
import textwrap

from click.testing import CliRunner

from litmon.cli import cli
from litmon.core.errors import SourceError
from litmon.db.runs import recent_runs
from litmon.db.schema import open_db
from litmon.pipeline.run import close_abandoned_runs, recorded_run

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
