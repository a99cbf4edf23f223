"""One transaction helper for every writer: it nests, and a COMMIT that fails is rolled
back instead of leaving the connection inside a half-done transaction."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from litmon.db.schema import open_db
from litmon.db.transactions import write_transaction

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    """A real litmon database file (WAL) with a table whose foreign key is checked only at
    COMMIT, so that a COMMIT can be made to fail on demand."""
    db = open_db(tmp_path / "litmon.db")
    db.conn.executescript(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
        "CREATE TABLE child (id INTEGER PRIMARY KEY,"
        " parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);"
    )
    return db.conn


def test_a_failed_commit_is_rolled_back_and_the_connection_writes_again(conn):
    with pytest.raises(sqlite3.IntegrityError), write_transaction(conn):
        conn.execute("INSERT INTO child (parent_id) VALUES (99)")  # no parent 99: COMMIT fails
    assert not conn.in_transaction
    assert conn.execute("SELECT count(*) FROM child").fetchone()[0] == 0
    with write_transaction(conn):
        conn.execute("INSERT INTO parent (id) VALUES (1)")
    other = sqlite3.connect(conn.execute("PRAGMA database_list").fetchone()[2])
    assert other.execute("SELECT id FROM parent").fetchall() == [(1,)]


def test_a_nested_transaction_that_fails_undoes_only_its_own_writes(conn):
    with write_transaction(conn):
        conn.execute("INSERT INTO parent (id) VALUES (1)")
        with pytest.raises(ValueError), write_transaction(conn):
            conn.execute("INSERT INTO parent (id) VALUES (2)")
            raise ValueError("the inner step went wrong")
        with write_transaction(conn):
            conn.execute("INSERT INTO parent (id) VALUES (3)")
        assert conn.in_transaction  # the inner ones did not commit the outer one
    assert [r[0] for r in conn.execute("SELECT id FROM parent ORDER BY id")] == [1, 3]


def test_an_outer_failure_undoes_what_the_inner_transactions_wrote(conn):
    with pytest.raises(ValueError), write_transaction(conn):
        with write_transaction(conn):
            conn.execute("INSERT INTO parent (id) VALUES (1)")
        raise ValueError("the outer step went wrong")
    assert conn.execute("SELECT count(*) FROM parent").fetchone()[0] == 0


def test_every_writer_goes_through_the_helper():
    """No module begins or commits a transaction by hand (``BEGIN``, the sqlite3
    connection's ``with conn:``, ``.commit()``), except the helper itself."""
    helper = ROOT / "db" / "transactions.py"
    by_hand = re.compile(r"execute\(\s*f?\"(BEGIN|COMMIT)|with (db\.)?conn:|\.commit\(\)")
    offenders = []
    for folder in (
        "core",
        "crawler",
        "db",
        "feeds",
        "imports",
        "litmon",
        "pipeline",
        "review",
        "scoring",
        "web",
        "replay",
    ):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == helper:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if by_hand.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
