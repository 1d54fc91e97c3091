"""Comparing two models on the same rows: ROC-AUC with DeLong variances, McNemar, paired bootstrap.

* :func:`delong` and :func:`delong_paired`: ROC-AUC and its variance from the structural
  components of DeLong, DeLong & Clarke-Pearson (1988, *Biometrics* 44(3)), computed with midranks
  in O(n log n) as in Sun & Xu (2014, *IEEE Signal Processing Letters* 21(11)).
* :func:`mcnemar`: McNemar's test of paired correct / wrong answers (exact binomial below 25
  discordant pairs, else chi-square with Edwards' continuity correction).
* :func:`paired_bootstrap`: any metric of two predictions of the same rows, resampled together.
* :func:`wilson`: the Wilson (1927) score interval of a proportion.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from cxml.errors import BadInputError

__all__ = [
    "PairedAuc",
    "PairedDiff",
    "delong",
    "delong_paired",
    "mcnemar",
    "paired_bootstrap",
    "wilson",
]

#: Below this many discordant pairs McNemar's test is exact (binomial).
EXACT_BELOW = 25


@dataclass(frozen=True)
class PairedAuc:
    """ROC-AUCs of two scores of the same rows and DeLong's test of their difference ``a - b``."""

    auc_a: float
    auc_b: float
    diff: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float


@dataclass(frozen=True)
class PairedDiff:
    """A metric of two predictions of the same rows, and a bootstrap test of ``a - b``."""

    value_a: float
    value_b: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float


def delong(y: Any, scores: Any) -> tuple[float, float]:
    """ROC-AUC of ``scores`` for the 0/1 labels ``y``, and its DeLong variance.

    DeLong et al. 1988; Sun & Xu 2014 fast algorithm.

    >>> auc, var = delong([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> round(auc, 3), round(var, 4)
    (0.75, 0.125)
    """
    aucs, cov = _delong(y, np.asarray(scores, dtype=float)[None, :])
    return float(aucs[0]), float(cov[0, 0])


def delong_paired(y: Any, a: Any, b: Any, *, confidence: float = 0.95) -> PairedAuc:
    """DeLong's test of the difference of two correlated ROC-AUCs (the same rows and labels).

    DeLong et al. 1988; Sun & Xu 2014 fast algorithm. The interval and the two-sided p-value
    use the normal approximation of ``auc_a - auc_b``.
    """
    aucs, cov = _delong(y, np.vstack([np.asarray(a, dtype=float), np.asarray(b, dtype=float)]))
    diff = float(aucs[0] - aucs[1])
    se = float(np.sqrt(max(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], 0.0)))
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = float(2 * stats.norm.sf(abs(diff) / se)) if se > 0 else float(diff == 0)
    return PairedAuc(float(aucs[0]), float(aucs[1]), diff, se, diff - z * se, diff + z * se, p)


def mcnemar(correct_a: Any, correct_b: Any) -> tuple[float, float]:
    """McNemar's test that two classifiers are right equally often on the same rows.

    McNemar 1947. With ``b`` rows only ``a`` got right and ``c`` rows only ``b`` got right: below
    :data:`EXACT_BELOW` discordant rows the statistic is ``min(b, c)`` with the exact two-sided
    binomial p-value; otherwise ``(|b - c| - 1)**2 / (b + c)`` against chi-square(1).

    >>> mcnemar([1, 1, 1, 0], [0, 0, 1, 0])
    (0.0, 0.5)
    """
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    discordant = only_a + only_b
    if discordant == 0:
        return 0.0, 1.0
    if discordant < EXACT_BELOW:
        low = min(only_a, only_b)
        return float(low), float(stats.binomtest(low, discordant, 0.5).pvalue)
    stat = (abs(only_a - only_b) - 1) ** 2 / discordant
    return float(stat), float(stats.chi2.sf(stat, 1))


def paired_bootstrap(
    metric: Callable[[Any, Any], float],
    y: Any,
    pred_a: Any,
    pred_b: Any,
    n_boot: int = 1000,
    seed: int = 0,
    *,
    confidence: float = 0.95,
) -> PairedDiff:
    """A bootstrap test of ``metric(y, pred_a) - metric(y, pred_b)`` on the same rows.

    Efron & Tibshirani 1993. Rows are resampled within each label value (so every resample has
    every class) with the same indices for both predictions. The interval is the percentile
    interval of the resampled differences; the two-sided p-value is the share of resampled
    differences at least as far from the observed one as the observed one is from 0.
    """
    y = np.asarray(y)
    pa, pb = np.asarray(pred_a), np.asarray(pred_b)
    value_a, value_b = float(metric(y, pa)), float(metric(y, pb))
    diff = value_a - value_b
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(y == label) for label in np.unique(y)]
    diffs = np.empty(n_boot)
    for i in range(n_boot):
        rows = np.concatenate([rng.choice(g, size=len(g)) for g in groups])
        diffs[i] = metric(y[rows], pa[rows]) - metric(y[rows], pb[rows])
    low, high = np.quantile(diffs, [0.5 - confidence / 2, 0.5 + confidence / 2])
    p = (1 + np.count_nonzero(np.abs(diffs - diff) >= abs(diff))) / (n_boot + 1)
    return PairedDiff(value_a, value_b, diff, float(low), float(high), float(min(p, 1.0)))


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval of ``k`` successes in ``n`` trials (Wilson 1927).

    Newcombe (1998, *Statistics in Medicine* 17, p. 857) gives 81 of 263 as 0.2553 to 0.3662:

    >>> [round(x, 4) for x in wilson(81, 263)]
    [0.2553, 0.3662]
    """
    if n <= 0:
        return 0.0, 1.0
    centre = (k + z * z / 2) / (n + z * z)
    half = z * np.sqrt(k * (n - k) / n + z * z / 4) / (n + z * z)
    return float(max(centre - half, 0.0)), float(min(centre + half, 1.0))


def _delong(y: Any, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUCs of each row of ``scores`` (k, n) and the (k, k) DeLong covariance of them."""
    y = np.asarray(y)
    positive = y == 1
    if not np.isin(y, (0, 1)).all() or positive.all() or not positive.any():
        raise BadInputError("ROC-AUC needs 0/1 labels with both classes present")
    if scores.shape[1] != len(y) or not np.isfinite(scores).all():
        raise BadInputError("scores must be finite, one per label")
    x, z = scores[:, positive], scores[:, ~positive]
    m, n = x.shape[1], z.shape[1]
    tx = stats.rankdata(x, axis=1)
    tz = stats.rankdata(z, axis=1)
    tall = stats.rankdata(np.hstack([x, z]), axis=1)
    aucs = (tall[:, :m].sum(axis=1) - m * (m + 1) / 2) / (m * n)
    v10 = (tall[:, :m] - tx) / n
    v01 = 1.0 - (tall[:, m:] - tz) / m
    if m < 2 or n < 2:
        return aucs, np.full((len(scores), len(scores)), np.nan)
    return aucs, np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
