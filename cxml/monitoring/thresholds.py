"""Alert thresholds with a controlled false-alarm rate, set from the reference itself.

A period's statistic (:func:`statistic_value`) is compared with what the reference's own noise
gives: :func:`null_threshold` draws, many times, a reference sample of the reference's size and a
period of the period's size, both from the reference distribution (categories: multinomial from
the shares; numbers: inverse CDF from the quantiles, less the missing share), and takes the
``quantile`` of the statistic between them: a parametric bootstrap of both samples, so the
threshold covers the sampling noise of the reference as well as the period's. The tail is a
Pearson type III fitted to the draws' first three moments, since 500 draws cannot reach a 0.9995
quantile on their own.

A period runs ``m`` tests at family-wise level ``alpha`` (Bonferroni: each at
:func:`family_quantile`), and a test alerts only when its value also exceeds a floor of practical
significance (:data:`FLOORS`), so a large period does not alert on changes too small to matter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import stats

from cxml.monitoring.drift import (
    OTHER,
    category_shares,
    js_rows,
    ks_rows,
    psi_rows,
    quantiles,
    wasserstein_rows,
)
from cxml.monitoring.estimate import expected_roc_auc_rows

__all__ = [
    "FLOORS",
    "STATISTICS",
    "Test",
    "check",
    "family_quantile",
    "null_threshold",
    "statistic_value",
]

#: Practical-significance floor of each statistic: a test alerts only above it.
FLOORS: dict[str, float] = {
    "psi": 0.05,  # categories: population stability index
    "js": 0.08,  # categories: Jensen-Shannon distance (about PSI 0.05 for small shifts)
    # numbers: Wasserstein-1 / reference IQR (std when the IQR is 0); weekly medians of ticket
    # durations wander by a tenth of an IQR without any change (generated streams)
    "wasserstein": 0.2,
    "ks": 0.05,  # numbers: Kolmogorov-Smirnov (about Wasserstein / IQR 0.1 for a normal shift)
    "mean_shift": 0.03,  # texts: increase of the mean share of words the vocabulary lacks
    "abs_mean_shift": 0.03,  # predictions: change of the mean probability, either way
    "expected_auc_drop": 0.03,  # predictions: drop of the expected ROC-AUC (CBPE)
}

#: The statistics of each kind of profile part: ``category`` parts hold ``shares``, ``number``
#: parts ``quantiles`` and ``missing_share``.
STATISTICS: dict[str, tuple[str, ...]] = {
    "category": ("psi", "js"),
    "number": ("wasserstein", "ks", "mean_shift", "abs_mean_shift", "expected_auc_drop"),
}

_ATOMS = 200  # points of a quantile distribution for its expected ROC-AUC


@dataclass(frozen=True)
class Test:
    """One drift test of a period: it alerts when ``value > max(threshold, floor)``."""

    __test__ = False  # not a pytest class

    name: str
    kind: str
    statistic: str
    value: float
    threshold: float
    floor: float

    @property
    def alert(self) -> bool:
        """Whether the value is above both the null threshold and the floor (never when NaN)."""
        return bool(self.value > max(self.threshold, self.floor))


def family_quantile(m: int, alpha: float = 0.01) -> float:
    """Each test's null quantile for a family-wise false-alarm rate ``alpha`` over ``m`` tests.

    Bonferroni: ``1 - alpha / m``.

    >>> family_quantile(20)
    0.9995
    """
    return 1.0 - alpha / max(m, 1)


def statistic_value(
    kind: str, statistic: str, profile_part: Mapping[str, Any], values: Any
) -> float:
    """The statistic between a profile part and a period's values.

    ``category``: the values' shares (a value the reference folded into ``"(other)"`` joins it)
    against the reference's. ``number``: the values' quantiles against the reference's;
    ``wasserstein`` is in reference IQRs (:data:`FLOORS` says each unit), ``mean_shift`` the
    period's mean less the reference's (``abs_mean_shift`` its absolute value) and
    ``expected_auc_drop`` the reference's expected ROC-AUC less the period's; means and expected
    ROC-AUCs are those of the quantile distributions, so both sides are smoothed alike.
    """
    _check(kind, statistic)
    if kind == "category":
        ref = profile_part["shares"]
        cur = _folded(category_shares(values), ref)
        keys = list(dict.fromkeys([*ref, *cur]))
        p = np.array([[ref.get(k, 0.0) for k in keys]])
        q = np.array([[cur.get(k, 0.0) for k in keys]])
        return float(_category_statistic(statistic, p, q)[0])
    ref_q = np.asarray(profile_part["quantiles"], dtype=float)
    if len(ref_q) < 2:  # the reference had no values
        return float("nan")
    cur_q = quantiles(values, len(ref_q))
    if not np.isfinite(cur_q).all():
        return float("nan")
    value = _number_statistic(statistic, ref_q[None], cur_q[None], _scale(ref_q))[0]
    return float(abs(value) if statistic == "abs_mean_shift" else value)


def null_threshold(
    kind: str,
    profile_part: Mapping[str, Any],
    n: int,
    n_ref: int,
    statistic: str,
    quantile: float,
    n_boot: int = 500,
    seed: int = 0,
) -> float:
    """The ``quantile`` of the statistic between a reference sample and a period, both drawn
    from the reference distribution.

    Parameters
    ----------
    kind : {"category", "number"}
    profile_part : mapping
        A reference profile's entry for one feature: ``shares`` for a category, ``quantiles``
        (and ``missing_share``) for a number.
    n, n_ref : int
        Rows of the period (rounded to 2 significant digits, so nearby sizes share a cached
        threshold) and of the reference, missing values included.
    statistic : str
        One of ``STATISTICS[kind]``.
    quantile : float
        Of the null distribution, e.g. :func:`family_quantile`.
    n_boot : int, default=500
        Simulated pairs of samples.
    seed : int, default=0

    Returns
    -------
    float
        NaN when the period has no values to compare.
    """
    _check(kind, statistic)
    if kind == "category":
        part: tuple[Any, ...] = tuple(profile_part["shares"].values())
    else:
        part = (tuple(profile_part["quantiles"]), float(profile_part.get("missing_share", 0.0)))
    n = int(float(f"{n:.2g}")) if n > 0 else 0
    return _threshold(kind, statistic, part, n, int(n_ref), float(quantile), n_boot, seed)


def check(
    name: str,
    kind: str,
    statistic: str,
    profile_part: Mapping[str, Any],
    values: Any,
    *,
    n_ref: int,
    quantile: float,
    n_boot: int = 500,
    seed: int = 0,
) -> Test:
    """One test of a period's values against a profile part (value, null threshold, floor)."""
    values = list(values) if kind == "category" else np.asarray(values, dtype=float)
    value = statistic_value(kind, statistic, profile_part, values)
    threshold = null_threshold(
        kind, profile_part, len(values), n_ref, statistic, quantile, n_boot, seed
    )
    return Test(name, kind, statistic, value, threshold, FLOORS[statistic])


