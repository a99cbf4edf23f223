"""The store, the only writer of works: dedup and save (one transaction per batch, an event
for every change), editors' merges, the crawl log, checkpoints, feed state and the schema.
Nothing outside this package writes SQL."""
