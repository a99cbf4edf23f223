"""The relevance model: a class-weighted logistic regression over the feature blocks,
stored as plain data (vocabulary, idf, weights), never as a pickle."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from litmon.model.features import TAG_KINDS, Block, Doc, fit_block

FORMAT = "litmon-relevance-model/2"
# Tags weigh a tenth of words: a journal or a broad heading is shared by relevant and
# irrelevant works alike, and a work's words say more about what it did; tags matter where
# the words are few (no abstract). Relevant works weigh 9.8 times all irrelevant ones,
# ASReview's default (tuned on the 26 SYNERGY sets). A light penalty (C 10): with a few
# dozen labels a stronger one pulls every probability to the labels' share, and the
# ranking is the same from C 1 to 10 (docs/how-it-works.md, "The relevance model").
DEFAULT_CONFIG = {"c": 10.0, "positive_weight": 9.8, "tag_scale": 0.1}


@dataclass(frozen=True)
class Contribution:
    """One term's share of a work's score; ``weight`` > 0 pushes towards relevant."""

    kind: str  # "word" | "keyword" | "mesh" | "type" | "journal"
    term: str
    weight: float


def _labels(labels: Sequence[int], count: int) -> np.ndarray:
    y = np.asarray(labels, dtype=np.int64).ravel()
    if len(y) != count:
        raise ValueError(f"{count} documents but {len(y)} labels")
    if not set(np.unique(y).tolist()) <= {0, 1}:
        raise ValueError("labels must be 0 or 1")
    if y.sum() == 0 or y.sum() == len(y):
        raise ValueError("training needs at least one relevant and one irrelevant label")
    return y


def train_weights(
    x: sparse.csr_matrix, y: np.ndarray, *, seed: int, config: dict
) -> tuple[np.ndarray, float]:
    """Weights and intercept of a logistic regression in which the relevant works weigh
    ``positive_weight`` times as much as all the irrelevant ones together: they are few,
    an unweighted fit learns to say no, and a relevant work ranked low costs an editor
    more than an irrelevant one ranked high."""
    positives = int(y.sum())
    ratio = config["positive_weight"]
    weights = np.where(y == 1, 1.0, positives / (ratio * (len(y) - positives)))
    # liblinear penalises the intercept as one more weight; scaled up, it is in effect not
    # penalised, so it can carry the classes' odds that the shift below takes back
    classifier = LogisticRegression(
        C=config["c"], solver="liblinear", intercept_scaling=100.0, random_state=seed, max_iter=1000
    )
    classifier.fit(x, y, sample_weight=weights * len(y) / weights.sum())
    # the fit saw relevant works ``ratio`` to one: move the intercept back to the odds the
    # labels have, so the probability is one for this stream of works
    shift = math.log(positives / (len(y) - positives)) - math.log(ratio)
    return classifier.coef_[0].copy(), float(classifier.intercept_[0]) + shift


def fit(docs: Sequence[Doc], labels: Sequence[int], *, seed: int = 0) -> Model:
    """A model trained on ``docs`` with ``labels`` (1 relevant, 0 not); deterministic given
    ``seed``. Needs at least one label of each kind."""
    y = _labels(labels, len(docs))
    config = dict(DEFAULT_CONFIG)
    words, x_words = fit_block("words", docs, 1.0)
    tags, x_tags = fit_block("tags", docs, config["tag_scale"])
    x = sparse.hstack([x_words, x_tags], format="csr")
    weights, intercept = train_weights(x, y, seed=seed, config=config)
    return Model(words, tags, weights, intercept, config, int(y.sum()), int(len(y) - y.sum()))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))


class Model:
    """A trained relevance model: ``predict`` gives P(relevant), ``explain`` the terms
    behind it. Build one with :func:`fit` or :meth:`from_data`."""

    def __init__(
        self,
        words: Block,
        tags: Block,
        weights: np.ndarray,
        intercept: float,
        config: dict,
        positives: int,
        negatives: int,
    ) -> None:
        self._words, self._tags = words, tags
        self._weights = np.asarray(weights, dtype=np.float64)
        self._intercept = float(intercept)
        self.config = dict(config)
        self.positives, self.negatives = positives, negatives

    def _matrix(self, docs: Sequence[Doc]) -> sparse.csr_matrix:
        return sparse.hstack([self._words.matrix(docs), self._tags.matrix(docs)], format="csr")

    def decision(self, docs: Sequence[Doc]) -> np.ndarray:
        """The model's log-odds of relevance per work (rank by it: no ties from rounding)."""
        if not docs:
            return np.zeros(0)
        return self._matrix(docs) @ self._weights + self._intercept

    def predict(self, docs: Sequence[Doc]) -> list[float]:
        """P(relevant) per work, in [0, 1]."""
        return _sigmoid(self.decision(docs)).tolist()

    def explain(self, doc: Doc, k: int = 5) -> list[Contribution]:
        """The ``k`` terms of ``doc`` that pushed it most towards relevant and the ``k``
        that pushed it most away, strongest first within each side."""
        return self._explain(self._matrix([doc]), 0, k)

    def predict_explained(
        self, docs: Sequence[Doc], explain: Collection[int], k: int = 5
    ) -> tuple[list[float], dict[int, list[Contribution]]]:
        """:meth:`predict` of every doc and :meth:`explain` of the docs at the positions
        in ``explain``, from one pass over the text (scoring a stream of works: the text
        pass is most of the cost)."""
        if not docs:
            return [], {}
        matrix = self._matrix(docs)
        probabilities = _sigmoid(matrix @ self._weights + self._intercept).tolist()
        reasons = {index: self._explain(matrix, index, k) for index in sorted(explain)}
        return probabilities, reasons

    def _explain(self, matrix: sparse.csr_matrix, index: int, k: int) -> list[Contribution]:
        # the row's slice of the matrix, read without building a matrix of it
        start, end = matrix.indptr[index], matrix.indptr[index + 1]
        columns = matrix.indices[start:end]
        shares = matrix.data[start:end] * self._weights[columns]
        return self._strongest(columns, shares, k, 1) + self._strongest(columns, shares, k, -1)

    def _strongest(
        self, columns: np.ndarray, shares: np.ndarray, k: int, sign: int
    ) -> list[Contribution]:
        """The ``k`` strongest shares of one sign, named, strongest first (ties by term).
        Only the shares at or past the k-th strongest are named: a work has hundreds."""
        signed = shares * sign
        kept = np.flatnonzero(signed > 0)
        if len(kept) > k:
            kth = np.partition(signed[kept], len(kept) - k)[len(kept) - k]
            kept = kept[signed[kept] >= kth]
        split = len(self._words.vocabulary)
        named = []
        for column, share in zip(columns[kept].tolist(), shares[kept].tolist(), strict=True):
            block, local = (self._words, column) if column < split else (self._tags, column - split)
            kind, term = block.term(local)
            named.append(Contribution(kind, term, share))
        return sorted(named, key=lambda c: (-c.weight * sign, c.term))[:k]

    def to_data(self) -> dict:
        """The model as JSON-serialisable plain data."""
        split = len(self._words.vocabulary)
        return {
            "format": FORMAT,
            "config": dict(self.config),
            "labels": {"relevant": self.positives, "irrelevant": self.negatives},
            "intercept": self._intercept,
            "words": {
                "vocabulary": list(self._words.vocabulary),
                "idf": self._words.idf.tolist(),
                "weights": self._weights[:split].tolist(),
            },
            "tags": {
                "vocabulary": list(self._tags.vocabulary),
                "idf": self._tags.idf.tolist(),
                "weights": self._weights[split:].tolist(),
            },
        }

    @classmethod
    def from_data(cls, data: dict) -> Model:
        """A model from :meth:`to_data`'s plain data; ValueError (one line) on anything else."""
        return _from_data(data)


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"model data: {where} is not a finite number")
    return float(value)


