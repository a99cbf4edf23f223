"""Journal RSS/Atom feeds: configuration, polite polling, safe parsing into Records."""

from feeds.config import FeedConfig, FeedConfigError, load_feeds
from feeds.errors import FeedError, FetchError
from feeds.parse import ParsedFeed, parse_feed
from feeds.poll import FeedOutcome, ingest_feed_sources, poll_feeds
from feeds.state import failing_feeds, feed_status

__all__ = [
    "FeedConfig",
    "FeedConfigError",
    "FeedError",
    "FeedOutcome",
    "FetchError",
    "ParsedFeed",
    "failing_feeds",
    "feed_status",
    "ingest_feed_sources",
    "load_feeds",
    "parse_feed",
    "poll_feeds",
]
