import sqlite3

from litmon.db.schema import CACHE_KIB, MIGRATIONS, PAGE_SIZE, open_db


def _pragma(db, name):
    return db.execute(f"PRAGMA {name}").fetchone()[0]


def test_new_database_is_wal_with_large_pages_cache_and_current_schema(tmp_path):
    db = open_db(tmp_path / "new.db")
    assert _pragma(db, "journal_mode") == "wal"
    assert _pragma(db, "page_size") == PAGE_SIZE
    assert _pragma(db, "user_version") == len(MIGRATIONS)
    assert _pragma(db, "foreign_keys") == 1
    assert _pragma(db, "cache_size") == -CACHE_KIB


def test_existing_database_keeps_its_page_size_and_is_migrated(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA page_size = 4096")
    conn.executescript(f"BEGIN; {MIGRATIONS[0]}; PRAGMA user_version = 1; COMMIT;")
    conn.execute("INSERT INTO works (title, created_at, updated_at) VALUES ('Kept', 'x', 'x')")
    conn.commit()
    conn.close()

    db = open_db(path)

    assert _pragma(db, "page_size") == 4096
    assert _pragma(db, "user_version") == len(MIGRATIONS)
    assert db.execute("SELECT title FROM works").fetchall() == [("Kept",)]
