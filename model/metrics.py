"""How much reading an order of works saves: the measures ASReview's simulations report."""

from __future__ import annotations

import math
from collections.abc import Sequence


def read_until(found: Sequence[int], share: float) -> int | None:
    """How many works were read (in ``found``'s order, 1 = relevant) until ``share`` of
    the relevant ones were found; None when there are none."""
    total = sum(found)
    if total == 0:
        return None
    needed = math.ceil(share * total - 1e-9)
    hits = 0
    for read, label in enumerate(found, start=1):
        hits += label
        if hits >= needed:
            return read
    return len(found)


def wss(found: Sequence[int], share: float, size: int) -> float | None:
    """Work saved over sampling at ``share`` recall: ``share`` - read / size."""
    read = read_until(found, share)
    return None if read is None else share - read / size


def recall_after(found: Sequence[int], share: float, size: int, total: int) -> float | None:
    """The share of the ``total`` relevant works found after reading ``share`` of ``size``."""
    if total == 0:
        return None
    return sum(found[: math.ceil(share * size - 1e-9)]) / total
