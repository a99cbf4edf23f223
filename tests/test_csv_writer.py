"""One CSV writer (core/csv_writer.py) for every CSV litmon writes: a cell a spreadsheet
would run as a formula is text in `export works` as in `export candidates`."""

import csv
import io
import json

import pytest
from click.testing import CliRunner
from test_queue import make_works

from litmon import review
from litmon.cli import cli
from litmon.core.csv_writer import cell
from litmon.db.schema import open_db

LEADING = ["=", "+", "-", "@", "\t", "\r"]


@pytest.mark.parametrize("start", LEADING)
def test_each_formula_start_is_made_text(start):
    assert cell(f"{start}SUM(1+1)") == f"'{start}SUM(1+1)"


def test_ordinary_cells_are_untouched():
    # a near-twin of each formula: the same characters not leading
    assert cell("Rim lesions = iron? 1+1 a-b me@x.org") == "Rim lesions = iron? 1+1 a-b me@x.org"
    assert cell(None) == "" and cell(["a", "b"]) == "a; b" and cell(7) == "7"


@pytest.fixture
def db_path(tmp_path, monkeypatch):
    """Works whose titles start with each formula character, and one that does not."""
    path = tmp_path / "csv.db"
    monkeypatch.setenv("LITMON_DB", str(path))
    db = open_db(path)
    ids = make_works(db, len(LEADING) + 1)
    for start, work_id in zip(LEADING, ids, strict=False):
        db.execute(
            "UPDATE works SET title = ?, authors = ? WHERE id = ?",
            [f'{start}HYPERLINK("http://x")', json.dumps([f"{start}SUM(1+1)"]), work_id],
        )
    db.conn.commit()
    for work_id in ids:
        review.enqueue(db, work_id, [("ms_imaging", 5.0)])
    return path


@pytest.mark.parametrize("export", ["works", "candidates"])
def test_every_export_neutralizes_each_formula_start(db_path, export):
    result = CliRunner().invoke(cli, ["export", export, "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    titles = sorted(row["title"] for row in rows)
    expected = [f'\'{start}HYPERLINK("http://x")' for start in LEADING]
    assert sorted(t for t in titles if t.startswith("'")) == sorted(expected)
    assert any(title.startswith("Paramagnetic rim lesions") for title in titles)  # untouched
    assert {row["authors"] for row in rows} >= {f"'{start}SUM(1+1)" for start in LEADING}
