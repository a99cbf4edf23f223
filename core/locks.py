"""OS file locks (``flock``): held by a live process, released by the kernel when it dies,
even on SIGKILL, so a lock is never left stale."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from litmon.core.clock import now
from litmon.core.errors import Locked, StopCheck, stop_if_asked


@contextmanager
def file_lock(
    lock_path: Path,
    wait: float = 0.0,
    *,
    what: str = "the lock",
    holder: str = "",
    should_stop: StopCheck | None = None,
) -> Iterator[None]:
    """Hold ``lock_path`` exclusively, waiting up to ``wait`` seconds for another holder
    (polling, at most a second apart), else raise :class:`Locked`.

    The pid, the time and ``holder`` (who takes it, e.g. "the pubmed job") are written into
    the file, so that a refusal can name the holder; ``what`` names the lock in it.
    ``should_stop`` is asked at every poll: a process told to stop does not wait on.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    with lock_path.open("a+") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    handle.seek(0)
                    raise Locked(_refusal(lock_path, handle.read(), wait, what)) from None
                stop_if_asked(should_stop)
                time.sleep(min(1.0, wait / 10, remaining))
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "since": now(), "holder": holder}))
        handle.flush()
        yield


def is_held(lock_path: Path) -> bool:
    """Whether a live process (this one included) holds ``lock_path`` now."""
    try:
        handle = lock_path.open("r")
    except FileNotFoundError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def _refusal(lock_path: Path, content: str, wait: float, what: str) -> str:
    """One line: which lock, who holds it (as its holder wrote), and that nothing was done."""
    try:
        written = json.loads(content)
        pid, since, holder = written["pid"], written["since"], written["holder"]
    except (ValueError, TypeError, KeyError):  # written by an older litmon: just the pid
        pid, since, holder = content.strip() or "unknown", None, ""
    who = f"pid {pid}" + (f", since {since}" if since else "")
    who = f"{holder} ({who})" if holder else who
    if wait > 0:
        return f"waited {wait:g} s for {what} {lock_path}, held by {who}; this run did nothing"
    return f"{what} {lock_path} is held by {who}; this run did nothing"
