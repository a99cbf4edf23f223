"""Log lines are JSON objects (or readable text on request), go to stderr or a rotating
file, carry each run's start and end with its id and counts, and never hold a secret: not
the NCBI API key, even in the request URLs urllib3 logs with -v, nor a password or token in
a feed's address."""

import json
import os
import pty
import subprocess
import sys
import threading
from datetime import timedelta

from click.testing import CliRunner
from feed_server import FeedServer, serve_feed
from pubmed_builder import article, article_set

from litmon.cli import cli
from litmon.core.clock import today_utc
from litmon.replay.server import Fault

API_KEY = "h2SECRETkey0123456789abcdefABCDEF99"
FEED_PASSWORD = "feedPASSWORD-77"
FEED_TOKEN = "feedTOKEN-4242"
RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>MSJ</title>'
    b"<item><title>QSM rims in multiple sclerosis</title><guid>10.1177/135245852600001</guid>"
    b"<link>https://doi.org/10.1177/135245852600001</link></item></channel></rss>"
)


def litmon(*args, env, cwd):
    return subprocess.run(
        [sys.executable, "-m", "litmon", *args],
        env={**os.environ, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_config(tmp_path, feed_url, log_lines=""):
    (tmp_path / "feeds.toml").write_text(f'[[feed]]\nname = "msj"\nurl = "{feed_url}"\n')
    config = tmp_path / "litmon.toml"
    config.write_text(
        'contact = "ops@example.org"\n[ncbi]\ntimeout = 2\nmax_retries = 3\n'
        '[feeds]\nfile = "feeds.toml"\n[topics.ms]\nquery = "multiple sclerosis[tiab]"\n'
        + log_lines
    )
    return config


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_no_secret_in_any_log_line_of_crawls_with_retries_and_feeds(eutils, tmp_path):
    today = today_utc()
    eutils.add_xml(article_set([article(41000 + n, today - timedelta(days=n)) for n in range(3)]))
    # a 429 with Retry-After and a short answer: both retried and logged with their URL
    eutils.inject(Fault("429", retry_after="1"), Fault("short"), endpoint="efetch")
    with FeedServer() as feeds:
        path = f"/msj?token={FEED_TOKEN}"
        address = feeds.route(path, serve_feed(RSS))
        config = write_config(tmp_path, address.replace("http://", f"http://ops:{FEED_PASSWORD}@"))
        env = {
            "NCBI_API_KEY": API_KEY,
            "LITMON_EUTILS_URL": eutils.url,
            "LITMON_DB": str(tmp_path / "logs.db"),
        }
        pubmed = litmon("-v", "--config", str(config), "crawl", "pubmed", env=env, cwd=tmp_path)
        feed = litmon("-v", "--config", str(config), "crawl", "feeds", env=env, cwd=tmp_path)
    assert pubmed.returncode == 0, pubmed.stderr
    assert feed.returncode == 0, feed.stderr
    assert all(request.params.get("api_key") == API_KEY for request in eutils.requests)

    lines = json_lines(pubmed.stderr) + json_lines(feed.stderr)  # every line is JSON
    events = [line["event"] for line in lines]
    assert {"rate_limited", "short_response", "run_started", "run_finished"} <= set(events)
    urls = [line["message"] for line in lines if line["logger"].startswith("urllib3")]
    assert any("api_key=***" in url for url in urls), urls  # the URLs were logged, masked
    everything = pubmed.stdout + pubmed.stderr + feed.stdout + feed.stderr
    runs = CliRunner().invoke(cli, ["--db", str(tmp_path / "logs.db"), "runs", "--json"])
    for secret in (API_KEY, FEED_PASSWORD, FEED_TOKEN):
        assert secret not in everything
        assert secret not in runs.output  # nor in the notes kept with the runs


def test_runs_are_logged_with_their_id_and_counts_to_a_rotating_file(eutils, tmp_path):
    today = today_utc()
    eutils.add_xml(article_set([article(42000 + n, today - timedelta(days=n)) for n in range(4)]))
    log_file = tmp_path / "logs" / "litmon.log"
    config = write_config(
        tmp_path,
        "http://127.0.0.1:9/unused",
        f'[log]\nfile = "{log_file}"\nmax_bytes = 1024\nbackups = 2\n',
    )
    env = {"LITMON_EUTILS_URL": eutils.url, "LITMON_DB": str(tmp_path / "file.db")}
    for _ in range(3):  # enough lines (-v: every request) to rotate more than twice
        done = litmon("-v", "--config", str(config), "crawl", "pubmed", env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "run_started" not in done.stderr  # the log went to the file

    assert sorted(p.name for p in log_file.parent.iterdir()) == [
        "litmon.log",
        "litmon.log.1",
        "litmon.log.2",
    ]
    lines = json_lines(log_file.read_text())
    [finished] = [line for line in lines if line["event"] == "run_finished"]
    assert finished["source"] == "pubmed" and finished["topic"] == "ms"
    assert finished["status"] == "ok" and finished["counts"]["unchanged"] == 4
    assert finished["timestamp"].endswith("+00:00") and finished["level"] == "INFO"
    assert isinstance(finished["run_id"], int) and finished["seconds"] >= 0


def test_text_format_gives_readable_lines_and_quiet_keeps_only_warnings(eutils, tmp_path):
    config = write_config(tmp_path, "http://127.0.0.1:9/unused", '[log]\nformat = "text"\n')
    env = {"LITMON_EUTILS_URL": eutils.url, "LITMON_DB": str(tmp_path / "text.db")}
    args = ["--config", str(config), "crawl", "pubmed"]

    loud = litmon(*args, env=env, cwd=tmp_path)
    quiet = litmon("-q", *args, env=env, cwd=tmp_path)

    assert loud.returncode == quiet.returncode == 0, loud.stderr + quiet.stderr
    started = [line for line in loud.stderr.splitlines() if "started" in line]
    assert started and " INFO litmon.pipeline.run: run 1 started: pubmed ms" in started[0]
    assert not loud.stderr.lstrip().startswith("{")
    assert quiet.stderr.strip() == ""


def test_a_terminal_gets_readable_lines_without_any_log_setting(eutils, tmp_path):
    config = write_config(tmp_path, "http://127.0.0.1:9/unused")
    env = {"LITMON_EUTILS_URL": eutils.url, "LITMON_DB": str(tmp_path / "tty.db")}
    reader, terminal = pty.openpty()
    seen = bytearray()

    def read() -> None:
        try:
            while chunk := os.read(reader, 4096):
                seen.extend(chunk)
        except OSError:  # the terminal closed
            pass

    drain = threading.Thread(target=read)
    drain.start()
    done = subprocess.run(
        [sys.executable, "-m", "litmon", "--config", str(config), "crawl", "pubmed"],
        env={**os.environ, **env},
        stderr=terminal,
        stdout=subprocess.DEVNULL,
        timeout=120,
    )
    os.close(terminal)
    drain.join(timeout=30)
    os.close(reader)
    text = seen.decode(errors="replace")
    assert done.returncode == 0, text
    assert " INFO litmon.pipeline.run: run 1 started: pubmed ms" in text
    assert '"event"' not in text


def test_a_log_file_that_cannot_be_written_is_a_config_error_naming_it(tmp_path):
    (tmp_path / "plain").write_text("a file, not a folder")
    config = tmp_path / "litmon.toml"
    config.write_text(f'[log]\nfile = "{tmp_path / "plain" / "litmon.log"}"\n')

    result = CliRunner().invoke(
        cli, ["--config", str(config), "--db", str(tmp_path / "x.db"), "runs"]
    )

    assert result.exit_code == 2
    [line] = result.output.splitlines()
    assert line.startswith(f"litmon: config error: log.file in {config}: cannot write ")
