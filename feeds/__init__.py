"""Journal RSS/Atom feeds, a source: configuration, polite fetching, safe parsing into Records.

It never opens the database: :mod:`litmon.pipeline.feeds` polls feeds and stores what they
give, :mod:`litmon.db.feed_state` keeps each feed's validators and backoff.
"""

from litmon.feeds.config import FeedConfig, FeedConfigError, load_feeds
from litmon.feeds.errors import FeedError, FetchError
from litmon.feeds.parse import ParsedFeed, parse_feed

__all__ = [
    "FeedConfig",
    "FeedConfigError",
    "FeedError",
    "FetchError",
    "ParsedFeed",
    "load_feeds",
    "parse_feed",
]
