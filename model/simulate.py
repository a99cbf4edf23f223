"""Screening simulated as ASReview does it: from one relevant and one irrelevant work, train,
show the highest-ranked unread work, reveal its label, and again, until all are found."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from litmon.model.features import Corpus, Doc
from litmon.model.linear import DEFAULT_CONFIG, train_weights
from litmon.model.metrics import read_until, recall_after, wss


@dataclass(frozen=True)
class SimulationResult:
    """The order in which the works were read (priors first) and what it saved."""

    n: int
    positives: int
    seed: int
    priors: tuple[int, int]  # (relevant, irrelevant) record indexes
    order: tuple[int, ...]  # indexes read, priors first, until every relevant one was found
    found: tuple[int, ...]  # the labels of ``order``
    seconds: float

    @property
    def read_95(self) -> int:
        return read_until(self.found, 0.95) or 0

    @property
    def read_all(self) -> int:
        return read_until(self.found, 1.0) or 0

    @property
    def wss95(self) -> float:
        return wss(self.found, 0.95, self.n) or 0.0

    @property
    def wss100(self) -> float:
        return wss(self.found, 1.0, self.n) or 0.0

    def recall_after(self, share: float) -> float:
        return recall_after(self.found, share, self.n, self.positives) or 0.0

    def summary(self) -> dict:
        """The figures ``litmon eval simulate --json`` prints."""
        return {
            "wss95": round(self.wss95, 4),
            "wss100": round(self.wss100, 4),
            "recall_10": round(self.recall_after(0.10), 4),
            "recall_20": round(self.recall_after(0.20), 4),
            "read_95": self.read_95,
            "read_all": self.read_all,
            "n": self.n,
            "positives": self.positives,
            "seconds": round(self.seconds, 2),
        }


def pick_priors(labels: Sequence[int], seed: int) -> tuple[int, int]:
    """One relevant and one irrelevant record, drawn by ``seed``."""
    y = np.asarray(labels)
    rng = np.random.default_rng(seed)
    return int(rng.choice(np.flatnonzero(y == 1))), int(rng.choice(np.flatnonzero(y == 0)))


def simulate(
    docs: Sequence[Doc],
    labels: Sequence[int],
    *,
    seed: int = 0,
    priors: tuple[int, int] | None = None,
) -> SimulationResult:
    """Read ``docs`` one at a time in the order the model, retrained after every label,
    ranks them (n_query = 1); ``priors`` (indexes) default to a draw by ``seed``.

    The model is the one :func:`litmon.model.fit` trains: the same features, learnt from
    the labelled works only, and the same classifier; the texts are counted once.
    """
    started = time.perf_counter()
    y = np.asarray(labels, dtype=np.int64)
    if len(y) != len(docs):
        raise ValueError(f"{len(docs)} documents but {len(y)} labels")
    if not (y == 1).any() or not (y == 0).any():
        raise ValueError("a simulation needs at least one relevant and one irrelevant record")
    first = priors if priors is not None else pick_priors(y, seed)
    if y[first[0]] != 1 or y[first[1]] != 0:
        raise ValueError("priors must be one relevant and one irrelevant record")
    corpus = Corpus(docs, DEFAULT_CONFIG["tag_scale"])
    for row in first:
        corpus.label(row)
    order = corpus.labelled
    unread = np.ones(len(y), dtype=bool)
    unread[order] = False
    remaining = int(y.sum()) - 1
    while remaining and unread.any():
        weights, intercept = train_weights(
            corpus.training(), y[order], seed=seed, config=DEFAULT_CONFIG
        )
        scores = corpus.scores(weights, intercept)
        scores[~unread] = -np.inf
        # the first of equal scores: the same order on every run
        chosen = int(np.argmax(scores))
        corpus.label(chosen)
        unread[chosen] = False
        remaining -= int(y[chosen])
    return SimulationResult(
        n=len(y),
        positives=int(y.sum()),
        seed=seed,
        priors=(first[0], first[1]),
        order=tuple(order),
        found=tuple(int(y[i]) for i in order),
        seconds=time.perf_counter() - started,
    )