@lru_cache(maxsize=4096)
def _threshold(
    kind: str,
    statistic: str,
    part: tuple[Any, ...],
    n: int,
    n_ref: int,
    quantile: float,
    n_boot: int,
    seed: int,
) -> float:
    rng = np.random.default_rng(seed)
    if kind == "category":
        p = np.asarray(part, dtype=float)
        p = p / p.sum()
        if n < 1 or n_ref < 1:
            return float("nan")
        ref = rng.multinomial(n_ref, p, size=n_boot) / n_ref
        cur = rng.multinomial(n, p, size=n_boot) / n
        draws = _category_statistic(statistic, ref, cur)
    else:
        q, missing = np.asarray(part[0], dtype=float), part[1]
        size, size_ref = round(n * (1 - missing)), round(n_ref * (1 - missing))
        if size < 1 or size_ref < 1 or len(q) < 2 or not np.isfinite(q).all():
            return float("nan")
        ref_q = _sample_quantiles(q, size_ref, n_boot, rng)
        cur_q = _sample_quantiles(q, size, n_boot, rng)
        draws = _number_statistic(statistic, ref_q, cur_q, _scale(q))
    return _upper(draws, statistic, quantile)


def _upper(draws: np.ndarray, statistic: str, quantile: float) -> float:
    """The ``quantile`` of the null draws from a Pearson type III (a gamma with the draws' mean,
    variance and skewness); for ``abs_mean_shift`` the ``quantile`` of their absolute value."""
    mean, sd = float(draws.mean()), float(draws.std(ddof=1))
    if not sd > 0:
        return float(np.abs(draws).max())
    tail = stats.pearson3(float(stats.skew(draws, bias=False)), loc=mean, scale=sd)
    if statistic == "abs_mean_shift":
        return float(max(tail.ppf((1 + quantile) / 2), -tail.ppf((1 - quantile) / 2)))
    return float(tail.ppf(quantile))


