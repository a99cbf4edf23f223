"""A database on a full disk or a read-only one: one clear line and exit 1, never a
traceback or a retry loop; the failed run is recorded where a run can be recorded (or the
command says it could not be); what was committed before stays intact.

The full disk is a real one: a small tmpfs, mounted when the tests run as root (skipped
otherwise). A read-only database is a read-only remount of it, or a chmod without root.
"""

import json
import os
import sqlite3
import subprocess
import sys
from datetime import date, timedelta

import pytest
from pubmed_builder import article, article_set

from litmon.core.clock import today_utc

DAY = date(2026, 1, 1)


@pytest.fixture
def disk(tmp_path):
    """A file system of 32 MiB of its own."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if not mount(mount_point, "size=32m"):
        pytest.skip("cannot mount a small file system here (needs root)")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


def mount(where, options):
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True
        )
    except FileNotFoundError:
        return False
    return done.returncode == 0


def ncbi(eutils):
    return {"LITMON_EUTILS_URL": eutils.url, "NCBI_API_KEY": "k" * 36}


def litmon(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "litmon", "-q", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def xml_file(path, first, count):
    records = [
        article(first + n, DAY, title=f"MRI biomarker {n * 7919 % 10007} in cohort {first + n}")
        for n in range(count)
    ]
    path.write_bytes(article_set(records))
    return path


def seed(db_path, tmp_path):
    """Five works stored while there is room: what must survive."""
    seeded = litmon(
        "--db", str(db_path), "ingest", "pubmed-xml", str(xml_file(tmp_path / "a.xml", 100, 5))
    )
    assert seeded.returncode == 0, seeded.stderr


def fill(disk, leave_bytes):
    """Fill the file system up to ``leave_bytes`` of free space."""
    stat = os.statvfs(disk)
    (disk / "filler").write_bytes(b"\0" * (stat.f_bavail * stat.f_frsize - leave_bytes))


def said(result):
    """What the command said to a person: stderr without its JSON log lines."""
    return [line for line in result.stderr.splitlines() if not line.startswith("{")]


def logged(result):
    return [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]


def inspect(db_path):
    """Read without writing: quick_check, the works and the runs."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        works = conn.execute("SELECT count(*), count(DISTINCT pmid) FROM works").fetchone()
        runs = conn.execute("SELECT status, error FROM crawl_runs ORDER BY id").fetchall()
    finally:
        conn.close()
    return check, works, runs


def test_a_full_disk_fails_ingest_and_crawl_in_one_line_keeping_what_was_stored(
    disk, tmp_path, eutils
):
    db_path = disk / "litmon.db"
    seed(db_path, tmp_path)
    fill(disk, 400 * 1024)  # not even one batch fits
    big = xml_file(tmp_path / "big.xml", 5000, 3000)
    eutils.add_xml(
        article_set([article(70000 + n, today_utc() - timedelta(days=n)) for n in range(100)])
    )

    ingest = litmon("--db", str(db_path), "ingest", "pubmed-xml", str(big))
    crawl = litmon("--db", str(db_path), "crawl", "pubmed", env=ncbi(eutils))

    full = f"database or disk is full: {db_path}"
    for result in (ingest, crawl):
        assert result.returncode == 1, result.stderr
        # how far the failed batch grew the write-ahead log decides whether the run's own
        # row still fits; when it does not, the line says so (and the next start closes it)
        assert said(result) in ([f"litmon: {full}"], [f"litmon: {full} (no run could be recorded)"])
        assert "Traceback" not in result.stderr
    check, (stored, distinct), runs = inspect(db_path)
    assert check == "ok" and stored == distinct and stored >= 5
    assert runs[:2] == [("ok", None), ("failed", full)]
    # the crawl stopped at the topic whose batch did not fit: that run failed (or could
    # not be recorded at all); a topic before it may have had nothing new to store
    crawled = runs[2:]
    assert 1 <= len(crawled) <= 2 and all(run[1] in (None, full) for run in crawled)
    if "no run could be recorded" not in said(crawl)[0]:
        assert crawled[-1] in (("failed", full), ("partial", full))
    assert len(eutils.requests) < 10  # the crawl stopped at the first failed batch


def test_a_disk_that_fills_mid_ingest_keeps_the_committed_batches_and_a_rerun_finishes(
    disk, tmp_path
):
    db_path = disk / "litmon.db"
    seed(db_path, tmp_path)
    fill(disk, 2500 * 1024)  # a batch or two fit, then the disk is full
    big = xml_file(tmp_path / "big.xml", 5000, 3000)

    full = litmon("--db", str(db_path), "ingest", "pubmed-xml", str(big))

    assert full.returncode == 1 and "Traceback" not in full.stderr
    assert said(full) == [f"litmon: database or disk is full: {db_path}"], full.stderr
    check, (stored, distinct), runs = inspect(db_path)
    assert check == "ok" and stored == distinct and 5 < stored < 3005
    ended = [line for line in logged(full) if line["event"] in ("run_finished", "run_not_recorded")]
    if runs[-1][0] == "running":  # the full disk refused the run's own record: it says so
        assert [line["event"] for line in ended] == ["run_not_recorded", "run_finished"]
        assert "could not be recorded as partial: database or disk is full" in ended[0]["message"]
    else:
        assert runs[-1] == ("partial", f"database or disk is full: {db_path}")

    (disk / "filler").unlink()
    rerun = litmon("--db", str(db_path), "ingest", "pubmed-xml", str(big))

    assert rerun.returncode == 0, rerun.stderr
    check, works, runs = inspect(db_path)
    assert check == "ok" and works == (3005, 3005)
    assert runs[1][0] in ("partial", "abandoned") and runs[-1] == ("ok", None)


def test_a_read_only_database_is_one_line_and_exit_1_and_stays_as_it_was(tmp_path, eutils):
    folder = tmp_path / "ro"
    folder.mkdir()
    db_path = folder / "litmon.db"
    seed(db_path, tmp_path)
    before = db_path.read_bytes()
    if os.geteuid() != 0:
        db_path.chmod(0o444)  # root writes through this; a user cannot
    elif not (mount(folder, "size=8m") and restore(folder, before)):
        pytest.skip("cannot make a read-only file system here")
    try:
        more = xml_file(tmp_path / "b.xml", 200, 5)
        ingest = litmon("--db", str(db_path), "ingest", "pubmed-xml", str(more))
        crawl = litmon(
            "--db", str(db_path), "crawl", "pubmed", env={"LITMON_EUTILS_URL": eutils.url}
        )
        for result in (ingest, crawl):
            assert result.returncode == 1, result.stderr
            [line] = said(result)
            assert (
                line.startswith("litmon: ")
                and "read-only" in line
                and "Traceback" not in result.stderr
            )
        assert said(ingest) == [f"litmon: the database is read-only: {db_path}"]
        assert db_path.read_bytes() == before
        (tmp_path / "copy.db").write_bytes(before)  # SQLite cannot open WAL files read-only
        check, works, _ = inspect(tmp_path / "copy.db")
        assert check == "ok" and works == (5, 5)
        assert eutils.requests == []  # nothing was asked of NCBI that could not be stored
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", "-l", str(folder)], check=False)


def restore(folder, data):
    """Put the database on the fresh file system, then make that read-only."""
    (folder / "litmon.db").write_bytes(data)
    done = subprocess.run(["mount", "-o", "remount,ro", str(folder)], capture_output=True)
    return done.returncode == 0
