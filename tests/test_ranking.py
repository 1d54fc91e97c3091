"""ROC-AUC with DeLong variances, McNemar, the paired bootstrap and Wilson, against known cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import accuracy_score, roc_auc_score

from cxml.errors import BadInputError
from cxml.metrics.ranking import delong, delong_paired, mcnemar, paired_bootstrap, wilson


def _components(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's structural components by their O(n^2) definition (ties count one half)."""
    x, z = s[y == 1], s[y == 0]
    psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
    return psi.mean(axis=1), psi.mean(axis=0)


def _binormal(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels and two correlated scores with true AUCs Phi(1/sqrt 2) and Phi(0.6/sqrt 2)."""
    y = rng.integers(0, 2, n)
    shared = rng.normal(size=n)
    a = y * 1.0 + np.sqrt(0.5) * shared + np.sqrt(0.5) * rng.normal(size=n)
    b = y * 0.6 + np.sqrt(0.5) * shared + np.sqrt(0.5) * rng.normal(size=n)
    return y, a, b


def test_delong_auc_is_sklearns_and_variance_is_the_slow_definition() -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 60)
    s = np.round(rng.normal(size=60) + y, 1)  # rounded: ties within and across classes
    auc, var = delong(y, s)
    assert auc == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    v10, v01 = _components(y, s)
    slow = v10.var(ddof=1) / len(v10) + v01.var(ddof=1) / len(v01)
    assert var == pytest.approx(slow, rel=1e-10)


def test_delong_paired_covariance_is_the_slow_definition() -> None:
    rng = np.random.default_rng(2)
    y, a, b = _binormal(rng, 50)
    a10, a01 = _components(y, a)
    b10, b01 = _components(y, b)
    cov = np.cov(a10, b10)[0, 1] / len(a10) + np.cov(a01, b01)[0, 1] / len(a01)
    var_diff = delong(y, a)[1] + delong(y, b)[1] - 2 * cov
    result = delong_paired(y, a, b)
    assert result.auc_a == pytest.approx(roc_auc_score(y, a))
    assert result.auc_b == pytest.approx(roc_auc_score(y, b))
    assert result.se == pytest.approx(np.sqrt(var_diff), rel=1e-10)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(result.diff) / result.se))


def test_delong_paired_interval_covers_the_true_difference_about_95_percent() -> None:
    rng = np.random.default_rng(3)
    truth = stats.norm.cdf(1 / np.sqrt(2)) - stats.norm.cdf(0.6 / np.sqrt(2))
    covered = [
        (r := delong_paired(*_binormal(rng, 300))).ci_low <= truth <= r.ci_high for _ in range(300)
    ]
    assert 0.91 <= np.mean(covered) <= 0.985


def test_delong_same_scores_and_one_class() -> None:
    y = np.array([0, 1, 0, 1, 1])
    s = np.array([0.1, 0.9, 0.3, 0.2, 0.8])
    same = delong_paired(y, s, s)
    assert (same.diff, same.se, same.p_value) == (0.0, 0.0, 1.0)
    with pytest.raises(BadInputError, match="both classes"):
        delong(np.ones(4), s[:4])


def test_mcnemar_by_hand_and_against_the_binomial_test() -> None:
    # 3 rows only a got right, 9 only b: exact, 2 * sum_{k<=3} C(12, k) / 2**12 = 598 / 4096
    a = np.r_[np.ones(3), np.zeros(9), np.ones(40)]
    b = np.r_[np.zeros(3), np.ones(9), np.ones(40)]
    stat, p = mcnemar(a, b)
    assert (stat, p) == (3.0, pytest.approx(598 / 4096))
    assert p == pytest.approx(stats.binomtest(3, 12).pvalue)
    # 10 against 20: chi-square with continuity correction, (|10 - 20| - 1)^2 / 30 = 2.7
    a = np.r_[np.ones(10), np.zeros(20), np.zeros(5)]
    b = np.r_[np.zeros(10), np.ones(20), np.zeros(5)]
    stat, p = mcnemar(a, b)
    assert stat == pytest.approx(2.7)
    assert p == pytest.approx(0.10034, abs=1e-5)
    assert mcnemar([1, 0], [1, 0]) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    # Newcombe 1998, Statistics in Medicine 17: 857-872, table II (method 3, the score interval)
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_published_examples(k: int, n: int, low: float, high: float) -> None:
    got = wilson(k, n)
    assert got == pytest.approx((low, high), abs=5e-5)
    scipy = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
    assert got == pytest.approx((scipy.low, scipy.high), abs=1e-9)
    assert wilson(0, 0) == (0.0, 1.0)


def test_paired_bootstrap_accuracy_against_the_paired_proportion_interval() -> None:
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 800)
    a = np.where(rng.random(800) < 0.85, y, 1 - y)
    b = np.where(rng.random(800) < 0.78, y, 1 - y)
    result = paired_bootstrap(accuracy_score, y, a, b, n_boot=400, seed=7)
    assert result == paired_bootstrap(accuracy_score, y, a, b, n_boot=400, seed=7)
    assert result.diff == pytest.approx(np.mean(a == y) - np.mean(b == y))
    only_a = np.mean((a == y) & (b != y))
    only_b = np.mean((a != y) & (b == y))
    se = np.sqrt((only_a + only_b - (only_a - only_b) ** 2) / len(y))  # paired proportions
    width = result.ci_high - result.ci_low
    assert width == pytest.approx(2 * 1.96 * se, rel=0.2)
    assert result.ci_low > 0 and result.p_value < 0.01
    same = paired_bootstrap(accuracy_score, y, a, a, n_boot=50)
    assert (same.diff, same.ci_low, same.ci_high, same.p_value) == (0.0, 0.0, 0.0, 1.0)
