"""Publishing on a schedule: a [schedule] publish line becomes a systemd service and timer
(or a crontab line) running `litmon publish` into [publish] dir, writable under the units'
sandbox; the built-in daemon runs the same job under the same lock, and skips it while
another publish of the directory holds that lock."""

import re
import subprocess
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from test_deploy import init, systemd_analyze

from litmon.core.locks import file_lock
from litmon.db.schema import open_db
from litmon.scheduler import build_scheduler, run_job
from litmon.settings import ConfigError, load_config

SCHEDULED = 'publish = "5 * * * *"\nsummarize = "*/10 * * * *"\n'


def scheduled_deployment(tmp_path: Path, site: str | None = None, *dirs: object) -> Path:
    """`litmon init --systemd --cron` (with ``dirs``: --state-dir and --log-dir) and the
    config edited as its comments say: a publish and a summarize line in [schedule] (and,
    if given, another [publish] dir); then the units and crontab written again from it."""
    assert init(tmp_path, "--systemd", "--cron", *dirs).exit_code == 0
    config = tmp_path / "litmon.toml"
    text = config.read_text().replace(
        'feeds = "*/30 * * * *"\n', 'feeds = "*/30 * * * *"\n' + SCHEDULED
    )
    if site:
        text = re.sub(r'(?m)^dir = ".*"$', f'dir = "{site}"', text)
    config.write_text(text)
    kept = init(tmp_path, "--systemd", "--cron", "--keep-config", "--force")
    assert kept.exit_code == 0, kept.output
    return config


def test_init_puts_the_site_beside_the_database(tmp_path):
    assert init(tmp_path, "--systemd").exit_code == 0
    assert load_config(tmp_path / "litmon.toml", env={}).publish.dir == Path("/var/lib/litmon/site")
    units = sorted(path.name for path in (tmp_path / "systemd").iterdir())
    assert "litmon-publish.service" not in units  # no [schedule] line: no unit


