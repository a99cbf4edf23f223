"""What ``litmon init --systemd`` and ``--cron`` write: systemd units and timers, crontab
lines, and the deployment's paths in ``litmon.toml``; text only, no files touched here."""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from litmon.core.errors import UsageError
from litmon.crontab import cron_trigger

STATE_DIR = Path("/var/lib/litmon")
LOG_DIR = Path("/var/log/litmon")
DEFAULT_USER = "litmon"
NOTIFY_UNIT = "litmon-notify@.service"
CHECK_UNIT = "litmon-check.service"
# the daemon finishes or abandons its current batch on SIGTERM (one efetch, or one feed);
# systemd kills it after this long, and the next start marks the run abandoned
STOP_TIMEOUT = 300
# `litmon check` for monitoring: hourly, from cron or litmon-check.timer
CHECK_LINE = "0 * * * *"
# spread over this many seconds so that many installs do not hit NCBI in the same second
RANDOM_DELAY = 60


@dataclass(frozen=True, slots=True)
class Deployment:
    """The paths and account the units and crontab lines are written for."""

    executable: Path  # this install's `litmon`, absolute
    config: Path  # the deployment's litmon.toml, absolute
    user: str
    state_dir: Path
    log_dir: Path
    site_dir: Path | None = None  # [publish] dir: the scheduled publish writes there
    db_path: Path | None = None  # database.path: job locks are files beside it

    @property
    def env_file(self) -> Path:
        """NCBI_EMAIL / NCBI_API_KEY for systemd, beside the config, never in a unit."""
        return self.config.parent / "env"

    def command(self, *args: str) -> str:
        return " ".join([str(self.executable), "--config", str(self.config), *args])


def litmon_executable() -> Path:
    """The ``litmon`` script of the install this process runs from, absolute: the one
    beside this interpreter (a venv or pipx), else the one on PATH."""
    beside = Path(sys.executable).parent / "litmon"
    if beside.is_file():
        return beside.absolute()
    found = shutil.which("litmon")
    if found is None:
        raise UsageError(
            f"cannot find the litmon command of this install (not in {beside.parent}"
            " nor on PATH); run init with the litmon of the install the units should run"
        )
    return Path(found).resolve()


def configure(
    text: str, *, db_path: Path | None, log_file: Path | None, site_dir: Path | None = None
) -> str:
    """The shipped ``litmon.toml`` text with ``database.path``, ``[log] file`` and
    ``[publish] dir`` set, every comment kept."""
    if db_path is not None:
        text = _set_key(text, "database", "path", str(db_path))
    if log_file is not None:
        text = _set_key(text, "log", "file", str(log_file))
    if site_dir is not None:
        text = _set_key(text, "publish", "dir", str(site_dir))
    return text


# job of [schedule] -> what it is, the litmon command that runs it, whether it needs the
# network (the summarizer talks to its model's server, which may be another host)
JOB_COMMANDS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "pubmed": ("crawl pubmed", ("crawl", "pubmed"), True),
    "feeds": ("crawl feeds", ("crawl", "feeds"), True),
    "summarize": ("summarize approved candidates", ("summarize", "--once"), True),
    "publish": ("publish the public site", ("publish",), False),
}
# exit codes of a scheduled job that are no failure: 75, another run held the lock; and for
# the summarizer 3, nothing was waiting to be summarized
QUIET_EXITS = {"summarize": (3, 75)}


def _set_key(text: str, table: str, key: str, value: str) -> str:
    """Replace the value of the first ``key = ...`` line of ``[table]``."""
    lines = text.splitlines(keepends=True)
    current = ""
    assignment = re.compile(rf"^{re.escape(key)}\s*=")
    for number, line in enumerate(lines):
        header = re.match(r"^\[([^\[\]]+)\]\s*(#.*)?$", line.strip())
        if header:
            current = header.group(1).strip()
        elif current == table and assignment.match(line):
            quoted = value.replace("\\", "\\\\").replace('"', '\\"')
            lines[number] = f'{key} = "{quoted}"\n'
            return "".join(lines)
    # the shipped file always has both keys; a missing one means it was changed without this
    raise ValueError(f"the shipped litmon.toml has no '{key} =' line in [{table}]")


