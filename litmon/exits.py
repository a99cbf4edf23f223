"""Exit codes, the same for every command (docs/commands.md, "Exit codes"): the table lives with the
errors that carry them (:mod:`litmon.core.errors`); the commands import them from here."""

from __future__ import annotations

from litmon.core.errors import CONFLICT, FAILED, LOCKED, NOTHING_TO_DO, OK, USAGE, worst

__all__ = ["CONFLICT", "FAILED", "LOCKED", "NOTHING_TO_DO", "OK", "USAGE", "worst"]
