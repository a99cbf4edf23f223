"""Loading ``litmon.toml``: typed settings, environment overrides, one-line errors."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from litmon.core.errors import UsageError
from litmon.core.version import user_agent
from litmon.crawler.settings import NCBI_EUTILS_URL, NcbiSettings, Topic
from litmon.publish.pages import DEFAULT_DESCRIPTION, DEFAULT_TITLE
from litmon.review.guards import PARTS, GuardSettings
from litmon.review.leases import DEFAULT_LEASE
from litmon.review.queue import MAX_ATTEMPTS, REJECTION_REASONS
from litmon.review.settings import QueueSettings
from litmon.scoring.learn import ModelSettings
from litmon.scoring.profile import Group, Negative, Profile, Term
from litmon.summarize.settings import SummarizerSettings


class ConfigError(UsageError):
    """A configuration problem, worded for the person who has to fix the file."""

    kind = "config error"


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """``[schedule]`` beyond the crontab lines: how the jobs are started, for the daemon
    and for ``litmon check``."""

    # "cron" (cron or systemd timers start each job) or "daemon" (`litmon schedule`);
    # only the daemon keeps a heartbeat for `litmon check` to read
    runner: str = "cron"
    misfire_grace: float = 3600.0  # a job missed by up to this many seconds still runs once
    heartbeat: float = 60.0  # seconds between the daemon's heartbeats


@dataclass(frozen=True, slots=True)
class LogSettings:
    """``[log]``: where log lines go and in what form."""

    format: str = "auto"  # "auto": readable lines on a terminal, JSON lines otherwise
    file: Path | None = None  # a rotating log file instead of stderr
    max_bytes: int = 10 * 1024 * 1024  # rotate the file at this size
    backups: int = 5  # rotated files kept; older ones are deleted


@dataclass(frozen=True, slots=True)
class WebSettings:
    """``[web]``: where ``litmon serve`` listens and how it sets its cookies."""

    host: str = "127.0.0.1"  # loopback: put a TLS reverse proxy in front for other hosts
    port: int = 8080
    # mark the session cookie Secure (send it over HTTPS only): on behind a TLS proxy
    secure_cookies: bool = False
    # the Host names the service answers to (others get 400: DNS rebinding, forged links)
    allowed_hosts: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
    # addresses whose X-Forwarded-For / -Proto are believed (the reverse proxy); none else
    trusted_proxies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PublishSettings:
    """``[publish]``: where ``litmon publish`` (and its scheduled job) writes the public
    site, the address it is served from, and what the site calls itself."""

    dir: Path | None = None  # None: `litmon publish DIR` must name it
    base_url: str = ""  # e.g. "https://example.org/research/"; "" leaves feed links relative
    title: str = DEFAULT_TITLE
    description: str = DEFAULT_DESCRIPTION


@dataclass(frozen=True, slots=True)
class Config:
    source: Path | None  # the file it came from, None for built-in defaults
    db_path: Path = Path("litmon.db")
    # how long a crawl waits for another crawl of the same database before exiting 75
    lock_wait: float = 900.0
    # how long a write waits for another connection's write lock before it gives up (the
    # command line then exits 75, the web answers 503 with Retry-After)
    busy_timeout: float = 30.0
    ncbi: NcbiSettings = NcbiSettings()
    topics: dict[str, Topic] = field(default_factory=dict)
    # topic -> its relevance profile; a topic without one is crawled but not scored
    profiles: dict[str, Profile] = field(default_factory=dict)
    feeds_file: Path | Traversable | None = None
    contact: str = ""  # who to tell about a misbehaving crawler: goes into the User-Agent
    schedule: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SCHEDULE))
    queue: QueueSettings = QueueSettings()  # [queue], with [guards]
    service: ServiceSettings = ServiceSettings()
    log: LogSettings = LogSettings()
    retention_days: int = 90  # crawl_runs rows older than this are pruned
    notify_command: str = ""  # run by `litmon notify` when a unit fails (mail, a webhook)
    web: WebSettings = WebSettings()
    summarizer: SummarizerSettings = SummarizerSettings()
    model: ModelSettings = ModelSettings()
    publish: PublishSettings = PublishSettings()

    @property
    def user_agent(self) -> str:
        contact = self.contact or self.ncbi.email
        return user_agent(contact=contact)


# job -> crontab line (minute hour day month weekday), for `litmon schedule`
DEFAULT_SCHEDULE = {"pubmed": "15 5 * * *", "feeds": "*/30 * * * *"}
# jobs that run only when [schedule] gives them a line: they need settings of their own
# (the summarizer's model, the site's directory)
OPTIONAL_JOBS = ("summarize", "publish")

# key -> (type, check, description of a valid value)
_NCBI_KEYS: dict[str, tuple[type, Any, str]] = {
    "email": (str, None, "an email address"),
    "tool": (str, lambda v: v.strip() != "", "a non-empty tool name"),
    "api_key": (str, None, "an NCBI API key"),
    "eutils_url": (str, lambda v: v.startswith(("http://", "https://")), "an http(s) URL"),
    "batch_size": (int, lambda v: 1 <= v <= 10_000, "an integer from 1 to 10000"),
    "timeout": (float, lambda v: v > 0, "a positive number of seconds"),
    "max_retries": (int, lambda v: 0 <= v <= 20, "an integer from 0 to 20"),
    "lookback_days": (int, lambda v: v >= 1, "a whole number of days >= 1"),
    "overlap_days": (int, lambda v: v >= 0, "a whole number of days >= 0"),
    "refresh_days": (int, lambda v: v >= 1, "a whole number of days >= 1"),
}


def load_config(
    path: str | os.PathLike | None = None, env: Mapping[str, str] = os.environ
) -> Config:
    """Read the config file (``path``, else ``$LITMON_CONFIG``); with neither, the shipped
    defaults (package data), so litmon runs with no config file at all."""
    chosen = path or env.get("LITMON_CONFIG")
    if not chosen:
        shipped = shipped_file("litmon.toml")
        return _build(tomllib.loads(shipped.read_text(encoding="utf-8")), None, env)
    chosen = Path(chosen)
    try:
        with chosen.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {chosen}") from None
    except IsADirectoryError:
        raise ConfigError(f"{chosen} is a directory, not a config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{chosen}: not valid TOML: {exc}") from None
    return _build(data, chosen, env)


def shipped_file(name: str) -> Traversable:
    """One of the shipped config files (``litmon.toml``, ``feeds.toml``)."""
    return resources.files("litmon.config") / name


def _build(data: dict, source: Path | None, env: Mapping[str, str]) -> Config:
    where = source if source is not None else "the shipped litmon.toml"

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"{where}: {key}: {message}")

    _only_keys(
        data,
        {
            "database",
            "ncbi",
            "feeds",
            "topics",
            "contact",
            "schedule",
            "queue",
            "guards",
            "log",
            "retention",
            "notify",
            "web",
            "summarizer",
            "model",
            "publish",
        },
        "",
        fail,
    )
    database = _table(data, "database", fail)
    _only_keys(database, {"path", "lock_wait", "busy_timeout"}, "database.", fail)
    lock_wait = database.get("lock_wait", 900)
    if isinstance(lock_wait, bool) or not isinstance(lock_wait, int | float) or lock_wait < 0:
        raise fail("database.lock_wait", f"must be a number of seconds >= 0, got {lock_wait!r}")
    busy_timeout = database.get("busy_timeout", 30)
    if (
        isinstance(busy_timeout, bool)
        or not isinstance(busy_timeout, int | float)
        or not 0 <= busy_timeout <= 3600
    ):
        raise fail("database.busy_timeout", f"must be 0 to 3600 seconds, got {busy_timeout!r}")
    db_path = env.get("LITMON_DB") or database.get("path", "litmon.db")
    if not isinstance(db_path, str) or not db_path:
        raise fail("database.path", "must be a file path")

    ncbi_table = _table(data, "ncbi", fail)
    _only_keys(ncbi_table, set(_NCBI_KEYS), "ncbi.", fail)
    ncbi_values = {}
    for key, (kind, check, wanted) in _NCBI_KEYS.items():
        if key not in ncbi_table:
            continue
        value = ncbi_table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool) or (check and not check(value)):
            raise fail(f"ncbi.{key}", f"must be {wanted}, got {value!r}")
        ncbi_values[key] = value
    for key, var in (("email", "NCBI_EMAIL"), ("api_key", "NCBI_API_KEY")):
        if env.get(var):
            ncbi_values[key] = env[var]
    if env.get("LITMON_EUTILS_URL"):
        if not env["LITMON_EUTILS_URL"].startswith(("http://", "https://")):
            raise ConfigError(
                f"LITMON_EUTILS_URL: must be an http(s) URL, got {env['LITMON_EUTILS_URL']!r}"
            )
        ncbi_values["eutils_url"] = env["LITMON_EUTILS_URL"]
    url = ncbi_values.get("eutils_url", NCBI_EUTILS_URL)
    ncbi_values["eutils_url"] = url if url.endswith("/") else url + "/"

    topics, profiles = {}, {}
    for name, table in _table(data, "topics", fail).items():
        if not isinstance(table, dict):
            raise fail(f"topics.{name}", "must be a table with a 'query' key")
        _only_keys(table, {"query", "title", "profile"}, f"topics.{name}.", fail)
        query = table.get("query")
        if not isinstance(query, str) or not query.strip():
            raise fail(f"topics.{name}.query", "must be a non-empty Entrez query string")
        title = table.get("title", "")
        if not isinstance(title, str):
            raise fail(f"topics.{name}.title", "must be a string")
        topics[name] = Topic(name=name, query=" ".join(query.split()), title=title)
        if "profile" in table:
            profiles[name] = _profile(name, table["profile"], f"topics.{name}.profile", fail)

    feeds = _table(data, "feeds", fail)
    _only_keys(feeds, {"file"}, "feeds.", fail)
    feeds_file = feeds.get("file")
    if feeds_file is not None and (not isinstance(feeds_file, str) or not feeds_file):
        raise fail("feeds.file", "must be the path of the feeds file, relative to this one")
    contact = data.get("contact", "")
    if not isinstance(contact, str):
        raise fail("contact", "must be an email address or URL")
    schedule = dict(DEFAULT_SCHEDULE)
    schedule_table = _table(data, "schedule", fail)
    jobs = set(DEFAULT_SCHEDULE) | set(OPTIONAL_JOBS)
    _only_keys(schedule_table, jobs | set(_SERVICE_KEYS), "schedule.", fail)
    for job, line in schedule_table.items():
        if job in _SERVICE_KEYS:
            continue
        if not isinstance(line, str):
            raise fail(f"schedule.{job}", f"must be a crontab line like '15 5 * * *', got {line!r}")
        try:
            if line != DEFAULT_SCHEDULE.get(job):
                # APScheduler (and asyncio under it) is loaded only for a line of one's own
                from litmon.crontab import cron_trigger

                cron_trigger(line)
        except (TypeError, ValueError) as exc:
            message = f"must be a crontab line like '15 5 * * *': {exc}"
            raise fail(f"schedule.{job}", message) from None
        schedule[job] = line
    guards = _guards(_table(data, "guards", fail), fail)
    queue = _queue(_table(data, "queue", fail), guards, fail)
    publish = _publish(_table(data, "publish", fail), source, fail)
    if "publish" in schedule and publish.dir is None:
        raise fail("schedule.publish", "a scheduled publish needs [publish] dir, where to write")
    return Config(
        source=source,
        queue=queue,
        model=_model(_table(data, "model", fail), queue.reject_reasons, fail),
        db_path=Path(db_path),
        lock_wait=float(lock_wait),
        busy_timeout=float(busy_timeout),
        ncbi=NcbiSettings(**ncbi_values),
        topics=topics,
        profiles=profiles,
        feeds_file=_beside(source, feeds_file) if feeds_file else None,
        contact=contact,
        schedule=schedule,
        service=_service(schedule_table, fail),
        log=_log(_table(data, "log", fail), source, fail),
        retention_days=_retention(_table(data, "retention", fail), fail),
        notify_command=_notify(_table(data, "notify", fail), fail),
        web=_web(_table(data, "web", fail), fail),
        summarizer=_summarizer(_table(data, "summarizer", fail), source, env, fail),
        publish=publish,
    )


_SERVICE_KEYS = ("runner", "misfire_grace_seconds", "heartbeat_seconds")
RUNNERS = ("cron", "daemon")
LOG_FORMATS = ("auto", "json", "text")


def _service(table: dict, fail: Any) -> ServiceSettings:
    runner = table.get("runner", "cron")
    if runner not in RUNNERS:
        raise fail("schedule.runner", f"must be one of {', '.join(RUNNERS)}, got {runner!r}")
    grace = _number(
        table.get("misfire_grace_seconds", 3600),
        "schedule.misfire_grace_seconds",
        "a number of seconds >= 1",
        lambda v: v >= 1,
        fail,
    )
    beat = _number(
        table.get("heartbeat_seconds", 60),
        "schedule.heartbeat_seconds",
        "a number of seconds from 1 to 3600",
        lambda v: 1 <= v <= 3600,
        fail,
    )
    return ServiceSettings(runner=runner, misfire_grace=grace, heartbeat=beat)


def _log(table: dict, source: Path | None, fail: Any) -> LogSettings:
    """``[log]``; a relative file is relative to the config file."""
    _only_keys(table, {"format", "file", "max_bytes", "backups"}, "log.", fail)
    fmt = table.get("format", "auto")
    if fmt not in LOG_FORMATS:
        raise fail("log.format", f"must be one of {', '.join(LOG_FORMATS)}, got {fmt!r}")
    name = table.get("file", "")
    if not isinstance(name, str):
        raise fail("log.file", f'must be a file path (or "" for stderr), got {name!r}')
    size = table.get("max_bytes", LogSettings().max_bytes)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1024:
        raise fail("log.max_bytes", f"must be a whole number of bytes >= 1024, got {size!r}")
    backups = table.get("backups", LogSettings().backups)
    if isinstance(backups, bool) or not isinstance(backups, int) or not 1 <= backups <= 1000:
        raise fail("log.backups", f"must be a whole number from 1 to 1000, got {backups!r}")
    path = None
    if name:
        path = Path(name) if source is None or Path(name).is_absolute() else source.parent / name
    return LogSettings(format=fmt, file=path, max_bytes=size, backups=backups)


def _retention(table: dict, fail: Any) -> int:
    _only_keys(table, {"runs_days"}, "retention.", fail)
    days = table.get("runs_days", 90)
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise fail("retention.runs_days", f"must be a whole number of days >= 1, got {days!r}")
    return days


def _web(table: dict, fail: Any) -> WebSettings:
    _only_keys(
        table, {"host", "port", "secure_cookies", "allowed_hosts", "trusted_proxies"}, "web.", fail
    )
    host = table.get("host", "127.0.0.1")
    if not isinstance(host, str) or not host:
        raise fail("web.host", f"must be an address to listen on, got {host!r}")
    port = table.get("port", 8080)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise fail("web.port", f"must be a port number from 0 to 65535, got {port!r}")
    secure = table.get("secure_cookies", False)
    if not isinstance(secure, bool):
        raise fail("web.secure_cookies", f"must be true or false, got {secure!r}")
    names = {}
    for key in ("allowed_hosts", "trusted_proxies"):
        value = table.get(key, list(getattr(WebSettings(), key)))
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise fail(f"web.{key}", f"must be a list of names or addresses, got {value!r}")
        names[key] = tuple(value)
    return WebSettings(host=host, port=port, secure_cookies=secure, **names)


# key -> (type, check, description of a valid value)
_SUMMARIZER_KEYS: dict[str, tuple[type, Any, str]] = {
    "base_url": (str, lambda v: v.startswith(("http://", "https://")), "an http(s) URL"),
    "model": (str, lambda v: v.strip() != "", "a model name"),
    "timeout": (float, lambda v: v > 0, "a positive number of seconds"),
    "max_retries": (int, lambda v: 0 <= v <= 20, "an integer from 0 to 20"),
    "reading_grade": (float, lambda v: 1 <= v <= 20, "a school grade from 1 to 20"),
    "temperature": (float, lambda v: 0 <= v <= 2, "a number from 0 to 2"),
    "max_tokens": (int, lambda v: 100 <= v <= 100_000, "an integer from 100 to 100000"),
    "json_mode": (bool, None, "true or false"),
    "poll_seconds": (float, lambda v: 1 <= v <= 86_400, "a number of seconds from 1 to 86400"),
}


def _summarizer(
    table: dict, source: Path | None, env: Mapping[str, str], fail: Any
) -> SummarizerSettings:
    """``[summarizer]``: the model's endpoint (LITMON_LLM_URL overrides base_url) and the
    prompt template, compiled here so a broken one is a config error naming its line."""
    _only_keys(table, {*_SUMMARIZER_KEYS, "prompt", "prompt_file"}, "summarizer.", fail)
    values: dict[str, Any] = {}
    for key, (kind, check, wanted) in _SUMMARIZER_KEYS.items():
        if key not in table:
            continue
        value = table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        wrong = isinstance(value, bool) != (kind is bool) or not isinstance(value, kind)
        if wrong or (check and not check(value)):
            raise fail(f"summarizer.{key}", f"must be {wanted}, got {value!r}")
        values[key] = value
    url = env.get("LITMON_LLM_URL")
    if url:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"LITMON_LLM_URL: must be an http(s) URL, got {url!r}")
        values["base_url"] = url
    inline, name = table.get("prompt", ""), table.get("prompt_file", "")
    if not isinstance(inline, str) or not isinstance(name, str):
        raise fail("summarizer.prompt", "prompt and prompt_file must be strings")
    if inline and name:
        raise fail("summarizer.prompt", "give the template inline or as prompt_file, not both")
    if inline:
        text, where = inline, f"{source or 'the config'}: summarizer.prompt"
    else:
        path = _beside(source, name) if name else shipped_file("summarize_prompt.j2")
        where = str(path) if name else "the shipped summarize_prompt.j2"
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise fail("summarizer.prompt_file", f"cannot read {path}: {exc}") from None
    if inline or name:
        # the shipped template is compiled by its tests; jinja2 is loaded for one's own
        from litmon.summarize.prompt import PromptError, compile_prompt

        try:
            compile_prompt(text, where)
        except PromptError as exc:
            raise ConfigError(str(exc)) from None
    return SummarizerSettings(**values, prompt=text, prompt_source=where)


def _publish(table: dict, source: Path | None, fail: Any) -> PublishSettings:
    """``[publish]``; a relative dir is relative to the config file."""
    _only_keys(table, {"dir", "base_url", "title", "description"}, "publish.", fail)
    name = table.get("dir", "")
    if not isinstance(name, str):
        raise fail("publish.dir", f'must be a directory path (or "" for none), got {name!r}')
    base_url = table.get("base_url", "")
    if not isinstance(base_url, str) or (
        base_url and not base_url.startswith(("http://", "https://"))
    ):
        raise fail("publish.base_url", f'must be an http(s) URL (or ""), got {base_url!r}')
    texts = {}
    for key in ("title", "description"):
        value = table.get(key, getattr(PublishSettings(), key))
        if not isinstance(value, str) or not value.strip():
            raise fail(f"publish.{key}", f"must be a non-empty string, got {value!r}")
        texts[key] = value.strip()
    folder = None
    if name:
        folder = Path(name) if source is None or Path(name).is_absolute() else source.parent / name
    return PublishSettings(dir=folder, base_url=base_url, **texts)


def _notify(table: dict, fail: Any) -> str:
    _only_keys(table, {"command"}, "notify.", fail)
    command = table.get("command", "")
    if not isinstance(command, str):
        raise fail("notify.command", f"must be a shell command line, got {command!r}")
    return command


def _queue(table: dict, guards: GuardSettings, fail: Any) -> QueueSettings:
    """``[queue]``: rejection reasons, attempts before a candidate is dead, default lease;
    with the ``guards`` of ``[guards]``."""
    _only_keys(table, {"reject_reasons", "max_attempts", "lease_seconds"}, "queue.", fail)
    reasons = table.get("reject_reasons", list(REJECTION_REASONS))
    if (
        not isinstance(reasons, list)
        or not reasons
        or not all(isinstance(r, str) and r.strip() == r and r for r in reasons)
        or len(set(reasons)) != len(reasons)
    ):
        message = f"must be a non-empty list of distinct, non-blank strings, got {reasons!r}"
        raise fail("queue.reject_reasons", message)
    attempts = table.get("max_attempts", MAX_ATTEMPTS)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 100:
        raise fail("queue.max_attempts", f"must be an integer from 1 to 100, got {attempts!r}")
    lease = _number(
        table.get("lease_seconds", DEFAULT_LEASE),
        "queue.lease_seconds",
        "a number of seconds from 1 to 86400",
        lambda v: 1 <= v <= 86_400,
        fail,
    )
    return QueueSettings(tuple(reasons), attempts, float(lease), guards)


def _guards(table: dict, fail: Any) -> GuardSettings:
    """``[guards]``: the bounds of the checks every draft goes through (review/guards.py)."""
    _only_keys(table, {"max_grade", "lay_parts", "banned_claims", "lengths"}, "guards.", fail)
    default = GuardSettings()
    grade = _number(table.get("max_grade", default.max_grade), "guards.max_grade",
                    "a reading grade from 1 to 30", lambda v: 1 <= v <= 30, fail)  # fmt: skip
    lay = table.get("lay_parts", list(default.lay_parts))
    if not isinstance(lay, list) or not all(part in PARTS for part in lay):
        raise fail("guards.lay_parts", f"must be a list of parts among {', '.join(PARTS)}")
    banned = table.get("banned_claims", list(default.banned))
    if not isinstance(banned, list) or not all(isinstance(b, str) and b for b in banned):
        raise fail("guards.banned_claims", "must be a list of regular expressions")
    for pattern in banned:
        try:
            re.compile(pattern)
        except re.error as exc:
            message = f"{pattern!r} is not a regular expression: {exc}"
            raise fail("guards.banned_claims", message) from None
    lengths = dict(default.lengths)
    given = _table(table, "lengths", fail)
    _only_keys(given, set(PARTS), "guards.lengths.", fail)
    for part, bounds in given.items():
        if (
            not isinstance(bounds, list)
            or len(bounds) != 2
            or not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds)
            or not 0 <= bounds[0] <= bounds[1]
        ):
            raise fail(
                f"guards.lengths.{part}", f"must be [least, most] characters, got {bounds!r}"
            )
        lengths[part] = (bounds[0], bounds[1])
    return GuardSettings(lengths=lengths, max_grade=float(grade), lay_parts=tuple(lay),
                         banned=tuple(banned))  # fmt: skip


def _model(table: dict, reject_reasons: tuple[str, ...], fail: Any) -> ModelSettings:
    """``[model]``: when the relevance model is trained, how it ranks beside the profiles,
    and which rejection reasons say a paper is not relevant."""
    defaults = ModelSettings()
    keys = {"min_labels", "retrain_after", "irrelevant_reasons", "let_in", "weight", "seed",
            "keep_versions"}  # fmt: skip
    _only_keys(table, keys, "model.", fail)
    values: dict[str, Any] = {}
    for key, low, high in (("min_labels", 1, 100_000), ("retrain_after", 1, 1_000_000),
                           ("seed", 0, 2**31 - 1), ("keep_versions", 1, 10_000)):  # fmt: skip
        value = table.get(key, getattr(defaults, key))
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise fail(f"model.{key}", f"must be an integer from {low} to {high}, got {value!r}")
        values[key] = value
    values["let_in"] = _number(
        table.get("let_in", defaults.let_in), "model.let_in", "a probability above 0 and at most 1",
        lambda v: 0 < v <= 1, fail,
    )  # fmt: skip
    values["weight"] = _number(
        table.get("weight", defaults.weight), "model.weight", "a number >= 0", lambda v: v >= 0,
        fail,
    )  # fmt: skip
    # by default, those of the shipped reasons that [queue] reject_reasons still has
    shipped = [r for r in defaults.irrelevant_reasons if r in reject_reasons]
    reasons = table.get("irrelevant_reasons", shipped)
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise fail("model.irrelevant_reasons", f"must be a list of strings, got {reasons!r}")
    unknown = [r for r in reasons if r not in reject_reasons]
    if unknown:
        raise fail(
            "model.irrelevant_reasons",
            f"{unknown[0]!r} is not one of [queue] reject_reasons ({', '.join(reject_reasons)})",
        )
    values["irrelevant_reasons"] = tuple(reasons)
    return ModelSettings(**values)


# components every profile has besides its groups, so no group may take their names
_FIXED_COMPONENTS = ("study_type", "negative")


def _profile(topic: str, table: Any, key: str, fail: Any) -> Profile:
    """``[topics.NAME.profile]``: threshold, groups of weighted terms and MeSH headings,
    study types, negative signals (docs/how-it-works.md, "Scoring")."""
    if not isinstance(table, dict):
        raise fail(key, "must be a table (threshold, groups, study_types, negative)")
    _only_keys(
        table, {"threshold", "groups", "study_types", "design_terms", "negative"}, f"{key}.", fail
    )
    if "threshold" not in table:
        raise fail(f"{key}.threshold", "missing: the score at which a work becomes a candidate")
    threshold = _number(table["threshold"], f"{key}.threshold", "a number", None, fail)
    groups = []
    for name, group in _sub(table, "groups", key, fail).items():
        where = f"{key}.groups.{name}"
        if name in _FIXED_COMPONENTS:
            raise fail(where, f"is the name of a fixed component ({', '.join(_FIXED_COMPONENTS)})")
        if not isinstance(group, dict):
            raise fail(where, "must be a table (cap, terms, mesh)")
        _only_keys(group, {"cap", "terms", "mesh"}, f"{where}.", fail)
        cap = group.get("cap")
        if cap is not None:
            cap = _number(cap, f"{where}.cap", "a number > 0", lambda v: v > 0, fail)
        terms = _terms(_sub(group, "terms", where, fail), f"{where}.terms", True, fail)
        mesh = _weights(_sub(group, "mesh", where, fail), f"{where}.mesh", True, fail)
        if not terms and not mesh:
            raise fail(where, "has no terms and no mesh headings")
        groups.append(Group(name=name, cap=cap, terms=terms, mesh=mesh))
    if not groups:
        raise fail(f"{key}.groups", "missing: at least one group of weighted terms")
    study_types = _weights(_sub(table, "study_types", key, fail), f"{key}.study_types", None, fail)
    design_terms = _terms(_sub(table, "design_terms", key, fail), f"{key}.design_terms", True, fail)
    negative = _sub(table, "negative", key, fail)
    where = f"{key}.negative"
    _only_keys(negative, {"animal_only", "publication_types", "terms"}, f"{where}.", fail)
    animal_only = _number(
        negative.get("animal_only", 0), f"{where}.animal_only", "a number <= 0", _not_positive, fail
    )
    return Profile(
        topic=topic,
        threshold=threshold,
        groups=tuple(groups),
        study_types=study_types,
        design_terms=design_terms,
        negative=Negative(
            publication_types=_weights(
                _sub(negative, "publication_types", where, fail),
                f"{where}.publication_types",
                False,
                fail,
            ),
            animal_only=animal_only,
            terms=_terms(_sub(negative, "terms", where, fail), f"{where}.terms", False, fail),
        ),
    )


def _sub(table: dict, name: str, key: str, fail: Any) -> dict:
    value = table.get(name, {})
    if not isinstance(value, dict):
        raise fail(f"{key}.{name}", "must be a table")
    return value


def _not_positive(value: float) -> bool:
    return value <= 0


def _number(value: Any, key: str, wanted: str, check: Any, fail: Any) -> float:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if not number or (check and not check(value)):
        raise fail(key, f"must be {wanted}, got {value!r}")
    return float(value)


def _signed(positive: bool | None) -> tuple[str, Any]:
    """How a weight must look: > 0 (positive groups), < 0 (negative signals), or any."""
    if positive is None:
        return "a number", None
    if positive:
        return "a number > 0", lambda v: v > 0
    return "a number < 0", lambda v: v < 0


def _weights(table: dict, key: str, positive: bool | None, fail: Any) -> tuple:
    wanted, check = _signed(positive)
    return tuple(
        (name, _number(value, f"{key}.{name}", wanted, check, fail))
        for name, value in table.items()
    )


def _terms(table: dict, key: str, positive: bool, fail: Any) -> tuple[Term, ...]:
    """Each term is a weight, or ``{ weight = W, variants = ["spelling", ...] }``."""
    wanted, check = _signed(positive)
    terms = []
    for name, value in table.items():
        where = f"{key}.{name}"
        if not name.strip().rstrip("*"):
            raise fail(where, "a term must have letters")
        variants: list = []
        if isinstance(value, dict):
            _only_keys(value, {"weight", "variants"}, f"{where}.", fail)
            if "weight" not in value:
                raise fail(f"{where}.weight", "missing")
            variants = value.get("variants", [])
            if not isinstance(variants, list) or not all(
                isinstance(v, str) and v.strip().rstrip("*") for v in variants
            ):
                raise fail(f"{where}.variants", "must be a list of non-empty spellings")
            weight = _number(value["weight"], f"{where}.weight", wanted, check, fail)
        else:
            weight = _number(value, where, f"{wanted} or {{ weight, variants }}", check, fail)
        terms.append(Term(name=name, weight=weight, variants=tuple(variants)))
    return tuple(terms)


def _beside(source: Path | None, name: str) -> Path | Traversable:
    """A file named in the config, relative to the config file (or a shipped one)."""
    return source.parent / name if source is not None else shipped_file(name)


def _table(data: dict, key: str, fail: Any) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise fail(key, "must be a table")
    return value


def _only_keys(table: dict, allowed: set[str], prefix: str, fail: Any) -> None:
    for key in table:
        if key not in allowed:
            raise fail(
                f"{prefix}{key}", f"unknown key (expected one of: {', '.join(sorted(allowed))})"
            )


def write_deployment(directory: Path, *, force: bool = False) -> list[Path]:
    """Copy the shipped ``litmon.toml`` and ``feeds.toml`` into ``directory`` for editing.

    Refuses (:class:`~litmon.core.errors.UsageError`, nothing written) when either exists,
    unless ``force``. Returns the files written.
    """
    names = ("litmon.toml", "feeds.toml")
    targets = [directory / name for name in names]
    existing = [str(path) for path in targets if path.exists()]
    if existing and not force:
        verb = "exists" if len(existing) == 1 else "exist"
        raise UsageError(f"{' and '.join(existing)} already {verb}; use --force to overwrite")
    directory.mkdir(parents=True, exist_ok=True)
    for name, target in zip(names, targets, strict=True):
        target.write_bytes(shipped_file(name).read_bytes())
    return targets
