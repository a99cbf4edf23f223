"""Where log lines go and what they look like: one JSON object per line (for journald, a
log shipper, grep + jq), or readable lines on a terminal; never with a secret in them.

The ``cli()`` callback calls :func:`configure` from ``-v``/``-q`` before anything is known
of the config; once the config is loaded, :func:`apply_settings` moves the lines to the
``[log]`` file and format and adds the config's secrets to what is hidden.
"""

from __future__ import annotations

import errno
import logging
import logging.handlers
import os
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from litmon.core.redact import HIDDEN, redact_text
from litmon.pipeline.run import run_notes
from litmon.settings import LogSettings

# Attributes every LogRecord has; whatever else a record carries came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class Redactor(logging.Filter):
    """Hides secrets in every record a handler is about to write: in the message and its
    arguments, in the ``extra`` fields and in the traceback. Known values (the NCBI API key)
    are hidden wherever they occur; the patterns catch keys and passwords in URLs."""

    def __init__(self) -> None:
        super().__init__()
        self._values: set[str] = set()

    def add_secrets(self, values: Iterable[str | None]) -> None:
        # very short values would hide ordinary words; NCBI keys are 36 characters
        self._values.update(value for value in values if value and len(value) >= 6)

    def hide(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, HIDDEN)
        return redact_text(text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.hide(record.getMessage()), None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD:
                setattr(record, key, self._hide_value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.hide(record.exc_text)
        if record.stack_info:
            record.stack_info = self.hide(record.stack_info)
        return True

    def _hide_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.hide(value)
        if isinstance(value, dict):
            return {key: self._hide_value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._hide_value(item) for item in value]
        return value


class JsonFormatter(logging.Formatter):
    """One JSON object per record: timestamp (UTC), level, logger, event, message, then the
    record's ``extra`` fields, and the traceback as ``exception`` if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "event": getattr(record, "event", None) or "log",
            "message": record.getMessage(),
        }
        line.update((k, v) for k, v in vars(record).items() if k not in _STANDARD and k not in line)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return orjson.dumps(line, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


class _TextFormatter(logging.Formatter):
    converter = staticmethod(time.gmtime)
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"


class _Stderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (click's test runner swaps it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


class _LazyFile(logging.handlers.RotatingFileHandler):
    """The log file and its folder are made with the first line written, so a command that
    logs nothing (``status`` on a missing database) leaves nothing behind."""

    def __init__(self, filename: Path, **options: Any) -> None:
        _check_writable(filename)
        super().__init__(filename, **options)

    def _open(self) -> Any:
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()


def _check_writable(path: Path) -> None:
    """Raise the OSError that writing ``path`` would, without making anything: a bad
    ``[log] file`` is a config error at start, not a surprise at the first line."""
    if path.exists():
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not os.access(path, os.W_OK):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(folder))


redactor = Redactor()
_handler: logging.Handler | None = None


def configure(level: int, *, verbose: bool = False, settings: LogSettings | None = None) -> None:
    """Send litmon's log records (and urllib3's with ``verbose``) at ``level`` and above to
    stderr, or to the rotating file of ``settings``; replaces what an earlier call set up."""
    global _handler
    settings = settings or LogSettings()
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
        _handler.close()
    if settings.file is not None:
        handler: logging.Handler = _LazyFile(
            settings.file,
            maxBytes=settings.max_bytes,
            backupCount=settings.backups,
            encoding="utf-8",
            delay=True,
        )
    else:
        handler = _Stderr()
    handler.setFormatter(_TextFormatter(_TEXT_FORMAT) if _readable(settings) else JsonFormatter())
    handler.addFilter(redactor)
    root.addHandler(handler)
    root.setLevel(level)
    # -v shows each request urllib3 sends; the redactor hides the API key in those lines
    logging.getLogger("urllib3").setLevel(logging.DEBUG if verbose else logging.WARNING)
    _handler = handler
    redactor.add_secrets([os.environ.get("NCBI_API_KEY")])
    if redactor not in run_notes.filters:  # notes are kept in the database: no secrets there
        run_notes.addFilter(redactor)


def apply_settings(settings: LogSettings, secrets: Iterable[str | None]) -> None:
    """Once the config is loaded: its ``[log]`` settings, at the level already chosen."""
    redactor.add_secrets(secrets)
    root = logging.getLogger()
    verbose = logging.getLogger("urllib3").level == logging.DEBUG
    configure(root.level, verbose=verbose, settings=settings)


def _readable(settings: LogSettings) -> bool:
    if settings.format == "auto":
        return settings.file is None and sys.stderr.isatty()
    return settings.format == "text"
