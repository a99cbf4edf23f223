"""Schema migrations: each upgrade is one transaction (the version is read inside it), a
database that holds data is copied before it is upgraded, and a schema newer than the code
is refused."""

import sqlite3

import pytest
import sqlite_utils

from litmon.core.clock import today_utc
from litmon.db import schema
from litmon.db.schema import MIGRATIONS, SchemaError, open_db


def old_database(path, version, with_work=True):
    """A database as an earlier litmon left it: migrations 1..version applied."""
    conn = sqlite3.connect(path)
    for number, script in enumerate(MIGRATIONS[:version], start=1):
        conn.executescript(f"BEGIN; {script}; PRAGMA user_version = {number}; COMMIT;")
    if with_work:
        conn.execute("INSERT INTO works (title, created_at, updated_at) VALUES ('Kept', 'x', 'x')")
        conn.commit()
    conn.close()


def version_of(path):
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def test_a_database_with_data_is_backed_up_before_it_is_upgraded(tmp_path):
    path = tmp_path / "litmon.db"
    old_database(path, 4)

    open_db(path)

    backup = tmp_path / "litmon.db.v4.bak"
    assert backup.exists()
    assert version_of(backup) == 4
    copy = sqlite3.connect(backup)
    assert copy.execute("SELECT title FROM works").fetchall() == [("Kept",)]
    assert version_of(path) == len(MIGRATIONS)


def test_an_empty_or_current_database_is_not_copied(tmp_path):
    old_database(tmp_path / "empty.db", 4, with_work=False)
    open_db(tmp_path / "empty.db")
    open_db(tmp_path / "new.db")
    open_db(tmp_path / "new.db")
    assert sorted(p.name for p in tmp_path.glob("*.bak")) == []


def test_a_schema_newer_than_the_code_is_refused_untouched(tmp_path):
    path = tmp_path / "future.db"
    open_db(path)
    sqlite3.connect(path).execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}").connection.close()
    with pytest.raises(SchemaError, match="newer than this litmon"):
        open_db(path)
    assert version_of(path) == len(MIGRATIONS) + 1


def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "litmon.db"
    old_database(path, len(MIGRATIONS))
    broken = "CREATE TABLE half_done (x);\nINSERT INTO no_such_table VALUES (1)"
    monkeypatch.setattr(schema, "MIGRATIONS", [*MIGRATIONS, broken])
    with pytest.raises(SchemaError, match="no such table: no_such_table"):
        open_db(path)
    assert version_of(path) == len(MIGRATIONS)
    tables = sqlite_utils.Database(path).table_names()
    assert "half_done" not in tables  # the statement before the failure was rolled back


def test_too_old_sqlite_is_a_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setattr(schema, "MIN_SQLITE", (99, 0, 0))
    with pytest.raises(SchemaError, match=r"SQLite 3\.\d+\.\d+ is too old: litmon needs 99\.0\.0"):
        open_db(tmp_path / "x.db")


def _open(path, barrier, errors):
    barrier.wait()
    try:
        open_db(path)
    except Exception:
        import traceback

        errors.put(traceback.format_exc())
        raise


def test_processes_opening_an_old_database_together_all_succeed(tmp_path):
    """Cron and the daemon may start at the same minute: each process reads the schema
    version inside its upgrade transaction, so only the first upgrades."""
    import multiprocessing

    path = tmp_path / "litmon.db"
    old_database(path, 1)
    context = multiprocessing.get_context("spawn")
    barrier, errors = context.Barrier(4), context.Queue()
    workers = [context.Process(target=_open, args=(path, barrier, errors)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    exits = [worker.exitcode for worker in workers]
    assert exits == [0, 0, 0, 0], errors.get(timeout=5)
    assert version_of(path) == len(MIGRATIONS)


def test_a_checkpoint_left_in_the_future_is_brought_back_to_today(tmp_path):
    """An earlier litmon let --until move a checkpoint past today, which skipped every record
    indexed late from then on."""
    path = tmp_path / "litmon.db"
    old_database(path, 5, with_work=False)
    conn = sqlite3.connect(path)
    conn.executemany(
        "INSERT INTO checkpoints (source, topic, kind, watermark, updated_at) VALUES (?, ?, ?, ?, 'x')",
        [("pubmed", "future", "edat", "2999-01-01"), ("pubmed", "past", "edat", "2020-05-01")],
    )
    conn.commit()
    conn.close()

    db = open_db(path)

    marks = dict(db.execute("SELECT topic, watermark FROM checkpoints").fetchall())
    assert marks == {"future": today_utc().isoformat(), "past": "2020-05-01"}


def test_links_of_existing_works_are_indexed_by_the_upgrade(tmp_path):
    """Schema 9 indexes comments/corrections links by the PMID they point at; works stored
    before it are indexed by the migration itself."""
    from litmon.db.candidates import linking_to

    path = tmp_path / "litmon.db"
    old_database(path, 8, with_work=False)
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO works (pmid, title, links, created_at, updated_at) VALUES"
        " ('900', 'Erratum: QSM in MS', '[{\"type\": \"ErratumFor\", \"pmid\": \"800\"}]', 'x', 'x')"
    )
    conn.commit()
    conn.close()

    db = open_db(path)

    [notice] = linking_to(db.conn, "800", ("ErratumFor",))
    assert (notice["pmid"], notice["type"]) == ("900", "ErratumFor")
    assert linking_to(db.conn, "801", ("ErratumFor",)) == []


def test_an_up_to_date_database_opens_while_a_writer_holds_it(tmp_path):
    """`litmon status` or the web page during a crawl: opening a database that needs no
    upgrade and no re-blocking takes no write lock, so it does not wait for the writer."""
    import threading

    path = tmp_path / "busy.db"
    open_db(path).conn.close()
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    opened = threading.Event()

    def open_it() -> None:
        open_db(path).conn.close()
        opened.set()

    threading.Thread(target=open_it, daemon=True).start()
    try:
        assert opened.wait(5), "open_db waited for the writer's lock"
    finally:
        writer.execute("ROLLBACK")
        writer.close()
