"""Loading a file's records (PubMed XML, CSV, RIS) into the store as one logged run."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import sqlite_utils

from litmon.core.records import Record
from litmon.db.store import save_records
from litmon.pipeline.run import Run, recorded_run

BATCH = 500  # records per transaction


def ingest_records(
    db: sqlite_utils.Database, source: str, path: str | Path, records: Iterable[Record]
) -> Run:
    """Store one file's records in batches as one run (topic: the file's name).

    A file that breaks part way (a :class:`~litmon.core.errors.SourceError` from its
    reader) ends the run partial: every record read before the break is stored.
    """
    with recorded_run(db, source, Path(path).name) as run:
        batch: list[Record] = []

        def flush() -> None:
            nonlocal batch
            pending, batch = batch, []
            if pending:
                run.saved(len(pending), save_records(db, pending, run.id))

        try:
            for record in records:
                batch.append(record)
                if len(batch) == BATCH:
                    flush()
        finally:
            flush()
    return run
