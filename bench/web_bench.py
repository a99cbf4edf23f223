"""The review page's response times at 100,000 candidates, over HTTP against a local
``litmon serve`` process (target: median < 100 ms for every page measured).

Pages: the queue's first and last page, a state filter, searches for a rare and for a
common word (every abstract has it), a search with a filter, and one candidate's page.
Each is requested 30 times by a signed-in editor; median and slowest are printed.

The queue is built as ``bench/queue_bench.py`` builds it (the real store, then scores
written as scoring would and turned into candidates). Run from the repository root:
``python bench/web_bench.py [--works N]``. PASS/FAIL per page; exit 1 if one fails.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from measure import verdict
from queue_bench import make_queue

from litmon.db.schema import open_db
from litmon.web import auth

TARGET_MS = 100.0
REPEATS = 30
PASSWORD = "bench password 1"
PAGES = {
    "queue, first page": "/?state=all",
    "queue, last page": "/?state=all&last=1",
    "queue, state new": "/?state=new",
    "search, rare word": "/?state=all&q=ocrelizumab",
    "search, common word": "/?state=all&q=paramagnetic",
    "search + topic filter": "/?state=all&q=microglia&topic=ms_broad",
    "one candidate": "/candidates/{middle}",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(db_path: Path, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "litmon", "--db", str(db_path), "serve", "--port", str(port)],
        env={**os.environ, "LITMON_CONFIG": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return server
        except requests.ConnectionError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("litmon serve did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, default=100_000)
    count = parser.parse_args().works
    with tempfile.TemporaryDirectory(prefix="web-bench-") as scratch:
        db_path = Path(scratch) / "web.db"
        print(f"building a queue of {count:,} candidates ...")
        make_queue(db_path, count)
        auth.add_user(open_db(db_path), "bench", PASSWORD)
        port = free_port()
        server = serve(db_path, port)
        try:
            url = f"http://127.0.0.1:{port}"
            browser = requests.Session()
            browser.post(f"{url}/login", data={"name": "bench", "password": PASSWORD})
            failed = False
            print(f"{REPEATS} requests per page over HTTP (litmon serve, {count:,} candidates):")
            for label, template in PAGES.items():
                path = template.format(middle=count // 2)
                times = []
                for _ in range(REPEATS):
                    started = time.perf_counter()
                    answer = browser.get(url + path)
                    times.append((time.perf_counter() - started) * 1000)
                    if answer.status_code != 200:
                        raise RuntimeError(f"{path}: HTTP {answer.status_code}")
                rows = answer.text.count('<li class="row')
                median = statistics.median(times)
                ok = median < TARGET_MS
                failed = failed or not ok
                print(
                    f"{verdict(ok)} {label} ({rows} rows): median {median:.1f} ms,"
                    f" slowest {max(times):.1f} ms (target median < {TARGET_MS:.0f} ms)"
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
