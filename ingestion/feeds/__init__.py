"""Metadata-driven CSV feeds (billing systems, payer claim files) into bronze.

``ingestion/load_config.yaml`` lists every feed; ``ingestion.feeds.bronze`` is the dlt source
(one resource per bronze table) and ``ingestion.feeds.pipeline`` runs it. Adding a feed is a
config entry, not code.
"""

from ingestion.feeds.config import FeedConfig, LoadConfig, LoadConfigError, feed_tables, load_config

__all__ = ["FeedConfig", "LoadConfig", "LoadConfigError", "feed_tables", "load_config"]
