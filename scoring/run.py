"""Scoring as a stage: follows ``work_events`` from its own position, or rescans every work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlite_utils

from litmon.core.clock import now
from litmon.core.memory import collector_paused
from litmon.db import events
from litmon.db.scores import (
    ScoreRow,
    WorkRow,
    drop_scores,
    drop_stale,
    iter_live_works,
    live_works,
    outdated_scores,
    replace_scores,
)
from litmon.db.transactions import write_transaction
from litmon.scoring import learn
from litmon.scoring.learn import Learner, ModelSettings
from litmon.scoring.profile import Profile
from litmon.scoring.score import Scorer, WorkText

READER = "scoring"


@dataclass(slots=True)
class ScoreSummary:
    scored: int = 0  # works scored
    dropped: int = 0  # works whose scores went (merged away, deleted)
    above: dict[str, int] = field(default_factory=dict)  # topic -> works at/above threshold
    model: int | None = None  # the model version that scored beside the profiles
    trained: dict | None = None  # the version this run trained, as `model status` shows it
    # topic -> works still scored with an older profile or older scoring rules
    outdated: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        counts = ", ".join(f"{topic} {count}" for topic, count in self.above.items()) or "none"
        dropped = f", {self.dropped} dropped (merged away or deleted)" if self.dropped else ""
        line = f"scored {self.scored} works{dropped}; at or above threshold: {counts}"
        if self.outdated:
            line += "\n" + outdated_line(self.outdated)
        if self.trained is not None:
            auc = self.trained["auc"]
            quality = f", cross-validated AUC {auc:.2f}" if auc is not None else ""
            line += (
                f"\ntrained model version {self.trained['id']} on"
                f" {self.trained['relevant']} relevant and {self.trained['irrelevant']}"
                f" not relevant labels{quality}"
            )
        return line


def score_and_learn(
    db: sqlite_utils.Database,
    profiles: Sequence[Profile],
    settings: ModelSettings,
    *,
    rescore: bool = False,
    batch: int = 1000,
) -> ScoreSummary:
    """A scoring run: the profiles and the active model score the new and revised works
    (``rescore``: every live work); then, when ``[model] retrain_after`` new labels came
    since the last training (or enough of each kind for a first model), a model is
    trained, and every live work gets the active model's probability."""
    with collector_paused():
        learner = learn.load(db, settings)
        if rescore:
            summary = rescore_all(db, profiles, batch, learner)
        else:
            summary = score_pending(db, profiles, batch, learner)
        if learn.retrain_due(db, settings):
            summary.trained = learn.train(db, settings).to_dict()
            learner = learn.load(db, settings)
        thresholds = {profile.topic: profile.threshold for profile in profiles}
        learn.catch_up(db, learner, thresholds, batch)
    summary.model = learner.version.id if learner else None
    summary.outdated = outdated_scores(db.conn, {p.topic: p.hash for p in profiles})
    return summary


def outdated_line(outdated: dict[str, int]) -> str:
    """What to do about works scored with an older profile (or older scoring rules)."""
    topics = ", ".join(f"{topic} {count}" for topic, count in outdated.items())
    return (
        f"scored with an older profile or older scoring rules: {topics}"
        " (`litmon score --rescore` scores them again)"
    )


def score_pending(
    db: sqlite_utils.Database,
    profiles: Sequence[Profile],
    batch: int = 1000,
    learner: Learner | None = None,
) -> ScoreSummary:
    """Score the works named by the events since the scoring reader's position; each batch of
    events is read, scored, stored and passed in one write transaction, so a crash re-reads
    it and two scorers never score the same events twice. With a ``learner`` the model's
    probability of each work is stored in the same transaction.

    Every event names a work whose text or liveness may have changed: a live work is
    (re)scored, one merged away or deleted loses its scores."""
    summary = _summary(profiles)
    scorer = Scorer(profiles, learner)
    while True:
        with write_transaction(db.conn):
            pending = events.read_events(db, READER, batch)
            if not pending:
                return summary
            work_ids = sorted({event.work_id for event in pending})
            live = live_works(db.conn, work_ids)
            live_ids = {row[0] for row in live}
            gone = [work_id for work_id in work_ids if work_id not in live_ids]
            summary.dropped += drop_scores(db.conn, gone)
            _store(db, scorer, live, summary)
            events.advance(db.conn, READER, pending[-1].id)


def rescore_all(
    db: sqlite_utils.Database,
    profiles: Sequence[Profile],
    batch: int = 1000,
    learner: Learner | None = None,
) -> ScoreSummary:
    """Score every live work again (after a profile change), then follow the events as
    usual; scores of topics without a profile and of works no longer live are dropped."""
    summary = _summary(profiles)
    scorer = Scorer(profiles, learner)
    with write_transaction(db.conn):
        drop_stale(db.conn, [profile.topic for profile in profiles])
    for rows in iter_live_works(db, batch):
        with write_transaction(db.conn):
            _store(db, scorer, rows, summary)
    pending = score_pending(db, profiles, batch, learner)
    summary.dropped += pending.dropped
    return summary


def _summary(profiles: Sequence[Profile]) -> ScoreSummary:
    return ScoreSummary(above={profile.topic: 0 for profile in profiles})


def _store(
    db: sqlite_utils.Database, scorer: Scorer, rows: list[WorkRow], summary: ScoreSummary
) -> None:
    stamp = now()
    thresholds = {profile.topic: profile.threshold for profile in scorer.profiles}
    out: list[ScoreRow] = []
    for row in rows:
        for score in scorer.score(WorkText(*row)):
            stored = (score.work_id, score.topic, score.score, score.components, score.profile)
            out.append((*stored, stamp))
            if score.above(thresholds[score.topic]):
                summary.above[score.topic] += 1
    replace_scores(db.conn, [row[0] for row in rows], out)
    if scorer.learner is not None:
        learn.store_probabilities(db, scorer.learner, rows, thresholds)
    summary.scored += len(rows)
