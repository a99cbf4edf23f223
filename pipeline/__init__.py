"""From sources into the store: crawl jobs, feed polling, file ingest, enrichment, run log.

The only stage that calls both a source and the database: sources yield Records, the
pipeline saves them through :mod:`litmon.db` and records each run.
"""