# cron field: name, lowest value, highest value, names (their index + lowest is the value)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 7, _WEEKDAYS),
)
_SECOND = ("second", 0, 59, ())
_PART = re.compile(r"^(?P<span>\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(?P<step>\d+))?$")


def on_calendar(line: str) -> str:
    """A crontab line (UTC, as litmon reads it; 5 fields, or 6 with the second first) as a
    systemd ``OnCalendar=`` value, e.g. ``15 5 * * 1-5`` -> ``Mon..Fri *-*-* 05:15:00 UTC``.
    A line litmon refuses, or
    one using syntax beyond ``*``, numbers, names, ranges, steps and lists, is a
    :class:`UsageError`."""
    try:
        cron_trigger(line)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"crontab line {line!r}: {exc}") from None
    fields = line.split()
    # litmon's six-field form puts the second first
    second = _values(fields.pop(0), _SECOND, line) if len(fields) == 6 else [0]
    minute, hour, day, month, weekday = (
        _values(text, spec, line) for text, spec in zip(fields, _FIELDS, strict=True)
    )
    days_of_week = _weekday_names({value % 7 for value in weekday})
    date = f"*-{_render(month, 1, 12)}-{_render(day, 1, 31)}"
    time = f"{_render(hour, 0, 23)}:{_render(minute, 0, 59)}:{_render(second, 0, 59)}"
    return " ".join(part for part in (days_of_week, date, time, "UTC") if part)


def _values(text: str, spec: tuple[str, int, int, tuple[str, ...]], line: str) -> list[int]:
    """The values a cron field matches, with cron's meaning (weekday 0 and 7 are Sunday)."""
    name, low, high, names = spec
    values: set[int] = set()
    for part in text.lower().split(","):
        match = _PART.match(part)
        if match is None:
            raise _cannot(line, name, text)
        span, step = match.group("span"), int(match.group("step") or 1)
        if span == "*":
            first, last = low, high if name != "day-of-week" else 6
        elif "-" in span:
            first, last = (_number(end, spec, line) for end in span.split("-"))
            if name == "day-of-week" and last < first:
                last += 7  # fri-sun wraps through the weekend, as litmon schedule reads it
        else:
            first = _number(span, spec, line)
            # "5/15": from 5 on, every 15th, as APScheduler reads it
            last = (high if name != "day-of-week" else 6) if match.group("step") else first
        values.update(range(first, last + 1, step))
    return sorted(values)


def _number(text: str, spec: tuple[str, int, int, tuple[str, ...]], line: str) -> int:
    name, low, high, names = spec
    if text.isdigit() and low <= int(text) <= high:
        return int(text)
    if text[:3] in names:
        return names.index(text[:3]) + low
    raise _cannot(line, name, text)


def _cannot(line: str, name: str, text: str) -> UsageError:
    return UsageError(
        f"crontab line {line!r}: cannot write {name} {text!r} as a systemd timer"
        " (it takes *, numbers in range, names, a-b ranges, /steps and lists)"
    )


def _render(values: list[int], low: int, high: int) -> str:
    """Values of one calendar field in systemd's notation: ``*``, ``00/30`` (every 30th
    from 0 on), ``01..05/2``, ``08..17``, or a list."""
    if values == list(range(low, high + 1)):
        return "*"
    steps = {b - a for a, b in zip(values, values[1:], strict=False)}
    if len(values) >= 3 and len(steps) == 1:
        step = steps.pop()
        if step == 1:
            return f"{values[0]:02d}..{values[-1]:02d}"
        if values[-1] + step > high:
            return f"{values[0]:02d}/{step}"
        return f"{values[0]:02d}..{values[-1]:02d}/{step}"
    return ",".join(f"{value:02d}" for value in values)


def _weekday_names(days: set[int]) -> str:
    """Weekdays (0 = Sunday) as systemd writes them, Monday first: ``Mon..Fri``, ``Sat,Sun``;
    empty for every day. systemd ranges do not wrap past Sunday, so neither do these."""
    if len(days) == 7:
        return ""
    ordered = [day for day in (1, 2, 3, 4, 5, 6, 0) if day in days]
    position = {day: index for index, day in enumerate((1, 2, 3, 4, 5, 6, 0))}
    runs: list[list[int]] = []
    for day in ordered:
        if runs and position[day] == position[runs[-1][-1]] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        names = [_WEEKDAYS[day].title() for day in run]
        parts.extend([f"{names[0]}..{names[-1]}"] if len(names) >= 3 else names)
    return ",".join(parts)


