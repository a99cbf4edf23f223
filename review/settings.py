"""The queue's settings, one class for every caller: the command line reads them from the
config's ``[queue]`` and ``[guards]`` tables, the web app and the API take them as given."""

from __future__ import annotations

from dataclasses import dataclass

from litmon.review.guards import GuardSettings
from litmon.review.leases import DEFAULT_LEASE
from litmon.review.queue import MAX_ATTEMPTS, REJECTION_REASONS

__all__ = ["QueueSettings"]


@dataclass(frozen=True, slots=True)
class QueueSettings:
    """What the review functions are passed: the reasons an editor may give for a
    rejection, the attempts before a candidate is dead, the default lease (``queue claim
    --lease``, ``queue extend --lease``, the API), and the guards every draft goes
    through."""

    reject_reasons: tuple[str, ...] = REJECTION_REASONS
    max_attempts: int = MAX_ATTEMPTS
    lease_seconds: float = DEFAULT_LEASE
    guards: GuardSettings = GuardSettings()
