"""Reading ``config/feeds.toml``: which journal feeds to poll, and how often."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

from litmon.core.errors import UsageError

DEFAULT_INTERVAL_MINUTES = 180
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_FEED_KEYS = {"name", "url", "journal", "enabled", "interval_minutes", "preprint"}
_DEFAULT_KEYS = {"interval_minutes"}


class FeedConfigError(UsageError):
    """The feeds file is unreadable or a key in it is wrong; the message names file and key."""


@dataclass(frozen=True, slots=True)
class FeedConfig:
    name: str  # records are stored with source "feed:<name>"
    url: str
    journal: str | None = None  # overrides the feed's own title as Record.journal
    enabled: bool = True
    interval_minutes: int = DEFAULT_INTERVAL_MINUTES
    preprint: bool = False  # items get publication_types ["Preprint"]

    @property
    def source(self) -> str:
        return f"feed:{self.name}"


def load_feeds(path: str | Path | Traversable) -> list[FeedConfig]:
    """Every feed in the file, enabled or not (``poll_feeds`` skips disabled ones)."""
    path = Path(path) if isinstance(path, str) else path
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FeedConfigError(f"{path}: cannot read feeds file: {exc}") from exc
    defaults = data.get("defaults", {})
    _check_keys(path, "[defaults]", defaults, _DEFAULT_KEYS)
    interval = _positive_int(
        path,
        "[defaults] key 'interval_minutes'",
        defaults.get("interval_minutes"),
        DEFAULT_INTERVAL_MINUTES,
    )
    _check_keys(path, "the top level", data, {"defaults", "feed"})
    entries = data.get("feed", [])
    if not isinstance(entries, list):
        raise FeedConfigError(f"{path}: 'feed' must be a list of [[feed]] tables")
    feeds = [_feed(path, i, entry, interval) for i, entry in enumerate(entries, start=1)]
    names = [feed.name for feed in feeds]
    for name in names:
        if names.count(name) > 1:
            raise FeedConfigError(f"{path}: feed name {name!r} is used more than once")
    return feeds


def _feed(path: Path, index: int, entry: object, interval: int) -> FeedConfig:
    if not isinstance(entry, dict):
        raise FeedConfigError(f"{path}: [[feed]] #{index} must be a table")
    where = f"[[feed]] #{index}" + (f" ({entry['name']!r})" if "name" in entry else "")
    _check_keys(path, where, entry, _FEED_KEYS)
    name, url = entry.get("name"), entry.get("url")
    if not isinstance(name, str) or not _NAME.match(name):
        raise FeedConfigError(f"{path}: {where} key 'name' must be lower-case letters/digits/-/_")
    if not isinstance(url, str) or not re.match(r"^https?://[^/\s]+", url):
        raise FeedConfigError(f"{path}: {where} key 'url' must be an http(s) URL")
    journal = entry.get("journal")
    if journal is not None and not isinstance(journal, str):
        raise FeedConfigError(f"{path}: {where} key 'journal' must be a string")
    return FeedConfig(
        name=name,
        url=url,
        journal=journal,
        enabled=_bool(path, f"{where} key 'enabled'", entry.get("enabled", True)),
        interval_minutes=_positive_int(
            path, f"{where} key 'interval_minutes'", entry.get("interval_minutes"), interval
        ),
        preprint=_bool(path, f"{where} key 'preprint'", entry.get("preprint", False)),
    )


def _check_keys(path: Path, where: str, table: object, allowed: set[str]) -> None:
    if not isinstance(table, dict):
        raise FeedConfigError(f"{path}: {where} must be a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise FeedConfigError(f"{path}: {where} has unknown key {unknown[0]!r}")


def _bool(path: Path, what: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise FeedConfigError(f"{path}: {what} must be true or false")
    return value


def _positive_int(path: Path, what: str, value: object, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise FeedConfigError(f"{path}: {what} must be a positive whole number of minutes")
    return value
