"""The review page while a crawl writes: a real ``litmon ingest`` process stores batch after
batch into the database the page is served from, while editors list, search, open and decide
in parallel. No request fails and none ever says "database is locked"."""

import os
import re
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import requests
from pubmed_builder import article, article_set
from test_web import PASSWORD, _works, csrf, sign_in
from web_server import serving

from litmon.core.clock import today_utc
from litmon.db.schema import open_db
from litmon.web import auth
from litmon.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]


def test_editors_work_while_a_crawl_writes(tmp_path):
    db_path = tmp_path / "busy.db"
    db = open_db(db_path)
    _works(db)
    auth.add_user(db, "maria", PASSWORD)
    today = today_utc()
    big = tmp_path / "big.xml"
    big.write_bytes(
        article_set([article(50_000 + n, today - timedelta(days=n % 30)) for n in range(1500)])
    )
    problems: list[str] = []
    decided: list[str] = []
    stop = threading.Event()

    with serving(create_app(db_path)) as url:

        def editor(name: str) -> None:
            browser = sign_in(url)
            while not stop.is_set():
                for path in ("/", "/?q=rim+lesions&state=all", "/candidates/1", "/ops"):
                    answer = browser.get(url + path)
                    if answer.status_code != 200 or "locked" in answer.text:
                        problems.append(f"{name} GET {path}: {answer.status_code}")

        def decider() -> None:
            browser = sign_in(url)
            while not stop.is_set():
                page = browser.get(f"{url}/candidates/2")
                version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
                action = "approve" if 'state-approved"' not in page.text else "undo"
                answer = browser.post(
                    f"{url}/candidates/2/decision",
                    data={"csrf_token": csrf(page.text), "action": action, "version": version},
                )
                # refused: the crawl's scoring changed the candidate meanwhile, and the
                # editor is told so on its page; anything else is a failure
                refused = "Not saved: " in answer.text
                told = refused and "changed since version" in answer.text
                if answer.status_code == 200 and not refused:
                    decided.append(action)
                elif not told or "locked" in answer.text:
                    alert = re.search(r"role=\"alert\">([^<]*)", answer.text)
                    problems.append(f"decision: {answer.status_code} {alert and alert.group(1)}")

        workers = [threading.Thread(target=editor, args=(f"e{n}",)) for n in range(2)]
        workers.append(threading.Thread(target=decider))
        for worker in workers:
            worker.start()
        crawl = subprocess.run(
            [sys.executable, "-m", "litmon", "--db", str(db_path), "ingest", "pubmed-xml",
             str(big)],
            cwd=ROOT, env=os.environ, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        stop.set()
        for worker in workers:
            worker.join(timeout=60)
        health = requests.get(f"{url}/health").json()

    assert crawl.returncode == 0, crawl.stderr
    assert "locked" not in crawl.stderr
    assert problems == []
    assert decided  # decisions went through while the crawl wrote
    assert health["status"] == "ok"
    assert db.execute("SELECT count(*) FROM works").fetchone()[0] == 1503
