"""Errors a feed can end in; each message is meant to be shown to a user as is."""

from __future__ import annotations

from litmon.core.errors import SourceError


class FeedError(SourceError):
    """A feed could not be fetched or read; the message says why in one line."""


class FetchError(FeedError):
    """The HTTP exchange failed. ``retry_after`` is the server's requested wait in seconds."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