def systemd_units(deployment: Deployment, schedule: Mapping[str, str]) -> dict[str, str]:
    """Unit file name -> text: per job a oneshot service and its timer, the
    ``litmon schedule`` daemon (instead of the timers), ``litmon serve``, an hourly
    ``litmon check``, and the ``OnFailure=`` notifier."""
    units: dict[str, str] = {}
    timers = []
    for job, line in schedule.items():
        calendar = on_calendar(line)
        what, args, network = JOB_COMMANDS[job]
        units[f"litmon-{job}.service"] = _unit(
            f"litmon: {what} (started by litmon-{job}.timer)",
            deployment,
            [
                "Type=oneshot",
                f"ExecStart={deployment.command(*args)}",
                "# 75: another run held the lock (it did the work); `litmon check` reports"
                " a job that keeps missing its window"
                + ("; 3: nothing was waiting" if job == "summarize" else ""),
                f"SuccessExitStatus={' '.join(map(str, QUIET_EXITS.get(job, (75,))))}",
            ],
            network=network,
        )
        units[f"litmon-{job}.timer"] = _timer(
            f"litmon: {what} on the [schedule] line {line!r} (UTC)", calendar
        )
        timers.append(f"litmon-{job}.timer")
    units["litmon-schedule.service"] = _unit(
        "litmon: the built-in scheduler (instead of the timers)",
        deployment,
        [
            "Type=simple",
            f"ExecStart={deployment.command('schedule')}",
            "Restart=on-failure",
            "RestartSec=60",
            "# 2: a usage or config error, which a restart does not mend",
            "RestartPreventExitStatus=2",
            "# on SIGTERM it finishes or abandons the batch it is on and records the run",
            "KillSignal=SIGTERM",
            f"TimeoutStopSec={STOP_TIMEOUT}",
        ],
        network=True,
        extra_unit=("# the timers or the daemon, not both", f"Conflicts={' '.join(timers)}"),
        install="WantedBy=multi-user.target",
    )
    units["litmon-serve.service"] = _unit(
        "litmon: the editors' review page and the workers' API (litmon serve)",
        deployment,
        [
            "Type=simple",
            f"ExecStart={deployment.command('serve')}",
            "Restart=on-failure",
            "RestartSec=10",
            "RestartPreventExitStatus=2",
        ],
        install="WantedBy=multi-user.target",
    )
    # what cron's check line does: a source failing for longer than its window, a stale
    # heartbeat or a dead letter makes this unit fail, and OnFailure= tells ops
    units[CHECK_UNIT] = _unit(
        "litmon: health check (started by litmon-check.timer)",
        deployment,
        ["Type=oneshot", f"ExecStart={deployment.command('check')}"],
    )
    units["litmon-check.timer"] = _timer(
        f"litmon: health check on {CHECK_LINE!r} (UTC)", on_calendar(CHECK_LINE)
    )
    units[NOTIFY_UNIT] = _unit(
        "litmon: report the failure of %i",
        deployment,
        ["Type=oneshot", f"ExecStart={deployment.command('notify', '%i')}"],
        on_failure=False,  # a notifier that fails must not start itself again
    )
    return units


def _timer(description: str, calendar: str) -> str:
    return "\n".join(
        [
            "[Unit]",
            f"Description={description}",
            "OnFailure=litmon-notify@%n.service",
            "",
            "[Timer]",
            f"OnCalendar={calendar}",
            "# a run missed while the machine was off runs once at boot",
            "Persistent=true",
            f"RandomizedDelaySec={RANDOM_DELAY}",
            "",
            "[Install]",
            "WantedBy=timers.target",
            "",
        ]
    )


def _unit(
    description: str,
    deployment: Deployment,
    service: list[str],
    *,
    network: bool = False,
    on_failure: bool = True,
    extra_unit: tuple[str, ...] = (),
    install: str | None = None,
) -> str:
    lines = ["[Unit]", f"Description={description}"]
    if network:
        lines += ["Wants=network-online.target", "After=network-online.target"]
    if on_failure:
        lines.append("OnFailure=litmon-notify@%n.service")
    lines += [*extra_unit, "", "[Service]", *service, *_account_and_sandbox(deployment)]
    if install:
        lines += ["", "[Install]", install]
    return "\n".join(lines) + "\n"


