"""The two kinds of error every stage may raise, so the app shell can tell them apart from bugs.

A :class:`SourceError` is bad input from outside (a broken file, a failing server): the run
it happened in ends failed with the message as its one-line reason. A :class:`UsageError` is
a request that cannot be carried out as asked (an unknown feed name, a date in the future):
the command line shows it and exits 2. Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Callable


class SourceError(Exception):
    """A source gave no usable answer; the message says why in one line."""


class UsageError(Exception):
    """A request that cannot be carried out as asked; the message says what to change."""


class NotFound(UsageError):
    """A request naming something that does not exist (an unknown candidate id): a usage
    error on the command line (exit 2), 404 over HTTP."""


class Conflict(Exception):
    """A normal race, not a mistake: a stale lease token, or a decision on a candidate that
    changed since the editor saw it. Nothing was changed; the message gives the current
    state. The command line exits 4 (HTTP 409 later)."""


class Interrupted(BaseException):
    """The process was asked to stop (SIGTERM / SIGINT to ``litmon schedule``).

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` swallows it:
    the stage raises it between batches, the run it was in is closed as interrupted, and
    the job ends without starting another batch. Nothing half-written: each batch is one
    transaction, and checkpoints move only after a whole window is committed.
    """


StopCheck = Callable[[], bool]


def stop_if_asked(should_stop: StopCheck | None) -> None:
    """Raise :class:`Interrupted` when ``should_stop`` says so; the stages call it between
    batches."""
    if should_stop is not None and should_stop():
        raise Interrupted("asked to stop")
