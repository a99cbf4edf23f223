"""One crawl at a time per database, so cron, the scheduler and a person never interleave
windows or add up their requests to NCBI."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class CrawlLocked(Exception):
    """Another litmon process is crawling into the same database."""


@contextmanager
def crawl_lock(db_path: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold ``<db>.lock``; wait up to ``wait`` seconds for another crawl to finish."""
    lock_path = Path(f"{db_path}.lock")
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
                    raise CrawlLocked(
                        f"another crawl (pid {holder}) holds {lock_path}; this run did nothing"
                    ) from None
                time.sleep(min(1.0, wait / 10 or 1.0))
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