def _account_and_sandbox(deployment: Deployment) -> list[str]:
    """The dedicated user, its directories, and hardening that leaves litmon working."""
    lines = [
        f"User={deployment.user}",
        f"Group={deployment.user}",
        "# NCBI_EMAIL=..., NCBI_API_KEY=... (mode 600); optional",
        f"EnvironmentFile=-{deployment.env_file}",
        f"WorkingDirectory={deployment.state_dir}",
    ]
    for setting, base, path in (
        ("StateDirectory", "/var/lib", deployment.state_dir),
        ("LogsDirectory", "/var/log", deployment.log_dir),
    ):
        # systemd creates these (owned by User=) only under its own bases
        if PurePosixPath(path).is_relative_to(base) and str(path) != base:
            lines.append(f"{setting}={PurePosixPath(path).relative_to(base)}")
    used = [
        deployment.executable,
        Path(sys.executable).resolve(),  # a venv's python links to the base interpreter
        deployment.config.parent,
        deployment.state_dir,
        deployment.log_dir,
    ]
    writable = [deployment.state_dir, deployment.log_dir]
    if deployment.site_dir is not None and not any(
        PurePosixPath(deployment.site_dir).is_relative_to(path) for path in writable
    ):
        writable.append(deployment.site_dir)
    lines += [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        f"ReadWritePaths={' '.join(map(str, writable))}",
    ]
    if _under(used, "/home", "/root", "/run/user"):
        lines += ["# this install lives in a home directory: readable, not writable"]
        lines.append("ProtectHome=read-only")
    else:
        lines.append("ProtectHome=yes")
    if _under(used, "/tmp", "/var/tmp"):
        lines.append("# no PrivateTmp=: this install lives under a temporary directory")
    else:
        lines.append("PrivateTmp=yes")
    return lines


def _under(paths: list[Path], *bases: str) -> bool:
    return any(PurePosixPath(path).is_relative_to(base) for path in paths for base in bases)


def crontab_text(deployment: Deployment, schedule: Mapping[str, str]) -> str:
    """A crontab for the dedicated user: the jobs on the config's [schedule] lines, in UTC,
    and an hourly ``litmon check`` whose output cron mails only when it fails."""
    lines = [
        f"# litmon for user {deployment.user}: crontab -u {deployment.user} THIS_FILE",
        "# The times are UTC, as in litmon.toml [schedule]. cronie reads CRON_TZ; Debian's and",
        "# Ubuntu's cron ignore it: there keep the machine in UTC, or use the systemd timers.",
        "CRON_TZ=UTC",
        "# cron mails what a job prints; crawls print only warnings and errors here.",
        "# MAILTO=ops@example.org",
    ]
    for job, line in schedule.items():
        on_calendar(line)  # the same lines `init --systemd` accepts, refused the same way
        if len(line.split()) != 5:
            raise UsageError(f"crontab line {line!r}: cron takes 5 fields, with no seconds")
        command = deployment.command("-q", *JOB_COMMANDS[job][1])
        if job == "summarize":
            if deployment.db_path is not None:
                # two workers may well run at once (leases keep them apart), but two cron
                # runs of one job must not: the daemon's lock of the job, exit code 75
                lock = shlex.quote(f"{deployment.db_path}.summarize.lock")
                command = f"flock -n -E 75 {lock} {command}"
            # mailed only when it failed: not for nothing to claim (3) or a run still on (75)
            quiet = "|".join(map(str, QUIET_EXITS[job]))
            lines.append(
                f"{line}  out=$({_cron_escape(command)} 2>&1)"
                f' || case $? in {quiet}) ;; *) echo "$out" ;; esac'
            )
            continue
        lines.append(f"{line}  {_cron_escape(command)} >/dev/null")
    check = deployment.command("check")
    lines += [
        "# monitoring: a failing source, a stale database or a dead letter mails ops",
        f'{CHECK_LINE}  out=$({_cron_escape(check)} 2>&1) || echo "$out"',
        "",
    ]
    return "\n".join(lines)


def _cron_escape(command: str) -> str:
    # cron turns an unescaped % into a newline
    return command.replace("%", r"\%")
