"""One output layer (litmon/output.py) for every listing: `--json` is one JSON array of
every row (streamed) unless -n is given, `--nl` one object a line, text a table whose
columns stay put; the same flags print the same shapes in `queue list` and `runs`."""

import json

import pytest
from click.testing import CliRunner
from test_queue import make_works

from litmon import review
from litmon.cli import cli
from litmon.core.errors import SourceError
from litmon.db.schema import open_db
from litmon.output import plural
from litmon.pipeline.run import recorded_run


@pytest.fixture
def db_path(tmp_path, monkeypatch):
    """A database named by LITMON_DB, as a deployment names it."""
    path = tmp_path / "out.db"
    monkeypatch.setenv("LITMON_DB", str(path))
    monkeypatch.setenv("LITMON_EDITOR", "maria")
    open_db(path)
    return path


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def queued(db_path, count: int):
    """``count`` candidates scoring count, count-1, ... 1."""
    db = open_db(db_path)
    for n, work_id in enumerate(make_works(db, count)):
        review.enqueue(db, work_id, [("ms_imaging", float(count - n))])
    return db


def failed_runs(db_path, count: int, error: str = "HTTP 503"):
    db = open_db(db_path)
    for n in range(count):
        with recorded_run(db, f"feed:f{n}"):
            raise SourceError(error)


def test_json_lists_every_row_unless_n_is_given(db_path):
    queued(db_path, 60)  # more than a text page (50)
    failed_runs(db_path, 25)  # more than the text listing of runs (20)
    assert len(json.loads(run("queue", "list", "--json").output)) == 60
    assert len(run("queue", "list", "--nl").output.splitlines()) == 60
    assert len(json.loads(run("queue", "list", "--json", "-n", "7").output)) == 7
    last = json.loads(run("queue", "list", "--json", "--last").output)  # the last page
    assert [item["score"] for item in last] == [float(n) for n in range(50, 0, -1)]
    assert len(json.loads(run("runs", "--json").output)) == 25
    assert len(run("runs", "--nl").output.splitlines()) == 25
    assert len(json.loads(run("runs", "--json", "-n", "3").output)) == 3
    # text keeps its page, and says how to go on
    text = run("queue", "list").output
    assert text.count("topics: ms_imaging") == 50 and "more: litmon queue list --after" in text
    assert run("runs").output.count(": failed") == 20


def test_queue_and_runs_print_json_the_same_way(db_path):
    queued(db_path, 2)
    failed_runs(db_path, 2, error="bad answer \u009b31m from the server \u202e")
    for args in (("queue", "list"), ("runs",)):
        array = run(*args, "--json").output
        lines = run(*args, "--nl").output
        both = run(*args, "--json", "--nl")
        # one row a line in the array, the same rows one a line with --nl (which wins)
        assert array.startswith("[{") and array.count("\n") == 2, array
        assert both.exit_code == 0 and both.output == lines
        assert [json.loads(line) for line in lines.splitlines()] == json.loads(array)
    raw = run("runs", "--json").output
    # C1 and bidi controls escaped in the JSON text, the value unchanged
    assert "\u009b" not in raw and "\u202e" not in raw and "\\u009b31m" in raw
    assert json.loads(raw)[0]["error"] == "bad answer \u009b31m from the server \u202e"
    assert run("users", "list", "--json").output.strip() == "[]"


def test_the_table_keeps_its_columns_and_cuts_titles_with_an_ellipsis(db_path):
    db = queued(db_path, 12)
    long_title = "Rim lesions " + "and more words " * 20
    db.execute("UPDATE works SET title = ? WHERE id = 1", [long_title])
    db.conn.commit()
    lines = [line for line in run("queue", "list").output.splitlines() if "topics:" not in line]
    header, rows = lines[0], lines[1:]
    assert header.split() == ["ID", "STATE", "SCORE", "PAPER", "TITLE"]
    starts = {line.index("pmid:") for line in rows}
    assert len(rows) == 12 and starts == {header.index("PAPER")}  # 1@1 and 12@1 alike
    [first] = [line for line in rows if "Rim lesions" in line]
    assert first.endswith("…") and long_title.strip() not in first


def test_plurals_say_one_thing_and_many_things():
    assert plural(1, "request") == "1 request"
    assert plural(2, "request") == "2 requests"
    assert plural(0, "attempt") == "0 attempts"
    assert plural(1, "entry|entries") == "1 entry" and plural(3, "entry|entries") == "3 entries"


def test_runs_say_one_request_and_one_error(db_path):
    db = open_db(db_path)
    with recorded_run(db, "feed:one") as one:
        one.counts.requests = 1
        raise SourceError("HTTP 500")
    line = run("runs").output.splitlines()[0]
    assert "1 request, 1 error" in line and "1 requests" not in line
