"""``litmon init``: a deployment directory, optionally with systemd units or a crontab;
``litmon notify``: what the units' ``OnFailure=`` runs."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import click

from litmon import exits, logs
from litmon.app import App, pass_app
from litmon.core.errors import LitmonError, UsageError
from litmon.db.runs import recent_runs
from litmon.db.schema import open_db
from litmon.deploy import (
    CHECK_UNIT,
    DEFAULT_USER,
    LOG_DIR,
    STATE_DIR,
    Deployment,
    configure,
    crontab_text,
    litmon_executable,
    systemd_units,
)
from litmon.health import assess
from litmon.settings import Config, ConfigError, load_config, shipped_file, write_deployment

# how long `litmon notify` lets the configured command run before killing it
NOTIFY_TIMEOUT = 60
# journald reads a line starting <3> as priority err (sd-daemon(3)); its default for
# stderr is info
_JOURNAL_ERR = "<3>"


@click.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@click.option(
    "--systemd",
    is_flag=True,
    help="Also write systemd units into DIRECTORY/systemd: a service and timer per job,"
    " the litmon schedule daemon, and the OnFailure notifier.",
)
@click.option(
    "--cron",
    is_flag=True,
    help="Also write DIRECTORY/crontab for the dedicated user (crontab -u USER FILE).",
)
@click.option(
    "--user",
    default=DEFAULT_USER,
    show_default=True,
    help="The dedicated account the units and crontab run as.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False),
    help=f"Where the database lives (default with --systemd/--cron: {STATE_DIR}).",
)
@click.option(
    "--log-dir",
    type=click.Path(file_okay=False),
    help=f"Where the log file goes (default with --systemd/--cron: {LOG_DIR}).",
)
@click.option(
    "--keep-config",
    is_flag=True,
    help="Keep DIRECTORY's litmon.toml and feeds.toml; write only the units or crontab,"
    " from that config ([schedule], database.path, [log] file).",
)
def init(
    directory: str,
    force: bool,
    systemd: bool,
    cron: bool,
    user: str,
    state_dir: str | None,
    log_dir: str | None,
    keep_config: bool,
) -> None:
    """Write an editable litmon.toml and feeds.toml into DIRECTORY (default: here) for a
    deployment, from the shipped ones. Existing files are kept unless --force.

    With --systemd or --cron the config keeps its database in the state directory and its
    log in the log directory, and the units or crontab lines run this install's litmon
    (its absolute path) as USER, on the [schedule] lines of the config (UTC). After
    editing [schedule], --keep-config --force writes them again from the edited config.
    See docs/deploy.md for installing them.

    \b
    Then:  litmon --config DIRECTORY/litmon.toml crawl pubmed
    For systemd:  litmon init --systemd /etc/litmon
                  cp /etc/litmon/systemd/* /etc/systemd/system/
                  systemctl daemon-reload
                  systemctl enable --now litmon-pubmed.timer litmon-feeds.timer
    """
    service = systemd or cron
    if not re.fullmatch(r"[a-z_][a-z0-9_-]*", user):
        raise click.BadParameter(f"{user!r} is not a user name like litmon", param_hint="--user")
    target = Path(directory).absolute()
    config_path = target / "litmon.toml"
    # everything is made before anything is written: a refusal leaves DIRECTORY as it was
    files: dict[Path, str] = {}
    if keep_config:
        if not service or state_dir or log_dir:
            raise click.UsageError(
                "--keep-config writes units or a crontab (--systemd, --cron) from the config's"
                " own database.path and [log] file, without --state-dir or --log-dir"
            )
        config = load_config(config_path, env={})
        if not config.db_path.is_absolute():
            raise UsageError(f"{config_path}: database.path must be absolute for a service")
        state, logs = config.db_path.parent, config.log.file.parent if config.log.file else LOG_DIR
        schedule, site, database = config.schedule, config.publish.dir, config.db_path
    else:
        state = _absolute(state_dir, "--state-dir") or (STATE_DIR if service else None)
        logs = _absolute(log_dir, "--log-dir") or (LOG_DIR if service else None)
        # the site beside the database, where a service may write
        site = state / "site" if state else None
        database = state / "litmon.db" if state else None
        files[config_path] = configure(
            shipped_file("litmon.toml").read_text(encoding="utf-8"),
            db_path=database,
            log_file=logs / "litmon.log" if logs else None,
            site_dir=site,
        )
        schedule = load_config(None, env={}).schedule  # the config being written: the shipped one
    if service:
        deployment = Deployment(litmon_executable(), config_path, user, state, logs, site, database)
        if systemd:
            for name, unit in systemd_units(deployment, schedule).items():
                files[target / "systemd" / name] = unit
        if cron:
            files[target / "crontab"] = crontab_text(deployment, schedule)
    copied = [] if keep_config else [target / "feeds.toml"]
    existing = [str(path) for path in [*files, *copied] if path.exists()]
    if existing and not force:
        named = (
            f"{existing[0]} already exists"
            if len(existing) == 1
            else f"{existing[0]} and {len(existing) - 1} more already exist"
        )
        raise UsageError(f"{named}; use --force to overwrite")
    if not keep_config:
        write_deployment(target, force=True)  # litmon.toml is then rewritten, edited
        click.echo(f"wrote {target / 'feeds.toml'}")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        click.echo(f"wrote {path}")
    load_config(config_path, env={})  # the edited config must still load
    click.echo(f"next: edit {config_path} (ncbi.email, [topics]); see docs/deploy.md")


def _absolute(path: str | None, option: str) -> Path | None:
    if path is None:
        return None
    if not Path(path).is_absolute():
        raise click.BadParameter(f"{path!r} is not an absolute path", param_hint=option)
    return Path(path)


@click.command()
@click.argument("unit")
@pass_app
def notify(app: App, unit: str) -> None:
    """Report that systemd UNIT failed: one line at err priority in the journal, naming
    the unit and the reason (the newest failed run's error, or for litmon-check.service
    the health check's first problem, if the database can say),
    then the [notify] command of the config (mail, a webhook) with LITMON_UNIT and
    LITMON_REASON in its environment.

    The units `litmon init --systemd` writes run it from OnFailure=, through
    litmon-notify@.service. Exit 1 if the command fails or times out
    (after 60 seconds).

    \b
    Try it:  litmon notify litmon-pubmed.service
    """
    try:
        config = app.config
    except ConfigError as exc:  # unreadable: said in one line, the failure still reported
        click.echo(f"litmon: {exc.line()}", err=True)
        config = None
    found = _reason(config, unit) if config is not None else None
    # the log's redactor knows the config's and the environment's API key by now
    reason = logs.redactor.hide(found) if found else f"see journalctl -u {unit}"
    click.echo(f"{_JOURNAL_ERR}litmon: {unit} failed{_how(os.environ)}: {reason}", err=True)
    if config is None:
        sys.exit(exits.USAGE)
    if config.notify_command:
        sys.exit(_run_command(config.notify_command, unit, reason))


# whose runs say why a unit failed: its own job's (None: the daemon's, any job's)
_RUN_SOURCES = {
    "litmon-pubmed.service": "pubmed",
    "litmon-feeds.service": "feed",
    "litmon-schedule.service": None,
}


def _reason(config: Config, unit: str) -> str | None:
    """Why UNIT failed, when the database exists and can be read: for the health check,
    its first problem; for a crawl unit, its job's newest unsuccessful run (the daemon's:
    any job's); for the others, nothing (the journal says)."""
    if not config.db_path.exists():
        return None
    try:
        db = open_db(config.db_path)
        if unit == CHECK_UNIT:
            problems = assess(config, db).problems
            if problems:
                more = f" (+{len(problems) - 1} more: litmon check)" if len(problems) > 1 else ""
                return problems[0] + more
        if unit not in _RUN_SOURCES:
            return None  # litmon serve, the notifier: no crawl run says why; the journal does
        runs = recent_runs(db, 1, failed=True, source=_RUN_SOURCES[unit])
    except (LitmonError, OSError, sqlite3.Error):
        return None
    if not runs:
        return None
    run = runs[0]
    what = run["source"] + (f" {run['topic']}" if run["topic"] else "")
    return f"run {run['id']} ({what}, {run['status']} at {run['started_at']}): {run['error']}"


def _how(environ: Mapping[str, str]) -> str:
    """How the unit ended, from what systemd (v251+) tells an OnFailure= unit."""
    code, status = environ.get("MONITOR_EXIT_CODE"), environ.get("MONITOR_EXIT_STATUS")
    return f" ({code} {status})" if code and status else ""


def _run_command(command: str, unit: str, reason: str) -> int:
    """Run the [notify] command through /bin/sh; its output goes where litmon's does."""
    env = {key: value for key, value in os.environ.items() if key != "NCBI_API_KEY"}
    env.update(LITMON_UNIT=unit, LITMON_REASON=reason)
    # its own process group, so that a timeout ends what it started too (curl, mail)
    process = subprocess.Popen(["/bin/sh", "-c", command], env=env, start_new_session=True)
    try:
        status = process.wait(timeout=NOTIFY_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        click.echo(
            f"{_JOURNAL_ERR}litmon: notify command timed out after {NOTIFY_TIMEOUT} s", err=True
        )
        return exits.FAILED
    if status != 0:
        click.echo(f"{_JOURNAL_ERR}litmon: notify command exited {status}", err=True)
        return exits.FAILED
    return exits.OK
