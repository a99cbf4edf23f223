"""Deployment: `litmon init --systemd` writes units systemd accepts, with this install's
paths; crontab lines become the same OnCalendar= times APScheduler computes; `--cron`
writes an installable crontab; `litmon notify` reports a failed unit to the journal and
runs the configured command."""

import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from litmon import deploy_cli
from litmon.cli import cli
from litmon.core.errors import UsageError
from litmon.crontab import cron_trigger
from litmon.db.runs import recent_runs
from litmon.db.schema import open_db
from litmon.deploy import Deployment, crontab_text, on_calendar
from litmon.replay.server import Fault
from litmon.settings import load_config


def systemd_analyze() -> str:
    """The systemd-analyze binary; CI installs systemd, so only a developer may lack it."""
    found = shutil.which("systemd-analyze")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("systemd-analyze is missing on CI (.ci/run installs systemd)")
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    return found


def init(*args):
    result = CliRunner().invoke(cli, ["init", *map(str, args)])
    return result


def test_init_systemd_writes_units_with_this_installs_paths_that_systemd_verifies(tmp_path):
    analyze = systemd_analyze()
    result = init(tmp_path / "deploy", "--systemd")
    assert result.exit_code == 0, result.output
    units = tmp_path / "deploy" / "systemd"
    names = sorted(path.name for path in units.iterdir())
    assert names == [
        "litmon-check.service",
        "litmon-check.timer",
        "litmon-feeds.service",
        "litmon-feeds.timer",
        "litmon-notify@.service",
        "litmon-pubmed.service",
        "litmon-pubmed.timer",
        "litmon-schedule.service",
        "litmon-serve.service",
    ]
    config = (tmp_path / "deploy" / "litmon.toml").resolve()
    for name in names:
        text = (units / name).read_text()
        for line in re.findall(r"^ExecStart=(.*)$", text, re.M):
            executable, flag, path, *_ = line.split()
            assert Path(executable).is_absolute() and os.access(executable, os.X_OK), line
            assert Path(executable).parent == Path(sys.executable).parent  # this install
            assert (flag, path) == ("--config", str(config))
        if name.endswith(".service"):
            assert "User=litmon\nGroup=litmon\n" in text
            assert "ProtectSystem=strict" in text and "NoNewPrivileges=yes" in text
            assert f"EnvironmentFile=-{config.parent / 'env'}" in text
        assert "NCBI_API_KEY=" not in text.replace("NCBI_API_KEY=...", "")
        # every unit but the notifier reports its failure through it
        assert ("OnFailure=litmon-notify@%n.service" in text) == (name != "litmon-notify@.service")
    pubmed = (units / "litmon-pubmed.service").read_text()
    assert "Type=oneshot" in pubmed and re.search(r"^ExecStart=.* crawl pubmed$", pubmed, re.M)
    assert "StateDirectory=litmon" in pubmed and "LogsDirectory=litmon" in pubmed
    assert "WorkingDirectory=/var/lib/litmon" in pubmed
    assert "OnCalendar=*-*-* *:00:00 UTC" in (units / "litmon-check.timer").read_text()
    timer = (units / "litmon-pubmed.timer").read_text()
    assert "OnCalendar=*-*-* 05:15:00 UTC" in timer and "Persistent=true" in timer
    daemon = (units / "litmon-schedule.service").read_text()
    assert "Restart=on-failure" in daemon and "KillSignal=SIGTERM" in daemon
    assert re.search(r"^TimeoutStopSec=\d+$", daemon, re.M)
    assert re.search(r"^ExecStart=\S+/litmon --config \S+ schedule$", daemon, re.M)

    verified = subprocess.run(
        [analyze, "verify", "--man=no", "--generators=no", *sorted(units.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # a warning (an unknown key, a bad calendar) is a message even when the exit is 0
    assert verified.returncode == 0 and verified.stdout + verified.stderr == "", verified.stderr

    # the config the units point at keeps the database and log where the units allow writes
    loaded = load_config(config, env={})
    assert loaded.db_path == Path("/var/lib/litmon/litmon.db")
    assert loaded.log.file == Path("/var/log/litmon/litmon.log")
    assert "# SQLite file (WAL mode)" in config.read_text()  # comments kept


def test_init_with_own_directories_and_user(tmp_path):
    result = init(
        tmp_path / "d", "--systemd", "--user", "crawler", "--state-dir", "/srv/lit/db",
        "--log-dir", "/srv/lit/log",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    unit = (tmp_path / "d" / "systemd" / "litmon-feeds.service").read_text()
    assert "User=crawler\nGroup=crawler\n" in unit
    assert "ReadWritePaths=/srv/lit/db /srv/lit/log" in unit
    assert "StateDirectory=" not in unit  # systemd makes those only under /var/lib
    loaded = load_config(tmp_path / "d" / "litmon.toml", env={})
    assert loaded.db_path == Path("/srv/lit/db/litmon.db")
    assert loaded.log.file == Path("/srv/lit/log/litmon.log")

    relative = init(tmp_path / "e", "--systemd", "--state-dir", "var/db")
    assert relative.exit_code == 2 and "not an absolute path" in relative.output
    assert not (tmp_path / "e").exists()


def test_init_systemd_refuses_an_existing_deployment_without_force(tmp_path):
    assert init(tmp_path, "--systemd").exit_code == 0
    unit = tmp_path / "systemd" / "litmon-pubmed.service"
    unit.write_text("# edited by ops\n")
    again = init(tmp_path, "--systemd")
    assert again.exit_code == 2 and "already exist; use --force" in again.output
    assert unit.read_text() == "# edited by ops\n"
    forced = init(tmp_path, "--systemd", "--force")
    assert forced.exit_code == 0 and "ExecStart=" in unit.read_text()


def test_units_follow_an_edited_schedule_with_keep_config(tmp_path):
    assert init(tmp_path, "--systemd").exit_code == 0
    config = tmp_path / "litmon.toml"
    edited = config.read_text().replace('pubmed = "15 5 * * *"', 'pubmed = "0 6 * * 1-5"')
    edited = edited.replace('path = "/var/lib/litmon/litmon.db"', 'path = "/srv/litmon/l.db"')
    config.write_text(edited)
    kept = init(tmp_path, "--systemd", "--keep-config", "--force")
    assert kept.exit_code == 0, kept.output
    assert config.read_text() == edited  # the edited config stays as it is
    timer = (tmp_path / "systemd" / "litmon-pubmed.timer").read_text()
    assert "OnCalendar=Mon..Fri *-*-* 06:00:00 UTC" in timer
    unit = (tmp_path / "systemd" / "litmon-pubmed.service").read_text()
    assert (
        "WorkingDirectory=/srv/litmon\n" in unit
        and "ReadWritePaths=/srv/litmon /var/log/litmon" in unit
    )

    config.write_text(edited.replace('pubmed = "0 6 * * 1-5"', 'pubmed = "0 6 1 * 1-5"'))
    refused = init(tmp_path, "--systemd", "--keep-config", "--force")
    assert (
        refused.exit_code == 2 and "restricts both day-of-month and day-of-week" in refused.output
    )
    # the units were left as they were
    assert (tmp_path / "systemd" / "litmon-pubmed.timer").read_text() == timer


@pytest.mark.parametrize(
    ("line", "calendar"),
    [
        ("15 5 * * *", "*-*-* 05:15:00 UTC"),
        ("*/30 * * * *", "*-*-* *:00,30:00 UTC"),
        ("*/15 * * * *", "*-*-* *:00/15:00 UTC"),
        ("0 9-17 * * 1-5", "Mon..Fri *-*-* 09..17:00:00 UTC"),
        ("30 2 * * sat,sun", "Sat,Sun *-*-* 02:30:00 UTC"),
        ("0 0 * * fri-sun", "Fri..Sun *-*-* 00:00:00 UTC"),
        ("0 0 * * 7", "Sun *-*-* 00:00:00 UTC"),
        ("0 0 * * mon-wed,fri", "Mon..Wed,Fri *-*-* 00:00:00 UTC"),
        ("0 */6 1-10/3 * *", "*-*-01..10/3 00/6:00:00 UTC"),
        ("0 4 1 jan,jul *", "*-01,07-01 04:00:00 UTC"),
        ("5,35 1,13 * 2-11/3 *", "*-02/3-* 01,13:05,35:00 UTC"),
        ("*/10 * * * * *", "*-*-* *:*:00/10 UTC"),  # litmon's 6-field form: seconds first
    ],
)
def test_crontab_lines_become_on_calendar(line, calendar):
    assert on_calendar(line) == calendar


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("0 0 1 * mon", "restricts both day-of-month and day-of-week"),
        ("0 0 last * *", "cannot write day-of-month 'last' as a systemd timer"),
        ("0 25 * * *", "higher than the maximum value (23)"),
        ("@daily", "5 fields"),
    ],
)
def test_lines_a_timer_cannot_express_are_refused(line, why):
    with pytest.raises(UsageError, match=re.escape(why)):
        on_calendar(line)


@pytest.mark.parametrize(
    "line",
    [
        "15 5 * * *",
        "*/30 * * * *",
        "0 9-17 * * 1-5",
        "10-40/10 3 * 2-11/3 mon,wed",
        "7/20 * * * * *",
    ],
)
def test_systemd_fires_when_litmon_schedule_would(line):
    analyze = systemd_analyze()
    trigger, moment = cron_trigger(line), datetime.now(UTC)
    expected, previous = [], None
    for _ in range(6):
        previous = trigger.get_next_fire_time(
            previous, previous + timedelta(seconds=1) if previous else moment
        )
        expected.append(previous.strftime("%Y-%m-%d %H:%M:%S"))
    shown = subprocess.run(
        [analyze, "calendar", "--iterations=5", on_calendar(line)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TZ": "UTC"},
    )
    assert shown.returncode == 0, shown.stderr
    fires = re.findall(r"(?:Next elapse|Iter\. #\d+): \w+ (\S+ \S+) UTC", shown.stdout)
    # systemd looked a moment later: a fire time in between may be behind it already
    assert fires in (expected[:5], expected[1:]), shown.stdout


def test_init_cron_writes_an_installable_crontab_in_utc(tmp_path):
    state, logs = tmp_path / "state", tmp_path / "log"
    result = init(tmp_path, "--cron", "--state-dir", state, "--log-dir", logs)
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "crontab").read_text().splitlines()
    assert "CRON_TZ=UTC" in lines
    entries = [line for line in lines if line and not line.startswith("#") and "=" not in line[:12]]
    config = load_config(tmp_path / "litmon.toml", env={})
    for job in ("pubmed", "feeds"):
        [entry] = [e for e in entries if f"crawl {job}" in e]
        assert entry.startswith(config.schedule[job] + " ")
        command = entry[len(config.schedule[job]) :].split()
        assert os.access(command[0], os.X_OK) and Path(command[0]).is_absolute()
        assert command[1:4] == ["--config", str((tmp_path / "litmon.toml").resolve()), "-q"]
    [check] = [e for e in entries if " check" in e]
    assert check.split()[:5] == ["0", "*", "*", "*", "*"]

    # cron runs the command through /bin/sh and mails what it prints: only a failing check
    def cron_runs(line):
        command = line.split(None, 5)[5]
        return subprocess.run(
            ["/bin/sh", "-c", command], capture_output=True, text=True, timeout=120
        )

    missing = cron_runs(check)
    assert f"CRITICAL: no database at {state / 'litmon.db'}" in missing.stdout + missing.stderr
    open_db(state / "litmon.db")  # a new deployment, nothing due yet: healthy
    healthy = cron_runs(check)
    assert healthy.returncode == 0 and healthy.stdout + healthy.stderr == ""

    assert init(tmp_path / "default", "--cron").exit_code == 0
    defaults = load_config(tmp_path / "default" / "litmon.toml", env={})
    assert defaults.db_path == Path("/var/lib/litmon/litmon.db")
    assert defaults.log.file == Path("/var/log/litmon/litmon.log")

    deployment = Deployment(Path("/opt/litmon/bin/litmon"), tmp_path / "litmon.toml", "litmon",
                            Path("/var/lib/litmon"), Path("/var/log/litmon"))  # fmt: skip
    with pytest.raises(UsageError, match="cron takes 5 fields, with no seconds"):
        crontab_text(deployment, {"feeds": "*/10 * * * * *"})


@pytest.fixture
def failing_deployment(tmp_path, eutils):
    """A deployment whose PubMed crawl has just failed (NCBI answering 500)."""
    config = tmp_path / "litmon.toml"
    config.write_text(
        f'[database]\npath = "{tmp_path / "litmon.db"}"\n'
        f'[ncbi]\neutils_url = "{eutils.url}"\nmax_retries = 0\ntimeout = 2\n'
        '[topics.ms]\nquery = "multiple sclerosis"\n'
        "[notify]\n"
        """command = 'printf "%s\\n%s\\n" "$LITMON_UNIT" "$LITMON_REASON" > notified; env > env.txt'\n"""
    )
    eutils.inject(*[Fault("500")] * 5, endpoint="esearch")
    env = {**os.environ, "NCBI_API_KEY": "secret-key-4f2a9c", "NCBI_EMAIL": "ops@example.org"}
    crawl = subprocess.run(
        [sys.executable, "-m", "litmon", "--config", str(config), "crawl", "pubmed"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert crawl.returncode == 1, crawl.stderr
    return config, env


def test_notify_logs_the_failure_at_err_priority_and_runs_the_command(failing_deployment):
    config, env = failing_deployment
    [run] = recent_runs(open_db(config.parent / "litmon.db"), 1, failed=True)
    assert run["error"]
    notified = subprocess.run(
        [sys.executable, "-m", "litmon", "--config", str(config), "notify", "litmon-pubmed.service"],
        capture_output=True, text=True, timeout=120, cwd=config.parent,
        env={**env, "MONITOR_EXIT_CODE": "exited", "MONITOR_EXIT_STATUS": "1"},
    )  # fmt: skip
    assert notified.returncode == 0, notified.stderr
    [journal] = [line for line in notified.stderr.splitlines() if line.startswith("<3>")]
    assert "litmon-pubmed.service failed (exited 1)" in journal
    assert f"run {run['id']} (pubmed ms, failed" in journal
    assert run["error"].replace("secret-key-4f2a9c", "***")[:60] in journal
    unit, reason = (config.parent / "notified").read_text().splitlines()
    assert unit == "litmon-pubmed.service" and reason in journal
    everything = notified.stdout + notified.stderr + (config.parent / "env.txt").read_text()
    assert "secret-key-4f2a9c" not in everything  # neither printed nor handed to the command

    # days later the topic has still never succeeded: the health check's unit fails, and
    # its notice says what `litmon check` found
    db = open_db(config.parent / "litmon.db")
    with db.conn:
        db.execute("UPDATE crawl_runs SET started_at = '2026-01-05T05:15:00Z'")
    checked = subprocess.run(
        [sys.executable, "-m", "litmon", "--config", str(config), "notify", "litmon-check.service"],
        capture_output=True, text=True, timeout=120, cwd=config.parent, env=env,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    [journal] = [line for line in checked.stderr.splitlines() if line.startswith("<3>")]
    assert "litmon-check.service failed: pubmed ms has never succeeded in 1 run" in journal


def test_notify_exits_1_when_the_command_fails_or_hangs(tmp_path, monkeypatch):
    config = tmp_path / "litmon.toml"
    config.write_text(
        f'[database]\npath = "{tmp_path / "none.db"}"\n[notify]\ncommand = "exit 7"\n'
    )
    runner = CliRunner()
    failed = runner.invoke(cli, ["--config", str(config), "notify", "litmon-feeds.service"])
    assert failed.exit_code == 1
    assert (
        "<3>litmon: litmon-feeds.service failed: see journalctl -u litmon-feeds.service"
        in failed.output
    )
    assert "<3>litmon: notify command exited 7" in failed.output
    assert not (tmp_path / "none.db").exists()  # a missing database is not created

    monkeypatch.setattr(deploy_cli, "NOTIFY_TIMEOUT", 0.5)
    config.write_text(
        f'[database]\npath = "{tmp_path / "none.db"}"\n[notify]\ncommand = "sleep 30"\n'
    )
    hung = runner.invoke(cli, ["--config", str(config), "notify", "litmon-feeds.service"])
    assert hung.exit_code == 1 and "notify command timed out after 0.5 s" in hung.output


def test_notify_names_the_failure_of_its_own_unit_not_another_jobs(failing_deployment):
    """The PubMed crawl failed; a feeds unit's (or the web server's) failure notice must
    not blame it."""
    config, env = failing_deployment
    for unit, wanted in (("litmon-feeds.service", "see journalctl -u litmon-feeds.service"),
                         ("litmon-serve.service", "see journalctl -u litmon-serve.service"),
                         ("litmon-schedule.service", "(pubmed ms, failed")):  # fmt: skip
        notified = subprocess.run(
            [sys.executable, "-m", "litmon", "--config", str(config), "notify", unit],
            capture_output=True, text=True, timeout=120, cwd=config.parent, env=env,
        )  # fmt: skip
        [journal] = [line for line in notified.stderr.splitlines() if line.startswith("<3>")]
        assert wanted in journal, (unit, journal)