def test_a_publish_line_becomes_a_unit_and_timer_systemd_verifies(tmp_path):
    analyze = systemd_analyze()
    scheduled_deployment(tmp_path)
    units = tmp_path / "systemd"
    publish = (units / "litmon-publish.service").read_text()
    assert re.search(r"^ExecStart=\S+/litmon --config \S+/litmon.toml publish$", publish, re.M)
    assert "Type=oneshot" in publish and "SuccessExitStatus=75\n" in publish
    assert "network-online" not in publish  # it only reads the database and writes files
    assert "ReadWritePaths=/var/lib/litmon /var/log/litmon\n" in publish  # the site is in it
    timer = (units / "litmon-publish.timer").read_text()
    assert "OnCalendar=*-*-* *:05:00 UTC" in timer
    summarize = (units / "litmon-summarize.service").read_text()
    assert re.search(r"^ExecStart=\S+ --config \S+ summarize --once$", summarize, re.M)
    assert "After=network-online.target" in summarize
    assert "SuccessExitStatus=3 75\n" in summarize  # nothing to claim is no failure
    assert "OnCalendar=*-*-* *:00/10:00 UTC" in (units / "litmon-summarize.timer").read_text()
    daemon = (units / "litmon-schedule.service").read_text()
    assert "litmon-publish.timer" in daemon and "litmon-summarize.timer" in daemon  # Conflicts=
    verified = subprocess.run(
        [analyze, "verify", "--man=no", "--generators=no", *sorted(units.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verified.returncode == 0 and verified.stdout + verified.stderr == "", verified.stderr


def test_a_site_outside_the_state_directory_is_made_writable(tmp_path):
    scheduled_deployment(tmp_path, site="/srv/www/research")
    publish = (tmp_path / "systemd" / "litmon-publish.service").read_text()
    assert "ReadWritePaths=/var/lib/litmon /var/log/litmon /srv/www/research\n" in publish


def test_the_crontab_runs_publish_and_summarize_on_their_lines(tmp_path):
    config = scheduled_deployment(tmp_path)
    lines = (tmp_path / "crontab").read_text().splitlines()
    (publish,) = [line for line in lines if line.endswith(" -q publish >/dev/null")]
    assert publish.startswith("5 * * * *  /") and f"--config {config.resolve()}" in publish
    (summarize,) = [line for line in lines if " summarize --once" in line]
    assert summarize.startswith(
        "*/10 * * * *  out=$(flock -n -E 75 /var/lib/litmon/litmon.db.summarize.lock /"
    )


def cron_runs(line: str, command: str) -> subprocess.CompletedProcess:
    """What cron runs for ``line`` (through /bin/sh), with ``sh -c COMMAND`` for litmon."""
    mock = f"sh -c '{command}'"
    shell = re.sub(r"\S+/litmon --config \S+ -q summarize --once", mock, line.split(None, 5)[5])
    return subprocess.run(["/bin/sh", "-c", shell], capture_output=True, text=True, timeout=60)


def test_a_cron_summarize_while_one_runs_exits_75_and_cron_mails_only_failures(tmp_path):
    """Two cron runs of the summarizer never overlap: the second exits 75 at once, on the
    lock the daemon's summarize job takes too. Cron mails what a line prints: nothing when
    there was nothing to claim (3) or a run was still on (75), the output when it failed."""
    state = tmp_path / "state"
    scheduled_deployment(tmp_path, None, "--state-dir", state, "--log-dir", tmp_path / "log")
    (line,) = [
        e for e in (tmp_path / "crontab").read_text().splitlines() if "summarize --once" in e
    ]
    flock = re.search(r"out=\$\((flock .*?) 2>&1\)", line).group(1)
    locked = flock.replace("summarize --once", "--version")  # no model here
    with file_lock(state / "litmon.db.summarize.lock", holder="the summarize job"):
        held = subprocess.run(["/bin/sh", "-c", locked], capture_output=True, timeout=60)
        quiet_when_held = cron_runs(line, "echo busy; exit 1")
    assert held.returncode == 75
    assert quiet_when_held.stdout == ""  # flock refused before the command: 75, no mail
    free = subprocess.run(["/bin/sh", "-c", locked], capture_output=True, text=True, timeout=60)
    assert free.returncode == 0 and free.stdout.startswith("litmon, version")
    assert cron_runs(line, "echo nothing to claim >&2; exit 3").stdout == ""
    assert cron_runs(line, "echo handed in; exit 0").stdout == ""
    failed = cron_runs(line, "echo the model server refused >&2; exit 1")
    assert failed.stdout == "the model server refused\n"


def test_a_scheduled_publish_needs_a_directory(tmp_path):
    path = tmp_path / "litmon.toml"
    path.write_text('[schedule]\npublish = "5 * * * *"\n')
    with pytest.raises(
        ConfigError, match=r"schedule\.publish: a scheduled publish needs \[publish\] dir"
    ):
        load_config(path, env={})


def daemon_config(tmp_path: Path):
    path = tmp_path / "litmon.toml"
    path.write_text(
        f'[database]\npath = "{tmp_path / "litmon.db"}"\n'
        '[schedule]\npublish = "*/5 * * * * *"\n[publish]\ndir = "site"\n'
    )
    return load_config(path, env={})


def test_the_daemon_schedules_publish_only_when_it_has_a_line(tmp_path):
    jobs = build_scheduler(daemon_config(tmp_path), BackgroundScheduler()).get_jobs()
    assert {job.id for job in jobs} == {"pubmed", "feeds", "publish"}
    plain = build_scheduler(load_config(None, env={}), BackgroundScheduler()).get_jobs()
    assert {job.id for job in plain} == {"pubmed", "feeds"}


def finished(caplog):
    return [r for r in caplog.records if getattr(r, "event", None) == "job_finished"]


def test_the_daemons_publish_writes_the_site_and_is_skipped_while_locked(tmp_path, caplog):
    config = daemon_config(tmp_path)
    open_db(config.db_path)
    site = tmp_path / "site"
    with file_lock(site / ".litmon-publish" / "lock", holder="a publish by hand"):
        run_job("publish", config, lambda: False, lambda state: None)
    run_job("publish", config, lambda: False, lambda state: None)
    skipped, done = finished(caplog)
    assert (skipped.status, done.status) == ("skipped", "ok")
    assert "held by a publish by hand" in skipped.error
    assert done.counts["written"] > 0 and done.counts["listed"] == 0
    assert (site / "index.html").is_file() and (site / "feed.atom").is_file()


def test_the_daemons_summarize_runs_the_worker_once_unless_cron_holds_its_lock(tmp_path, caplog):
    """`litmon summarize --once` in a process of its own: nothing approved, it exits 3 and
    the job is ok; while cron's flock holds the job's lock, the job is skipped."""
    path = tmp_path / "litmon.toml"
    path.write_text(
        f'[database]\npath = "{tmp_path / "litmon.db"}"\n[schedule]\nsummarize = "*/10 * * * *"\n'
    )
    config = load_config(path, env={})
    open_db(config.db_path)
    assert {job.id for job in build_scheduler(config, BackgroundScheduler()).get_jobs()} == {
        "pubmed", "feeds", "summarize"
    }  # fmt: skip
    with file_lock(Path(f"{config.db_path}.summarize.lock"), holder="flock (cron)"):
        run_job("summarize", config, lambda: False, lambda state: None)
    run_job("summarize", config, lambda: False, lambda state: None)
    skipped, ran = finished(caplog)
    assert skipped.status == "skipped" and "held by flock (cron)" in skipped.error
    assert (ran.status, ran.counts) == ("ok", {"exit_code": 3})  # nothing to claim