def _sample_quantiles(q: np.ndarray, size: int, reps: int, rng: np.random.Generator) -> np.ndarray:
    """The quantiles (on ``q``'s grid) of ``reps`` samples of ``size`` drawn from ``q``.

    Only the order statistics the quantiles need are drawn: uniform order statistics are
    cumulative sums of exponential spacings over their total (Renyi 1953), and the sum of
    ``k`` spacings is Gamma(k).
    """
    k = len(q)
    position = np.linspace(0.0, 1.0, k) * (size - 1)
    low = np.floor(position).astype(int)
    frac = position - low
    needed = np.unique(np.r_[low, np.minimum(low + 1, size - 1)]) + 1  # 1-based ranks
    steps = np.diff(np.r_[0, needed, size + 1])
    sums = np.cumsum(rng.gamma(steps, size=(reps, len(steps))), axis=1)
    uniform = sums[:, :-1] / sums[:, -1:]
    if np.array_equal(q, np.round(q)):  # whole numbers (counts, flags): a step inverse CDF
        ordered = q[np.rint(uniform * (k - 1)).astype(int)]
    else:
        ordered = np.interp(uniform, np.linspace(0.0, 1.0, k), q)
    at_low = np.searchsorted(needed, low + 1)
    at_high = np.searchsorted(needed, np.minimum(low + 1, size - 1) + 1)
    return np.asarray(ordered[:, at_low] * (1 - frac) + ordered[:, at_high] * frac)


def _category_statistic(statistic: str, ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    return psi_rows(ref, cur) if statistic == "psi" else js_rows(ref, cur)


def _number_statistic(
    statistic: str, ref_q: np.ndarray, cur_q: np.ndarray, scale: float
) -> np.ndarray:
    """The statistic per row (``abs_mean_shift`` still signed: the tail fit takes both sides)."""
    if statistic == "wasserstein":
        return wasserstein_rows(ref_q, cur_q) / scale
    if statistic == "ks":
        return ks_rows(ref_q, cur_q)
    if statistic == "expected_auc_drop":
        return expected_roc_auc_rows(_atoms(ref_q)) - expected_roc_auc_rows(_atoms(cur_q))
    return _means(cur_q) - _means(ref_q)


def _means(q: np.ndarray) -> np.ndarray:
    """Mean of each row's quantile distribution (its quantile function is linear in between)."""
    return np.asarray(((q[:, :-1] + q[:, 1:]) / 2).mean(axis=1))


def _atoms(q: np.ndarray) -> np.ndarray:
    """Each row's quantile function at :data:`_ATOMS` evenly spaced midpoints (sorted)."""
    at = (np.arange(_ATOMS) + 0.5) / _ATOMS * (q.shape[1] - 1)
    low = np.floor(at).astype(int)
    frac = at - low
    return np.asarray(q[:, low] * (1 - frac) + q[:, low + 1] * frac)


def _scale(q: np.ndarray) -> float:
    """The reference's IQR, else its standard deviation, else 1: the unit of ``wasserstein``."""
    grid = np.linspace(0.0, 1.0, len(q))
    iqr = float(np.interp(0.75, grid, q) - np.interp(0.25, grid, q))
    if iqr > 0:
        return iqr
    a, b = q[:-1], q[1:]
    mean = float(_means(q[None])[0])
    sd = float(np.sqrt(max(((a * a + a * b + b * b) / 3).mean() - mean**2, 0.0)))
    return sd if sd > 0 else 1.0


def _folded(shares: dict[str, float], ref: Mapping[str, float]) -> dict[str, float]:
    """``shares`` with the categories ``ref`` lacks moved into :data:`OTHER`, when it has one."""
    if OTHER not in ref:
        return shares
    out: dict[str, float] = {}
    for key, share in shares.items():
        name = key if key in ref else OTHER
        out[name] = out.get(name, 0.0) + share
    return out


def _check(kind: str, statistic: str) -> None:
    if statistic not in STATISTICS.get(kind, ()):
        raise ValueError(f"no statistic {statistic!r} for kind {kind!r}; kinds: {STATISTICS}")
