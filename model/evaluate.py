"""How well a model trained on some labels ranks the others: cross-validated ROC AUC and
WSS@95 of the out-of-fold ranking."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from litmon.model.features import Doc
from litmon.model.linear import fit
from litmon.model.metrics import wss


def cross_validate(
    docs: Sequence[Doc], labels: Sequence[int], *, seed: int = 0, folds: int = 5
) -> dict:
    """``{"auc", "wss95", "folds"}`` from ``folds``-fold stratified cross-validation; each
    work is ranked by a model that never saw its label. Fewer folds when a kind of label
    has fewer works than ``folds``; None for both figures when it has fewer than two."""
    y = np.asarray(labels, dtype=np.int64)
    if len(y) != len(docs):
        raise ValueError(f"{len(docs)} documents but {len(y)} labels")
    smaller = int(min((y == 1).sum(), (y == 0).sum()))
    folds = min(folds, smaller)
    if folds < 2:
        return {"auc": None, "wss95": None, "folds": 0}
    scores = np.zeros(len(y))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(np.zeros(len(y)), y):
        model = fit([docs[i] for i in train], y[train], seed=seed)
        scores[test] = model.decision([docs[i] for i in test])
    # ties broken by position, as the queue breaks them, not in the model's favour
    ranked = y[np.lexsort((np.arange(len(y)), -scores))]
    return {
        "auc": round(float(roc_auc_score(y, scores)), 4),
        "wss95": round(float(wss(ranked.tolist(), 0.95, len(y))), 4),
        "folds": folds,
    }
