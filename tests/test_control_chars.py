"""Control characters never reach the terminal: text from outside (imports, feeds, PubMed,
API bodies, forms) loses its C0/C1 controls where it comes in (core/text.py `clean`), and
whatever the CLI prints from the database has them spelled out (litmon/output.py)."""

import csv
import json

import pytest
import requests
from click.testing import CliRunner
from test_queue import make_works
from web_server import serving

from litmon import review
from litmon.cli import cli
from litmon.core.records import Record
from litmon.core.text import clean, visible
from litmon.db.schema import open_db
from litmon.review.guards import parse_parts
from litmon.web import auth
from litmon.web.app import create_app

# clear the screen, print a fake all-clear, set the window title; the 8-bit CSI; a
# right-to-left override that would reverse what follows it
ATTACK = "\x1b[2J\x1b[Hlitmon: all good\x1b]0;pwned\x07 \x9b31m \u202eevil"
RAW = ("\x1b", "\x07", "\x9b", "\u202e")


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def assert_escaped(output: str):
    assert not any(char in output for char in RAW), repr(output)
    assert "\\x1b]0;pwned\\x07" in output and "\\u202e" in output


@pytest.fixture
def db(tmp_path, monkeypatch):
    """A queue whose stored text carries the attack everywhere a client could put it (as a
    database written before the inputs were cleaned would)."""
    monkeypatch.setenv("LITMON_DB", str(tmp_path / "cc.db"))
    monkeypatch.setenv("LITMON_EDITOR", "maria")
    db = open_db(tmp_path / "cc.db")
    [work_id] = make_works(db, 1)
    db.execute("UPDATE works SET title = ?, abstract = ? WHERE id = ?", [ATTACK, ATTACK, work_id])
    db.conn.commit()
    review.enqueue(db, work_id, [("ms_imaging", 9.0)])
    review.decide(db, ["1"], "approve", by="maria", note=f"note {ATTACK}")
    packet = review.claim(db, f"worker {ATTACK}", 60)
    review.fail(db, 1, packet["lease_token"], f"error {ATTACK}")
    return db


@pytest.mark.parametrize(
    "command",
    [("queue", "list"), ("queue", "show", "1"), ("queue", "history", "1")],
)
def test_what_the_cli_prints_from_the_database_is_escaped(db, command):
    result = run(*command)
    assert result.exit_code == 0, result.output
    assert_escaped(result.output)


def test_a_fake_line_cannot_be_printed_in_a_one_line_field(db):
    db.execute("UPDATE works SET title = 'a title\nlitmon: all good' WHERE id = 1")
    db.conn.commit()
    lines = run("queue", "list").output.splitlines()
    assert not any(line.startswith("litmon: all good") for line in lines)
    assert any("a title\\x0alitmon: all good" in line for line in lines)


def test_json_output_escapes_them_and_keeps_the_value(db):
    output = run("queue", "history", "1", "--json").output
    assert not any(char in output for char in RAW)
    assert any(ATTACK in (row["note"] or "") for row in json.loads(output))


def test_an_imported_title_is_stored_without_controls(tmp_path, monkeypatch):
    monkeypatch.setenv("LITMON_DB", str(tmp_path / "import.db"))
    path = tmp_path / "export.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["ID", "title", "abstract", "year"])
        writer.writerow(["1", f"Rim lesions {ATTACK}", "First line.\nSecond\x1b[2J line.", "2026"])
    assert run("ingest", "csv", str(path), "--source", "embase").exit_code == 0
    title, abstract = (
        open_db(tmp_path / "import.db").execute("SELECT title, abstract FROM works").fetchone()
    )
    assert not any(char in title for char in ("\x1b", "\x07", "\x9b"))
    assert title.startswith("Rim lesions [2J[Hlitmon: all good]0;pwned")
    assert abstract == "First line.\nSecond[2J line."  # its line break kept


def test_every_source_s_record_is_cleaned():
    record = Record(
        source="feed:x",
        source_id="a\x00b",
        title="T\x1b]0;x\x07",
        abstract="one\r\ntwo\x9b",
        authors=["Doe\x1b[31m, J"],
        journal="J\x85",
    )
    assert (record.source_id, record.title, record.abstract) == ("ab", "T]0;x", "one\ntwo")
    assert record.authors == ["Doe[31m, J"] and record.journal == "J"


def test_clean_and_visible_keep_what_text_needs():
    assert clean("two\nlines\tand a tab") == "two lines and a tab"
    assert clean("two\nlines\tand a tab", lines=True) == "two\nlines\tand a tab"
    # right-to-left text may need its marks: kept in storage, shown spelled out
    assert clean("\u202bעברית\u202c") == "\u202bעברית\u202c"
    assert visible("\u202bעברית\u202c") == "\\u202bעברית\\u202c"
    assert visible("a\nb", lines=True) == "a\nb" and visible("a\nb") == "a\\x0ab"
    assert visible("Ärzte über Läsionen") == "Ärzte über Läsionen"  # letters untouched


def test_api_bodies_lose_their_controls(tmp_path):
    path = tmp_path / "api.db"
    db = open_db(path)
    [work_id] = make_works(db, 1)
    review.enqueue(db, work_id, [("ms_imaging", 9.0)])
    review.decide(db, ["1"], "approve", by="maria")
    bearer = {"Authorization": f"Bearer {auth.create_token(db, 'w1')}"}
    with serving(create_app(path)) as url:
        packet = requests.post(
            f"{url}/api/claim", json={"worker": f"bot {ATTACK}"}, headers=bearer
        ).json()
        failed = requests.post(
            f"{url}/api/candidates/1/fail",
            json={"token": packet["lease_token"], "error": f"oops {ATTACK}\nsecond line"},
            headers=bearer,
        )
        assert failed.status_code == 200
        only_controls = requests.post(
            f"{url}/api/claim", json={"worker": "\x1b\x07"}, headers=bearer
        )
        assert only_controls.status_code == 422
    stored = " ".join(
        str(value)
        for row in db.execute("SELECT * FROM candidate_audit").fetchall()
        for value in row
    )
    assert "bot [2J[Hlitmon: all good]0;pwned" in stored and "second line" in stored
    assert not any(char in stored for char in ("\x1b", "\x07", "\x9b"))


def test_a_model_s_draft_parts_lose_their_controls():
    # JSON escapes carry controls past the cleaning of the body's text: each part is cleaned
    hand_in = json.dumps({"finding": f"Rims {ATTACK}", "limits": "one\ntwo\x1b[2J"})
    parts = parse_parts(hand_in)
    assert parts["finding"].startswith("Rims [2J[Hlitmon: all good]0;pwned")
    assert parts["limits"] == "one\ntwo[2J"
    assert not any(char in "".join(parts.values()) for char in ("\x1b", "\x07", "\x9b"))
