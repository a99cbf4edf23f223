"""``litmon db prune|vacuum|backup``: retention that keeps what status and the readers of
work_events need, a vacuum that waits for no crawl, and a backup that is restored the way
the README says (stop, copy over, remove -wal/-shm, start) and crawled on from."""

import gc
import shutil
import sqlite3
import struct
from datetime import timedelta
from pathlib import Path

import pytest
from ops_deployment import deployed
from pubmed_builder import article, article_set

from litmon.core.clock import today_utc
from litmon.core.locks import file_lock
from litmon.db.maintenance import quick_check

KEPT_TABLES = ("works", "sightings", "checkpoints", "candidates", "candidate_audit", "merges")


@pytest.fixture
def deployment(tmp_path, eutils, monkeypatch):
    with deployed(tmp_path, eutils, monkeypatch) as deployment:
        deployment.crawl()
        yield deployment


def query(path, sql, *args):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def table_counts(path):
    return {table: query(path, f"SELECT count(*) FROM {table}")[0][0] for table in KEPT_TABLES}


def more_articles(deployment, first, count):
    today = today_utc()
    deployment.eutils.add_xml(
        article_set([article(first + n, today - timedelta(days=n)) for n in range(count)])
    )


def test_prune_keeps_the_newest_run_of_each_source_and_runs_of_unread_events(deployment):
    more_articles(deployment, 7100, 2)
    assert deployment.run("crawl", "pubmed").exit_code == 0  # 2 more works, their events
    assert deployment.run("crawl", "pubmed").exit_code == 0  # nothing new: the newest run
    path = deployment.db_path
    deployment.age_runs("pubmed", 24 * 100)
    deployment.age_runs("feed:msj", 24 * 100)
    before = table_counts(path)
    old_runs = [row[0] for row in query(path, "SELECT id FROM crawl_runs WHERE topic = 'ms'")]
    assert len(old_runs) == 3
    position = query(path, "SELECT position FROM event_readers WHERE reader = 'review'")[0][0]
    deployment.sql("UPDATE event_readers SET position = 0 WHERE reader = 'review'")

    unread = deployment.run("db", "prune", "--days", "90")

    assert unread.exit_code == 0
    assert "pruned 0 crawl runs" in unread.output and "2 kept for unread events" in unread.output
    assert len(query(path, "SELECT id FROM crawl_runs")) == 5  # 3 of ms, the feed, doi-lookup

    deployment.sql("UPDATE event_readers SET position = ? WHERE reader = 'review'", position)
    read = deployment.run("db", "prune")  # [retention] runs_days: 90

    assert read.exit_code == 0
    assert read.output.startswith("pruned 2 crawl runs finished before ")
    assert "(90 days); 0 kept for unread events, 5 read events unlinked" in read.output
    remaining = query(path, "SELECT source, topic, id FROM crawl_runs ORDER BY id")
    assert [row[:2] for row in remaining] == [
        ("feed:msj", None),
        ("pubmed", "doi-lookup"),
        ("pubmed", "ms"),
    ]
    assert remaining[-1][2] == old_runs[-1]  # the newest of the topic
    assert query(path, "SELECT count(*) FROM work_events WHERE run_id IS NULL")[0][0] == 5
    assert table_counts(path) == before  # nothing else is ever pruned
    assert deployment.run("status", "--json").exit_code == 0


def test_prune_of_recent_runs_removes_nothing(deployment):
    result = deployment.run("db", "prune", "--days", "1")

    assert result.exit_code == 0
    assert result.output.startswith("pruned 0 crawl runs")
    assert deployment.run("db", "prune", "--days", "0").exit_code == 2


