"""Editors read while a crawl writes: a real ``litmon crawl pubmed`` process stores batch after
batch while other processes list the queue, print the status and take online backups in a
loop. Every reader exits 0 and none ever prints "database is locked"."""

import os
import sqlite3
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

from pubmed_builder import article, article_set

from litmon.core.clock import today_utc

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """
[ncbi]
api_key = "k"
batch_size = 20
timeout = 5
[topics.ms]
query = "multiple sclerosis[tiab]"
[topics.ms.profile]
threshold = 6
[topics.ms.profile.groups.disease]
terms = { "multiple sclerosis" = 3 }
[topics.ms.profile.groups.imaging]
terms = { "QSM" = 4 }
"""


def test_readers_never_see_a_locked_database_while_a_crawl_writes(eutils, tmp_path):
    today = today_utc()
    eutils.add_xml(
        article_set([article(9000 + n, today - timedelta(days=n % 25)) for n in range(300)])
    )
    config = tmp_path / "litmon.toml"
    config.write_text(CONFIG)
    db_path = tmp_path / "busy.db"
    env = {
        **os.environ,
        "LITMON_CONFIG": str(config),
        "LITMON_DB": str(db_path),
        "LITMON_EUTILS_URL": eutils.url,
    }

    def litmon(*args):
        return subprocess.run(
            [sys.executable, "-m", "litmon", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    # a first small crawl, so that the readers have a queue to list from the start
    eutils.set_delay(0)
    first = litmon("crawl", "pubmed", "--until", (today - timedelta(days=20)).isoformat())
    assert first.returncode == 0, first.stderr
    eutils.set_delay(0.15)  # per request: the crawl below takes a few seconds of batches
    crawler = subprocess.Popen(
        [sys.executable, "-m", "litmon", "crawl", "pubmed"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    results: dict[str, list[subprocess.CompletedProcess]] = {}

    def keep_reading(*commands):
        """Run the commands in turn, again and again, for as long as the crawl runs."""
        while crawler.poll() is None:
            for command in commands:
                results.setdefault(command[0], []).append(litmon(*command))

    backup = tmp_path / "during.db"
    readers = [
        threading.Thread(target=keep_reading, args=(("queue", "list", "--json"),)),
        threading.Thread(
            target=keep_reading,
            args=(("status", "--json"), ("db", "backup", str(backup), "--force")),
        ),
    ]
    for reader in readers:
        reader.start()
    out, err = crawler.communicate(timeout=120)
    for reader in readers:
        reader.join()

    assert crawler.returncode == 0, err
    stored = sqlite3.connect(db_path).execute("SELECT count(*) FROM works").fetchone()[0]
    assert stored == 300
    assert set(results) == {"queue", "status", "db"}  # each started while the crawl ran
    for name, runs in results.items():
        for result in runs:
            assert result.returncode == 0, (name, result.stderr)
            assert "database is locked" not in result.stdout + result.stderr, name
    copy = sqlite3.connect(backup)
    assert copy.execute("PRAGMA quick_check").fetchone() == ("ok",)
    assert 0 < copy.execute("SELECT count(*) FROM works").fetchone()[0] <= 300
    copy.close()
