"""Exit codes, the same for every command (README, "Exit codes"), for cron and monitoring."""

from __future__ import annotations

OK = 0
FAILED = 1  # a run failed or partly failed; what was committed stays, a rerun finishes
USAGE = 2  # bad arguments or configuration: one line names the file, key or value
NOTHING_TO_DO = 3  # e.g. nothing to claim
CONFLICT = 4  # a stale lease token, a decision on a candidate that changed meanwhile
LOCKED = 75  # EX_TEMPFAIL: a lock is held, or a crawl was stopped by SIGTERM; try again later


def worst(*codes: int) -> int:
    """One code for a command that ran several jobs: the most serious of theirs."""
    rank = {OK: 0, NOTHING_TO_DO: 1, FAILED: 2, CONFLICT: 3, LOCKED: 4, USAGE: 5}
    return max(codes, key=lambda code: rank.get(code, 6), default=OK)
