"""The relevance model: a class-weighted logistic regression over the feature blocks,
stored as plain data (vocabulary, idf, weights), never as a pickle."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression

from litmon.model.features import TAG_KINDS, Block, Doc, fit_block, smooth_idf

# The stored model, per block (words, tags): its terms in column order, "terms" (strings)
# then "pairs" (a flat list of index pairs into "terms", each the term "a b": a word pair,
# most of the vocabulary, costs two numbers rather than its text again); "df", in how
# many labelled works each term occurred (the idf is counted from them as at training,
# exactly); "weights" in whole units of WEIGHT_UNIT. Rounded so, a weight is off by at most
# half a unit, and a work's log-odds by at most 0.5e-8 x sqrt(its terms) (its row has unit
# length): ~1e-7 for a work of 400 terms.
# Format 2 (every term as text, idf and weights as floats) is still read.
FORMAT = "litmon-relevance-model/3"
_FORMAT_2 = "litmon-relevance-model/2"
WEIGHT_UNIT = 1e-8
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
        self,
        docs: Sequence[Doc],
        explain: Collection[int],
        k: int = 5,
        *,
        at_least: float | None = None,
    ) -> tuple[list[float], dict[int, list[Contribution]]]:
        """:meth:`predict` of every doc and :meth:`explain` of the docs at the positions
        in ``explain`` and of those with a probability of ``at_least`` or more, from one
        pass over the text (scoring a stream of works: the text pass is most of the cost)."""
        if not docs:
            return [], {}
        matrix = self._matrix(docs)
        probabilities = _sigmoid(matrix @ self._weights + self._intercept)
        chosen = set(explain)
        if at_least is not None:
            chosen.update(np.flatnonzero(probabilities >= at_least).tolist())
        reasons = {index: self._explain(matrix, index, k) for index in sorted(chosen)}
        return probabilities.tolist(), reasons

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
        """The model as JSON-serialisable plain data (:data:`FORMAT`)."""
        split = len(self._words.vocabulary)
        return {
            "format": FORMAT,
            "config": dict(self.config),
            "labels": {"relevant": self.positives, "irrelevant": self.negatives},
            "intercept": self._intercept,
            "words": _block_data(self._words, self._weights[:split]),
            "tags": _block_data(self._tags, self._weights[split:]),
        }

    @classmethod
    def from_data(cls, data: dict) -> Model:
        """A model from :meth:`to_data`'s plain data; ValueError (one line) on anything else."""
        return _from_data(data)


def _block_data(block: Block, weights: np.ndarray) -> dict:
    """A block as format 3 plain data; its columns reordered (terms, then pairs)."""
    known = set(block.vocabulary)
    split = [term.partition(" ") for term in block.vocabulary]
    # "a b" of the terms "a" and "b" (of no space each)
    paired = [
        bool(space) and first in known and rest in known and " " not in rest
        for first, space, rest in split
    ]
    # the terms most used in pairs first, so the most frequent indices are the shortest
    uses = Counter(part for c, pair in enumerate(paired) if pair for part in split[c][::2])
    columns = sorted(
        (c for c, pair in enumerate(paired) if not pair),
        key=lambda c: -uses[block.vocabulary[c]],
    )
    terms = [block.vocabulary[c] for c in columns]
    at = {term: index for index, term in enumerate(terms)}
    pairs = []
    for column, pair in enumerate(paired):
        if pair:
            columns.append(column)
            pairs += (at[split[column][0]], at[split[column][2]])
    # the smoothed idf of fit_block, counted back to the works each term occurred in
    df = np.rint((1 + block.documents) / np.exp(block.idf - 1) - 1)
    if not np.allclose(smooth_idf(block.documents, df), block.idf, rtol=1e-12, atol=0):
        raise ValueError(f"model data: {block.kind} idf is not counted from the labelled works")
    return {
        "terms": terms,
        "pairs": pairs,
        "df": df[columns].astype(np.int64).tolist(),
        "weights": np.rint(weights[columns] / WEIGHT_UNIT).astype(np.int64).tolist(),
    }


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"model data: {where} is not a finite number")
    return float(value)


def _numbers(value: object, where: str) -> np.ndarray:
    if not isinstance(value, list):
        raise ValueError(f"model data: {where} is not a list")
    return np.array([_number(v, f"{where}[{i}]") for i, v in enumerate(value)], dtype=np.float64)


def _integers(value: object, where: str, low: int, high: int) -> np.ndarray:
    if not isinstance(value, list):
        raise ValueError(f"model data: {where} is not a list")
    if set(map(type, value)) - {int}:  # a bool is not one: its type is bool
        bad = next(i for i, v in enumerate(value) if type(v) is not int)
        raise ValueError(f"model data: {where}[{bad}] is not an integer")
    try:
        found = np.array(value, dtype=np.int64)
    except OverflowError:
        raise ValueError(f"model data: {where} has an integer out of range") from None
    outside = np.flatnonzero((found < low) | (found > high))
    if len(outside):
        raise ValueError(f"model data: {where}[{outside[0]}] is not from {low} to {high}")
    return found


def _strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ValueError(f"model data: {where} is not a list of strings")
    return value


def _columns(part: dict, kind: str, documents: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """A format 3 block's vocabulary, idf and weights."""
    terms = _strings(part.get("terms"), f"{kind}.terms")
    pairs = _integers(part.get("pairs"), f"{kind}.pairs", 0, len(terms) - 1)
    if len(pairs) % 2:
        raise ValueError(f"model data: {kind}.pairs has an odd number of indices")
    vocabulary = terms + [
        f"{terms[first]} {terms[second]}"
        for first, second in zip(pairs[0::2].tolist(), pairs[1::2].tolist(), strict=True)
    ]
    df = _integers(part.get("df"), f"{kind}.df", 0, documents)
    weights = _integers(part.get("weights"), f"{kind}.weights", -(2**53), 2**53) * WEIGHT_UNIT
    return vocabulary, smooth_idf(documents, df), weights


def _block(data: dict, kind: str, documents: int, scale: float) -> tuple[Block, np.ndarray]:
    part = data.get(kind)
    if not isinstance(part, dict):
        raise ValueError(f"model data: {kind!r} is missing or not an object")
    if data["format"] == FORMAT:
        vocabulary, idf, weights = _columns(part, kind, documents)
    else:
        vocabulary = _strings(part.get("vocabulary"), f"{kind}.vocabulary")
        idf = _numbers(part.get("idf"), f"{kind}.idf")
        weights = _numbers(part.get("weights"), f"{kind}.weights")
    if len(set(vocabulary)) != len(vocabulary):
        raise ValueError(f"model data: {kind} repeats a term")
    if not len(idf) == len(weights) == len(vocabulary):
        raise ValueError(
            f"model data: {kind} has {len(vocabulary)} terms, {len(idf)} idf values"
            f" and {len(weights)} weights"
        )
    if kind == "tags" and any(t.partition(":")[0] not in TAG_KINDS for t in vocabulary):
        raise ValueError(f"model data: {kind} has a term of an unknown kind")
    return Block(kind, vocabulary, idf, documents, scale), weights


def _from_data(data: object) -> Model:
    if not isinstance(data, dict):
        raise ValueError("model data: not an object")
    if data.get("format") not in (FORMAT, _FORMAT_2):
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
