"""Performance expected from calibrated probabilities alone, before any label arrives.

CBPE: NannyML's confidence-based performance estimation. If the model is calibrated, each row's
label is Bernoulli(``p``) with ``p`` the predicted probability of the positive (bad) class, so the
expected confusion counts, and ratios of them, follow from ``p``. Each estimate below is the ratio
of the expected counts (the expected numerator over the expected denominator).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "expected_precision_recall",
    "expected_rate",
    "expected_roc_auc",
    "expected_roc_auc_rows",
]


def expected_rate(p: Any) -> float:
    """Expected share of positives: the mean probability (NaN without rows).

    >>> expected_rate([0.1, 0.3])
    0.2
    """
    p = np.asarray(p, dtype=float)
    return float(p.mean()) if len(p) else float("nan")


def expected_roc_auc(p: Any) -> float:
    """Expected ROC-AUC of the scores ``p`` when each label is Bernoulli(``p``).

    ``sum_{i != j} p_i (1 - p_j) ([p_i > p_j] + [p_i = p_j] / 2) / sum_{i != j} p_i (1 - p_j)``:
    expected concordant positive-negative pairs over expected pairs, in O(n log n). NaN with fewer
    than two rows or no possible pair.

    >>> round(expected_roc_auc([0.2, 0.8]), 4)
    0.9412
    """
    p = np.sort(np.asarray(p, dtype=float))
    return float(expected_roc_auc_rows(p[None])[0])


def expected_roc_auc_rows(p: np.ndarray) -> np.ndarray:
    """:func:`expected_roc_auc` of each row of a (rows, n) array sorted along its rows."""
    rows, n = p.shape
    if n < 2:
        return np.full(rows, np.nan)
    negative = 1.0 - p
    before = np.cumsum(negative, axis=1) - negative  # sum of (1 - p_j) over j earlier in order
    index = np.broadcast_to(np.arange(n), p.shape)
    starts = np.ones(p.shape, dtype=bool)
    starts[:, 1:] = p[:, 1:] != p[:, :-1]
    ends = np.ones(p.shape, dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, index, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, index, n - 1)[:, ::-1], axis=1)[:, ::-1]
    below = np.take_along_axis(before, first, axis=1)  # p_j < p_i
    tied = np.take_along_axis(before + negative, last, axis=1) - below - negative  # j != i
    numerator = (p * (below + tied / 2)).sum(axis=1)
    total = p.sum(axis=1)
    pairs = total * (n - total) - (p * negative).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, numerator / pairs, np.nan)


def expected_precision_recall(p: Any, threshold: float) -> tuple[float, float, float]:
    """Expected precision and recall of flagging ``p >= threshold``, and the share flagged.

    Precision is the mean probability of the flagged rows; recall their expected positives over
    all expected positives. NaN where nothing is flagged or no positive is expected.

    >>> [round(x, 4) for x in expected_precision_recall([0.1, 0.5, 0.9], 0.5)]
    [0.7, 0.9333, 0.6667]
    """
    p = np.asarray(p, dtype=float)
    flagged = p >= threshold
    hits, total = float(p[flagged].sum()), float(p.sum())
    precision = hits / flagged.sum() if flagged.any() else float("nan")
    recall = hits / total if total > 0 else float("nan")
    share = float(flagged.mean()) if len(p) else float("nan")
    return float(precision), float(recall), share
