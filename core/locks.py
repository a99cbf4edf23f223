"""OS file locks (``flock``): held by a live process, released by the kernel when it dies,
even on SIGKILL, so a lock is never left stale."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class Locked(Exception):
    """Another process holds the lock; the message names the holder."""


@contextmanager
def file_lock(lock_path: Path, wait: float = 0.0, *, what: str = "lock") -> Iterator[None]:
    """Hold ``lock_path`` exclusively, waiting up to ``wait`` seconds for another holder.

    The holder's pid is written into the file so that a refusal can name it.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    with lock_path.open("a+") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "unknown"
                    raise Locked(
                        f"another {what} (pid {holder}) holds {lock_path}; this run did nothing"
                    ) from None
                time.sleep(min(1.0, wait / 10 or 1.0))
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
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
