"""The relevance model beside the profiles: trained on the editors' decisions (and imported
labels), stored as plain data, and run by scoring only, which keeps each work's
probability (and, for works that are or may become candidates, what moved it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlite_utils

from litmon.core.clock import now
from litmon.db import labels as label_store
from litmon.db import models as model_store
from litmon.db.models import ModelDataError, ModelVersion
from litmon.db.scores import WorkRow, live_works, queue_eligible
from litmon.db.transactions import write_transaction

if TYPE_CHECKING:
    # scikit-learn takes a second to import: only a run that has a model or trains one
    # pays for it (every command line, the web server, a scoring run in cold start not)
    from litmon.model import Doc, Model

__all__ = [
    "Learner",
    "ModelDataError",
    "ModelSettings",
    "TrainingRefused",
    "catch_up",
    "doc_of",
    "label_counts",
    "load",
    "retrain_due",
    "rollback",
    "status",
    "train",
]

# Why an editor's rejection says the paper is not relevant; "duplicate", "retracted or
# corrected" and "other" judge something else and teach nothing.
IRRELEVANT_REASONS = ("off-topic", "not-new-research", "animal-or-in-vitro-only", "low-quality")

# Terms shown each way (up, down) in an explanation.
EXPLAIN_TERMS = 5


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """``[model]`` in the config."""

    min_labels: int = 10  # of each kind before a model is trained and ranks
    retrain_after: int = 20  # labels gained, lost or changed since the last training
    irrelevant_reasons: tuple[str, ...] = IRRELEVANT_REASONS
    let_in: float = 0.5  # probability at which a work under every threshold is queued
    weight: float = 6.0  # rank points between a probability of 0 and one of 1
    seed: int = 0
    keep_versions: int = 5  # newest versions whose model data is kept (and the active one)


class TrainingRefused(Exception):
    """Too few labels to train on: the message says how many of each kind there are."""


@dataclass(frozen=True, slots=True)
class Learner:
    """The active model, loaded for one scoring run."""

    version: ModelVersion
    model: Model
    settings: ModelSettings

    def score(self, rows: Sequence[WorkRow], explain: set[int]) -> list[tuple[int, float, list]]:
        """(work id, probability, explanation or None) per row; explained for the works in
        ``explain`` and those the model lets in."""
        if not rows:
            return []
        docs = [doc_of(row) for row in rows]
        eligible = [index for index, row in enumerate(rows) if row[0] in explain]
        probabilities, reasons = self.model.predict_explained(
            docs, eligible, EXPLAIN_TERMS, at_least=self.settings.let_in
        )
        why = {
            rows[index][0]: [
                {"kind": c.kind, "term": c.term, "weight": round(c.weight, 4)} for c in found
            ]
            for index, found in reasons.items()
        }
        return [
            (row[0], round(probability, 6), why.get(row[0]))
            for row, probability in zip(rows, probabilities, strict=True)
        ]


def doc_of(row: WorkRow) -> Doc:
    from litmon.model import Doc

    _, title, abstract, keywords, mesh, types, journal = row
    return Doc(
        title=title,
        abstract=abstract,
        keywords=tuple(keywords),
        mesh=tuple(mesh),
        pub_types=tuple(types),
        journal=journal,
    )


def load(db: sqlite_utils.Database, settings: ModelSettings) -> Learner | None:
    """The active model, or None (cold start, or rolled back to none). Its stored data is
    read as JSON and checked field by field: anything else is a :class:`ModelDataError`
    naming the version, and nothing of it runs."""
    found = model_store.active_version(db.conn)
    if found is None:
        return None
    version, data = found
    from litmon.model import Model

    try:
        model = Model.from_data(data)
    except ValueError as exc:
        raise ModelDataError(f"model version {version.id} in the database: {exc}") from None
    return Learner(version, model, settings)


def label_counts(db: sqlite_utils.Database, settings: ModelSettings) -> dict[str, int]:
    """How many training labels there are of each kind."""
    found = label_store.labels(db.conn, settings.irrelevant_reasons)
    relevant = sum(found.values())
    return {"relevant": relevant, "irrelevant": len(found) - relevant}


def retrain_due(db: sqlite_utils.Database, settings: ModelSettings) -> bool:
    """Enough labels of each kind, and no model yet or ``retrain_after`` new labels since
    the last one was trained."""
    found = label_store.labels(db.conn, settings.irrelevant_reasons)
    relevant = sum(found.values())
    if min(relevant, len(found) - relevant) < settings.min_labels:
        return False
    return _new_labels(db, found) >= settings.retrain_after


def _new_labels(db: sqlite_utils.Database, found: dict[int, int]) -> int:
    """Labels gained, lost or changed since the latest version was trained (all of them
    before the first)."""
    stored = model_store.versions(db.conn)
    before = model_store.trained_labels(db.conn, stored[0].id) if stored else {}
    return label_store.changes(before, found)


def train(db: sqlite_utils.Database, settings: ModelSettings) -> ModelVersion:
    """Train a model on every label (seeded: the same labels give the same model),
    cross-validate it on them, store it and make it the active one. Only the newest
    ``keep_versions`` keep their model data, and the version a rollback had put in use
    (the editors chose it: it stays one to go back to). Too few labels of a kind is a
    :class:`TrainingRefused`."""
    found = label_store.labels(db.conn, settings.irrelevant_reasons)
    rows = live_works(db.conn, sorted(found))
    targets = [found[row[0]] for row in rows]
    relevant = sum(targets)
    counts = {"relevant": relevant, "irrelevant": len(targets) - relevant}
    if min(counts.values()) < settings.min_labels:
        raise TrainingRefused(
            f"too few labels to train on: {counts['relevant']} relevant and"
            f" {counts['irrelevant']} not relevant, {settings.min_labels} of each needed"
            " ([model] min_labels)"
        )
    from litmon.model import cross_validate, fit

    docs = [doc_of(row) for row in rows]
    quality = cross_validate(docs, targets, seed=settings.seed)
    model = fit(docs, targets, seed=settings.seed)
    with write_transaction(db.conn):
        stored = model_store.versions(db.conn)
        rolled_back = [v.id for v in stored[1:] if v.active]
        model_id = model_store.add_version(
            db.conn,
            model.to_data(),
            trained_at=now(),
            labels={row[0]: target for row, target in zip(rows, targets, strict=True)},
            auc=_finite(quality.get("auc")),
            wss95=_finite(quality.get("wss95")),
        )
        model_store.prune(db.conn, settings.keep_versions, spare=rolled_back)
    return next(v for v in model_store.versions(db.conn) if v.id == model_id)


def catch_up(
    db: sqlite_utils.Database,
    learner: Learner | None,
    thresholds: dict[str, float],
    batch: int = 1000,
) -> int:
    """Give every live work the active model's probability (after a training, a rollback,
    or works scored before there was a model); without a model, drop every probability.
    Returns how many works were scored."""
    with write_transaction(db.conn):
        model_store.drop_probabilities(db.conn, learner.version.id if learner else None)
    if learner is None:
        return 0
    done, after = 0, 0
    while True:
        with write_transaction(db.conn):
            ids = model_store.unscored_works(db.conn, learner.version.id, after, batch)
            if not ids:
                return done
            store_probabilities(db, learner, live_works(db.conn, ids), thresholds)
        after = ids[-1]
        done += len(ids)


def store_probabilities(
    db: sqlite_utils.Database,
    learner: Learner,
    rows: Sequence[WorkRow],
    thresholds: dict[str, float],
) -> None:
    """Inside a write transaction: the model's probabilities of ``rows``, explained for the
    works that are candidates or at a threshold (and those the model would let in)."""
    explain = queue_eligible(db.conn, [row[0] for row in rows], thresholds)
    model_store.store_probabilities(
        db.conn, learner.version.id, learner.score(rows, explain), now()
    )


def _finite(value: object) -> float | None:
    if isinstance(value, int | float) and value == value and abs(value) != float("inf"):
        return round(float(value), 4)
    return None


def rollback(db: sqlite_utils.Database) -> ModelVersion | None:
    """Make the newest version trained before the active one that still has its data the
    active one; None (and nothing changed) when there is none."""
    with write_transaction(db.conn):
        stored = model_store.versions(db.conn)
        active = next((v for v in stored if v.active), None)
        earlier = [v for v in stored if active is not None and v.id < active.id and not v.pruned]
        if not earlier:
            return None
        model_store.activate(db.conn, earlier[0].id)
    return next(v for v in model_store.versions(db.conn) if v.id == earlier[0].id)


def status(db: sqlite_utils.Database, settings: ModelSettings) -> dict:
    """What `litmon model status` shows: the versions (newest first; the pruned ones kept
    their figures only), the labels there are now, and how many came since the last
    training."""
    stored = model_store.versions(db.conn)
    active = next((v for v in stored if v.active), None)
    return {
        "active": active.to_dict() if active else None,
        "labels": label_counts(db, settings),
        "min_labels": settings.min_labels,
        "new_labels": _new_labels(db, label_store.labels(db.conn, settings.irrelevant_reasons)),
        "retrain_after": settings.retrain_after,
        "keep_versions": settings.keep_versions,
        "versions": [v.to_dict() for v in stored],
    }