def test_vacuum_waits_for_no_crawl_and_keeps_every_work(deployment):
    works = table_counts(deployment.db_path)["works"]
    with file_lock(Path(f"{deployment.db_path}.lock")):  # what every crawl job holds
        refused = deployment.run("db", "vacuum")
    assert refused.exit_code == 75
    assert "is held by pid" in refused.output and "this run did nothing" in refused.output

    result = deployment.run("db", "vacuum")

    assert result.exit_code == 0
    assert result.output.startswith(f"vacuumed {deployment.db_path}: ")
    assert table_counts(deployment.db_path)["works"] == works
    assert query(deployment.db_path, "PRAGMA quick_check") == [("ok",)]


def test_a_backup_restored_over_the_database_is_crawled_on_from(deployment, tmp_path):
    copy = tmp_path / "backups" / "litmon-1.db"
    copy.parent.mkdir()
    result = deployment.run("db", "backup", str(copy))
    assert result.exit_code == 0
    assert result.output.startswith(f"backed up {deployment.db_path} to {copy}: ")
    assert result.output.rstrip().endswith("MiB, quick_check ok")
    assert deployment.run("db", "backup", str(copy)).exit_code == 2  # exists: --force
    assert deployment.run("db", "backup", str(copy), "--force").exit_code == 0
    earlier = {row[0] for row in query(copy, "SELECT pmid FROM works WHERE pmid IS NOT NULL")}
    assert earlier >= {"7000", "7001", "7002"}

    more_articles(deployment, 7200, 2)
    assert deployment.run("crawl", "pubmed").exit_code == 0
    assert query(deployment.db_path, "SELECT count(*) FROM works WHERE pmid LIKE '72%'") == [(2,)]

    # the restore: (timers stopped) copy over the database, remove its -wal and -shm, start
    gc.collect()  # this process's connections from the commands above
    shutil.copyfile(copy, deployment.db_path)
    for suffix in ("-wal", "-shm"):
        Path(f"{deployment.db_path}{suffix}").unlink(missing_ok=True)

    conn = sqlite3.connect(deployment.db_path)
    assert quick_check(conn) == []
    restored = {row[0] for row in conn.execute("SELECT pmid FROM works WHERE pmid IS NOT NULL")}
    conn.close()
    assert restored == earlier  # the works of the backup, not the later ones
    crawl = deployment.run("crawl", "pubmed")
    assert crawl.exit_code == 0
    assert query(deployment.db_path, "SELECT count(*) FROM works WHERE pmid LIKE '72%'") == [
        (2,)
    ]  # the checkpoint came back with the backup, so the crawl fetched them again
    assert deployment.run("check").exit_code == 0


def test_a_backup_of_a_damaged_database_fails_and_writes_nothing(deployment, tmp_path):
    query(deployment.db_path, "PRAGMA wal_checkpoint(TRUNCATE)")
    with open(deployment.db_path, "r+b") as handle:  # the header's count of free pages
        handle.seek(36)
        handle.write(struct.pack(">I", 7))
    copy = tmp_path / "bad.db"

    result = deployment.run("db", "backup", str(copy))

    assert result.exit_code == 1
    assert "failed PRAGMA quick_check" in result.output and "not written" in result.output
    assert list(tmp_path.glob("*bad.db*")) == []


def test_every_crawl_prunes_the_crawl_log_by_the_configured_retention(deployment):
    deployment.write_config("[retention]\nruns_days = 30\n")
    for _ in range(2):
        deployment.crawl()
    old = query(deployment.db_path, "SELECT min(id) FROM crawl_runs")[0][0]
    conn = sqlite3.connect(deployment.db_path)
    conn.execute(
        "UPDATE crawl_runs SET started_at = '2026-01-01T00:00:00Z',"
        " finished_at = '2026-01-01T00:01:00Z' WHERE id = ?",
        (old,),
    )
    conn.commit()
    conn.close()
    before = table_counts(deployment.db_path)
    runs_before = query(deployment.db_path, "SELECT count(*) FROM crawl_runs")[0][0]
    deployment.crawl()
    ids = [row[0] for row in query(deployment.db_path, "SELECT id FROM crawl_runs")]
    assert old not in ids and len(ids) == runs_before  # one pruned, one added
    assert table_counts(deployment.db_path) == before
