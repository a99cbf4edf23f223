"""A thread-safe request pacer shared by everything in the process that talks to one service."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

# Spacing slightly wider than 1/rate, so jitter on the wire cannot put rate+1 requests
# inside one second as the server counts them.
_MARGIN = 1.05


class RateLimiter:
    """Hands out send times at least ``1/rate`` seconds apart, across threads."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = _MARGIN / rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self) -> None:
        """Block until this caller may send its request."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)

    def at_most(self, rate: float) -> None:
        """Never go faster than ``rate`` from now on (the interval only ever widens)."""
        with self._lock:
            self.interval = max(self.interval, _MARGIN / rate)

    def hold_off(self, seconds: float) -> None:
        """Push every later request back, e.g. after the server said Retry-After."""
        with self._lock:
            self._next = max(self._next, self._clock() + seconds)


_shared: dict[str, RateLimiter] = {}
_shared_lock = threading.Lock()


def shared_limiter(service: str, rate: float) -> RateLimiter:
    """The process-wide limiter for a service (e.g. the E-utilities host), at the slowest
    rate any caller asked for: NCBI counts a keyed and a keyless client from one address
    together, so while both are in use only the lower limit is safe."""
    with _shared_lock:
        limiter = _shared.setdefault(service, RateLimiter(rate))
    limiter.at_most(rate)
    return limiter
