"""What every command shares: the config and database of this invocation, progress output,
and the decorator that hands them to a command. Command modules import this, never cli."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from litmon.core.errors import UsageError

if TYPE_CHECKING:
    import sqlite_utils

    from litmon.settings import Config

log = logging.getLogger("litmon")


class App:
    """What every command needs: the config (loaded on first use) and the database."""

    def __init__(self, config_path: str | None, db_path: str | None) -> None:
        self._config_path = config_path
        self._db_path = db_path
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            # the config (and the database below) are loaded by the commands that use
            # them, not by `litmon --help`; a ConfigError goes to the command line's one
            # table of errors: one line, exit 2
            from litmon import logs
            from litmon.settings import ConfigError, load_config

            config = load_config(self._config_path)
            if self._db_path:
                config = replace(config, db_path=Path(self._db_path))
            self._config = config
            try:
                logs.apply_settings(config.log, secrets=[config.ncbi.api_key])
            except OSError as exc:
                where = f" in {config.source}" if config.source else ""
                raise ConfigError(
                    f"log.file{where}: cannot write {config.log.file}: {exc.strerror or exc}"
                ) from None
        return self._config

    @property
    def db_path(self) -> Path | None:
        """The database file of this invocation, once the config is loaded."""
        return self._config.db_path if self._config is not None else None

    @property
    def db_override(self) -> str | None:
        """The --db given on the command line, if any."""
        return self._db_path

    def database(self, *, create: bool = False) -> sqlite_utils.Database:
        """The database of this invocation. Only the commands that exist to create data
        (crawl, ingest, demo, init, the first ``users add``) pass ``create``; for every
        other one a file that is not there is ``no database at PATH`` (exit 2), and
        nothing is created."""
        from litmon.db.schema import open_db, open_existing

        opener = open_db if create else open_existing
        return opener(self.config.db_path, busy_timeout=self.config.busy_timeout)


class BarProgress:
    """A progress bar on a terminal; a log line per batch otherwise (cron, pipes)."""

    def __init__(self) -> None:
        self._bar = None
        self._label = ""
        self._done = self._total = 0

    def start(self, label: str, total: int) -> None:
        self._label, self._done, self._total = label, 0, total
        if sys.stderr.isatty():
            self._bar = click.progressbar(length=total, label=label, file=sys.stderr)
            self._bar.__enter__()

    def advance(self, done: int) -> None:
        self._done += done
        if self._bar is not None:
            self._bar.update(done)
        else:
            log.info("%s: %d/%d records", self._label, self._done, self._total)

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


pass_app = click.make_pass_decorator(App)


def writable_target(path: Path) -> Path:
    """A file a command is about to write (a backup, a metrics file): its directory must
    exist and take files, else one line now instead of a traceback after the work."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"cannot write {path}: no directory {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write {path}: the directory {folder} is not writable")
    return path