def _numbers(value: object, where: str) -> np.ndarray:
    if not isinstance(value, list):
        raise ValueError(f"model data: {where} is not a list")
    return np.array([_number(v, f"{where}[{i}]") for i, v in enumerate(value)], dtype=np.float64)


def _block(data: dict, kind: str, documents: int, scale: float) -> tuple[Block, np.ndarray]:
    part = data.get(kind)
    if not isinstance(part, dict):
        raise ValueError(f"model data: {kind!r} is missing or not an object")
    vocabulary = part.get("vocabulary")
    if not isinstance(vocabulary, list) or not all(isinstance(t, str) for t in vocabulary):
        raise ValueError(f"model data: {kind}.vocabulary is not a list of strings")
    if len(set(vocabulary)) != len(vocabulary):
        raise ValueError(f"model data: {kind}.vocabulary repeats a term")
    idf = _numbers(part.get("idf"), f"{kind}.idf")
    weights = _numbers(part.get("weights"), f"{kind}.weights")
    if not len(idf) == len(weights) == len(vocabulary):
        raise ValueError(
            f"model data: {kind} has {len(vocabulary)} terms, {len(idf)} idf values"
            f" and {len(weights)} weights"
        )
    if kind == "tags" and any(t.partition(":")[0] not in TAG_KINDS for t in vocabulary):
        raise ValueError(f"model data: {kind}.vocabulary has a term of an unknown kind")
    return Block(kind, vocabulary, idf, documents, scale), weights


def _from_data(data: object) -> Model:
    if not isinstance(data, dict):
        raise ValueError("model data: not an object")
    if data.get("format") != FORMAT:
        raise ValueError(f"model data: format is {data.get('format')!r}, expected {FORMAT!r}")
    config = data.get("config")
    if not isinstance(config, dict) or set(config) != set(DEFAULT_CONFIG):
        raise ValueError(f"model data: config must have the keys {sorted(DEFAULT_CONFIG)}")
    config = {key: _number(config[key], f"config.{key}") for key in DEFAULT_CONFIG}
    labels = data.get("labels")
    if not isinstance(labels, dict) or not all(
        isinstance(labels.get(k), int) and labels[k] >= 0 for k in ("relevant", "irrelevant")
    ):
        raise ValueError("model data: labels must give counts 'relevant' and 'irrelevant'")
    documents = labels["relevant"] + labels["irrelevant"]
    words, word_weights = _block(data, "words", documents, 1.0)
    tags, tag_weights = _block(data, "tags", documents, config["tag_scale"])
    intercept = _number(data.get("intercept"), "intercept")
    weights = np.concatenate([word_weights, tag_weights])
    return Model(words, tags, weights, intercept, config, labels["relevant"], labels["irrelevant"])
