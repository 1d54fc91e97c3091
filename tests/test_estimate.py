"""Estimated performance from calibrated probabilities, against brute force and simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from cxml.monitoring.estimate import (
    expected_precision_recall,
    expected_rate,
    expected_roc_auc,
    expected_roc_auc_rows,
)


def _brute_force_auc(p: np.ndarray) -> float:
    """The O(n^2) definition: expected concordant pairs over expected pairs, i != j."""
    weight = p[:, None] * (1 - p[None, :])
    np.fill_diagonal(weight, 0.0)
    order = (p[:, None] > p[None, :]) + 0.5 * (p[:, None] == p[None, :])
    return float((weight * order).sum() / weight.sum())


def _simulated(p: np.ndarray, sims: int, seed: int) -> np.ndarray:
    """Labels drawn as Bernoulli(p), one simulation per row."""
    return (np.random.default_rng(seed).random((sims, len(p))) < p).astype(float)


@pytest.mark.parametrize("seed", range(4))
def test_expected_roc_auc_is_the_brute_force_definition(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = np.round(rng.beta(2, 5, 40), 2)  # with ties
    assert expected_roc_auc(p) == pytest.approx(_brute_force_auc(p), abs=1e-9)
    rows = np.sort(rng.beta(1, 3, (3, 25)), axis=1)
    np.testing.assert_allclose(expected_roc_auc_rows(rows), [_brute_force_auc(r) for r in rows])


def test_expected_roc_auc_edge_cases() -> None:
    assert np.isnan(expected_roc_auc([0.4]))
    assert np.isnan(expected_roc_auc([0.0, 0.0, 0.0]))
    assert expected_roc_auc([0.3, 0.3, 0.3]) == pytest.approx(0.5)


def test_expected_roc_auc_matches_the_mean_realized_auc() -> None:
    p = stats.beta(2, 7).rvs(1000, random_state=1)
    y = _simulated(p, 2000, seed=2)
    ranks = stats.rankdata(p)
    positives = y.sum(axis=1)
    realized = (y @ ranks - positives * (positives + 1) / 2) / (positives * (len(p) - positives))
    assert expected_roc_auc(p) == pytest.approx(realized.mean(), abs=0.01)
    assert expected_rate(p) == pytest.approx(y.mean(), abs=0.002)


def test_expected_precision_recall_match_simulation() -> None:
    p = stats.beta(2, 7).rvs(1000, random_state=3)
    threshold = np.quantile(p, 0.9)
    precision, recall, share = expected_precision_recall(p, threshold)
    flagged = p >= threshold
    y = _simulated(p, 2000, seed=4)
    hits = y[:, flagged].sum(axis=1)
    assert share == pytest.approx(flagged.mean())
    assert precision == pytest.approx((hits / flagged.sum()).mean(), abs=0.005)
    assert recall == pytest.approx((hits / y.sum(axis=1)).mean(), abs=0.005)
    nothing = expected_precision_recall(p, 2.0)
    assert np.isnan(nothing[0]) and nothing[1:] == (0.0, 0.0)
