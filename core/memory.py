"""Long batch loops and Python's cycle collector."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cycle collector for a batch loop that makes no reference cycles.

    A scoring run allocates millions of short-lived containers (match lists, token lists),
    which reference counting frees as they go; their number alone triggers the collector,
    whose passes walk every object the process holds (a model's vocabulary, the imported
    libraries) and find nothing to free (docs/benchmarks.md). Whatever the loop did leave
    in cycles is collected as usual once the collector is back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
