"""Handing what a source read to the store: records saved, withdrawals applied, unreadable
entries reported; and loading a whole file (PubMed XML, CSV, RIS) as one logged run."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import sqlite_utils

from litmon.core.records import Deletion, Item, Record
from litmon.db.store import SaveResult, delete_works, save_records
from litmon.pipeline.run import Run, recorded_run

BATCH = 500  # records per transaction


def store_items(db: sqlite_utils.Database, items: Iterable[Item], run: Run) -> SaveResult:
    """Save a batch's records, apply its deletions in the order the source gave them (a
    deletion after a record applies to it), and keep a warning with the run for each entry
    the source skipped or the store refused; counts go into ``run``. Returns what the store
    made of the records."""
    result = SaveResult()
    records: list[Record] = []

    def save() -> None:
        if records:
            saved = save_records(db, records, run.id)
            run.saved(len(records), saved)
            result.records.extend(saved.records)
            for refused in saved.refused:
                run.warn(refused.reason or "refused")
            records.clear()

    for item in items:
        if isinstance(item, Record):
            records.append(item)
        elif isinstance(item, Deletion):
            save()
            run.counts.deleted += len(delete_works(db, item, run.id))
        else:
            run.warn(item.reason)
    save()
    return result


def ingest_records(
    db: sqlite_utils.Database, source: str, path: str | Path, items: Iterable[Item]
) -> Run:
    """Store one file's items in batches as one run (topic: the file's name).

    A file that breaks part way (a :class:`~litmon.core.errors.SourceError` from its
    reader) ends the run partial: every record read before the break is stored.
    """
    with recorded_run(db, source, Path(path).name) as run:
        batch: list[Item] = []

        def flush() -> None:
            nonlocal batch
            pending, batch = batch, []
            if pending:
                store_items(db, pending, run)

        try:
            for item in items:
                batch.append(item)
                if len(batch) == BATCH:
                    flush()
        finally:
            flush()
    return run
