"""``litmon model``: the relevance model the queue learns from the editors' decisions: train,
status, rollback, and labels imported from elsewhere."""

from __future__ import annotations

import re
import sys

import click
import sqlite_utils

from litmon import exits
from litmon.app import App, pass_app
from litmon.core.clock import now
from litmon.core.errors import UsageError
from litmon.core.records import Record
from litmon.db.labels import LABELS_SOURCE, store_imported
from litmon.db.transactions import write_transaction
from litmon.imports.files import ImportFileError, fingerprint
from litmon.imports.labelled import LabelledRow, read_labelled_csv
from litmon.jobs import after_storing, queue_line, queue_scored
from litmon.output import echo, output_object, plural
from litmon.pipeline.ingest import ingest_records
from litmon.report import print_warnings
from litmon.scoring import learn

_SOURCE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@click.group("model")
def model_group() -> None:
    """The relevance model: trained on the editors' decisions (approved and later states:
    relevant; rejected as off-topic, not new research, animal or in-vitro only, or low
    quality: not relevant; [model] irrelevant_reasons), it ranks the queue beside the
    profiles once there are [model] min_labels of each kind, and lets in the works under
    the threshold it rates relevant. Scoring runs retrain it after [model] retrain_after
    new labels; the newest [model] keep_versions versions keep their model, older ones
    only their figures (pruned).
    """


@model_group.command("train")
@click.option("--json", "as_json", is_flag=True, help="Print the new version as one JSON object.")
@pass_app
def train_command(app: App, as_json: bool) -> None:
    """Train a model on every label now, store it as the active version and rank the queue
    with it. Exit 3 when there are too few labels of a kind."""
    _thresholds(app)
    db = app.database()
    try:
        version = learn.train(db, app.config.model)
    except learn.TrainingRefused as exc:
        echo(f"litmon: {exc}", err=True)
        sys.exit(exits.NOTHING_TO_DO)
    queued = _rank_again(app, db)
    shown = version.to_dict()
    if as_json:
        output_object({**shown, "queue": queued}, compact=True)
        return
    echo(f"trained {_describe(shown)}")
    echo(f"queue: {queue_line(queued)} candidates")


@model_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@pass_app
def status_command(app: App, as_json: bool) -> None:
    """The active model (when trained, on how many labels of each kind, its cross-validated
    AUC and WSS@95), the labels there are now and the earlier versions; those older than
    the newest [model] keep_versions are marked pruned: their model data was dropped."""
    found = learn.status(app.database(), app.config.model)
    if as_json:
        output_object(found)
        return
    labels = found["labels"]
    counts = f"{labels['relevant']} relevant and {labels['irrelevant']} not relevant"
    if found["active"] is None:
        echo(
            f"no model: the profiles alone rank ({plural(labels['relevant'], 'relevant label')},"
            f" {labels['irrelevant']} not relevant; a model is trained at {found['min_labels']}"
            " of each)"
        )
    else:
        echo(f"active: {_describe(found['active'])}")
        echo(
            f"labels now: {counts}; {found['new_labels']} new since the last training"
            f" (retrained after {found['retrain_after']})"
        )
    for version in found["versions"]:
        if not version["active"]:
            pruned = " (pruned: its model data was dropped)" if version["pruned"] else ""
            echo(f"  earlier: {_describe(version)}{pruned}")


@model_group.command("rollback")
@pass_app
def rollback_command(app: App) -> None:
    """Make the newest version trained before the active one that still has its model data
    (the newest [model] keep_versions do) the active one, and rank the queue with it. Exit 3
    when there is none."""
    _thresholds(app)
    db = app.database()
    version = learn.rollback(db)
    if version is None:
        echo("litmon: no earlier model version to roll back to", err=True)
        sys.exit(exits.NOTHING_TO_DO)
    queued = _rank_again(app, db)
    echo(f"active: {_describe(version.to_dict())}")
    echo(f"queue: {queue_line(queued)} candidates")


@model_group.group("labels")
def labels_group() -> None:
    """Training labels from elsewhere."""


@labels_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--source", "source_name", required=True, help="Name of the labelled set.")
@pass_app
def labels_import(app: App, path: str, source_name: str) -> None:
    """Load past decisions from a CSV file: columns title, abstract, label (1 relevant, 0
    not), optionally keywords (MeSH headings or keywords, ";"-separated), journal, year,
    doi, pmid; other columns are ignored.

    Rows go through the same dedup as any import, kept as labels:SOURCE. Their labels
    only train the model: a work known only from a labels file never enters the queue or
    the summarizer hand-off. An editor's own decision on a work counts over its label.
    Importing the file again changes nothing; a row whose label changed takes the new one.
    """
    if not _SOURCE_NAME.fullmatch(source_name):
        raise UsageError(f"--source {source_name!r}: letters, digits, '.', '_' or '-' only")
    try:
        rows = read_labelled_csv(path)
    except ImportFileError as exc:
        # read whole or not at all: a labels file read in part would teach in part
        echo(f"litmon: {exc}", err=True)
        sys.exit(exits.FAILED)
    source = f"{LABELS_SOURCE}{source_name}"
    records = [(row.label, _record(source, row)) for row in rows]
    db = app.database()
    run = ingest_records(db, source, path, (record for _, record in records))
    print_warnings(run)
    with write_transaction(db.conn):
        changed = store_imported(
            db.conn, source_name, ((r.source_id, label) for label, r in records), now()
        )
    after_storing(app.config, db)
    relevant = sum(label for label, _ in records)
    counts = run.counts
    echo(
        f"{path}: {plural(len(records), 'row')} ({relevant} relevant,"
        f" {len(records) - relevant} not) - {counts.new} new works, {counts.updated} updated,"
        f" {counts.unchanged} unchanged; {changed} labels new or changed"
    )
    if not run.ok:
        sys.exit(exits.FAILED)


def _record(source: str, row: LabelledRow) -> Record:
    """A labels file's row as a record of its own source; its id is its PMID or DOI, else a
    fingerprint of the paper (the same row gets the same id in a later import)."""
    doi, pmid = row.doi, row.pmid
    record = Record(
        source=source,
        source_id="",
        title=row.title,
        pmid=pmid,
        doi=doi,
        abstract=row.abstract or None,
        journal=row.journal or None,
        pub_date=str(row.year) if row.year else None,
        keywords=list(row.keywords),
    )
    record.source_id = f"pmid:{pmid}" if pmid else f"doi:{doi}" if doi else fingerprint(record)
    return record


def _thresholds(app: App) -> dict[str, float]:
    """Each profiled topic's threshold; none is a usage error, before anything changes."""
    profiles = list(app.config.profiles.values())
    if not profiles:
        raise UsageError(f"no topic in {app.config.source or 'the config'} has a profile to rank")
    return {profile.topic: profile.threshold for profile in profiles}


def _rank_again(app: App, db: sqlite_utils.Database) -> dict[str, int]:
    """After the active model changed: every live work gets its probability, the queue
    lets in and ranks by it."""
    learn.catch_up(db, learn.load(db, app.config.model), _thresholds(app))
    return queue_scored(app.config, db)


def _describe(version: dict) -> str:
    quality = []
    if version["auc"] is not None:
        quality.append(f"AUC {version['auc']:.2f}")
    if version["wss95"] is not None:
        quality.append(f"WSS@95 {version['wss95']:.2f}")
    measured = f", cross-validated {', '.join(quality)}" if quality else ""
    return (
        f"model version {version['id']}, trained {version['trained_at']} on"
        f" {version['relevant']} relevant and {version['irrelevant']} not relevant"
        f" labels{measured}"
    )
