"""A file's items read in a process of its own while the caller stores them.

Reading a PubMed XML file and storing its records are each a large part of an ingest,
one after the other on one CPU. A reader process parses the file and sends its items
in batches down a pipe while the caller stores the batch before: the pipe holds little, so
the reader waits when it is ahead and memory stays flat whatever the file's size.

The items and the error are the caller's as if it read the file itself: everything read
before a malformed point arrives, then the reader's :class:`SourceError` (its message
unchanged, raised as the caller's error class). A reader that fails otherwise, or dies, is
the same error class with a one-line reason. The caller ends the reader when it stops (an
exception, Ctrl-C, an early close); a reader whose caller died without ending it stops at
its next write to the closed pipe.

Started as ``python -P -m litmon.crawler.read_ahead MODULE:FUNCTION PATH`` with the file
as its stdin (PATH only names it, for ``ps``): a fresh interpreter that imports only the
reader (not the caller's ``__main__``, nor anything from the caller's working directory), so
it costs the same whether the caller is the CLI, a bench or a test, and never shares the
caller's database connections or threads.
"""

from __future__ import annotations

import fcntl
import importlib
import marshal
import os
import pickle
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import fields
from typing import IO, Any

from litmon.core.errors import SourceError
from litmon.core.records import Link, Record

BATCH = 100  # items per message
# The pipe's capacity: how far the reader may run ahead (Linux lets a process raise it to
# /proc/sys/fs/pipe-max-size, 1 MiB by default; elsewhere the default 64 KiB stays).
PIPE_BYTES = 1024 * 1024

# Messages down the pipe, each its length (8 bytes) and a marshalled tuple: (ITEMS, [item,
# ...]), then either (END,), (FAILED, message) for the reader's SourceError, or (CRASHED,
# "Type: message"). A record goes as the list of its fields' values (links as tuples),
# another item pickled: unpickling a record costs its reader several times as much.
ITEMS, END, FAILED, CRASHED = "items", "end", "failed", "crashed"
_LENGTH = 8
_FIELDS = tuple(f.name for f in fields(Record))
_SETTERS = tuple(getattr(Record, name).__set__ for name in _FIELDS)
_LINKS = _FIELDS.index("links")
_LINK_FIELDS = tuple(f.name for f in fields(Link))


def read_in_process(
    reader: str, path: str | os.PathLike[str], error: type[SourceError]
) -> Iterator[Any]:
    """The items ``reader`` ("module:function", called as ``function(file,
    read_ahead=False)`` on ``path`` opened here) yields, read in a process of its own; its failures
    are raised as ``error``."""
    # -P: nothing of the caller's working directory may shadow what the reader imports
    command = [sys.executable, "-P", "-m", __name__, reader, os.fspath(path)]
    # The file is opened here and read by the reader as its stdin: a path such as
    # /dev/stdin names the caller's input, which a process opening it again would not get.
    with open(path, "rb") as source, tempfile.TemporaryFile() as stderr:
        child = subprocess.Popen(command, stdin=source, stdout=subprocess.PIPE, stderr=stderr)
        try:
            _widen(child.stdout)
            yield from _received(child, stderr, path, error)
        finally:
            if child.poll() is None:
                child.kill()
            child.stdout.close()
            child.wait()


def _widen(pipe: IO[bytes]) -> None:
    """Let the reader run a few batches ahead: the store's pace varies with what it finds."""
    try:
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (AttributeError, OSError):
        pass  # not Linux, or a lower limit: the reader only waits more


def _received(
    child: subprocess.Popen, stderr: IO[bytes], path: str | os.PathLike[str], error: type
) -> Iterator[Any]:
    while True:
        head = child.stdout.read(_LENGTH)
        body = child.stdout.read(int.from_bytes(head, "big")) if len(head) == _LENGTH else b""
        if not body or len(body) < int.from_bytes(head, "big"):  # it stopped, maybe mid-way
            raise error(_died(child, stderr, path))
        message = marshal.loads(body)
        kind = message[0]
        if kind == ITEMS:
            for value in message[1]:
                yield _decoded(value)
        elif kind == END:
            return
        elif kind == FAILED:
            raise error(message[1])
        else:
            raise error(f"reading {os.fspath(path)} failed: {message[1]}")


def _encoded(item: Any) -> list | bytes:
    if type(item) is not Record:
        return pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
    values = [getattr(item, name) for name in _FIELDS]
    if values[_LINKS]:
        links = values[_LINKS]
        values[_LINKS] = [tuple(getattr(link, name) for name in _LINK_FIELDS) for link in links]
    return values


def _decoded(value: list | bytes) -> Any:
    """The item :func:`_encoded` sent: a record rebuilt field by field, as unpickling does
    (its values were normalized when the reader made it)."""
    if isinstance(value, bytes):
        return pickle.loads(value)
    record = Record.__new__(Record)
    for setter, field_value in zip(_SETTERS, value, strict=True):
        setter(record, field_value)
    if record.links:
        record.links = [Link(*link) for link in record.links]
    return record


def _died(child: subprocess.Popen, stderr: IO[bytes], path: str | os.PathLike[str]) -> str:
    """Why the reader stopped sending before the end of the file, in one line."""
    status = child.wait()
    how = f"was killed by signal {-status}" if status < 0 else f"exited with status {status}"
    stderr.seek(0)
    lines = stderr.read().decode(errors="replace").strip().splitlines()
    said = f": {lines[-1]}" if lines else ""
    return f"the process reading {os.fspath(path)} {how} before the end of the file{said}"


def main(argv: list[str]) -> int:
    """The reader process: send the items ``argv = [reader, path]`` reads from stdin (the file
    ``path`` names, opened by the caller) to stdout."""
    # Ctrl-C reaches the whole process group: the caller ends the reader when it stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    reader, _path = argv
    module, _, name = reader.partition(":")
    read = getattr(importlib.import_module(module), name)
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the messages

    def send(*message: object) -> None:
        body = marshal.dumps(message)
        out.write(len(body).to_bytes(_LENGTH, "big") + body)
        out.flush()

    batch: list[Any] = []
    try:
        try:
            for item in read(sys.stdin.buffer, read_ahead=False):
                batch.append(_encoded(item))
                if len(batch) == BATCH:
                    send(ITEMS, batch)
                    batch = []
        except SourceError as exc:
            send(ITEMS, batch)
            send(FAILED, str(exc))
            return 0
        except Exception as exc:  # a bug or a resource error: the caller reports it
            send(ITEMS, batch)
            send(CRASHED, f"{type(exc).__name__}: {exc}")
            return 1
        send(ITEMS, batch)
        send(END)
    except BrokenPipeError:
        # the caller is gone: nothing to report to, and nothing left to flush
        os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
