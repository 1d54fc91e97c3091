"""Drift statistics between a reference, kept as a summary, and the values of a period.

A reference keeps categories as shares (:func:`category_shares`) and numbers as quantiles
(:func:`quantiles`, 101 by default). A period's numbers are summarised the same way before they
are compared, so both sides are smoothed alike (counts and other discrete numbers included):

* categories: the population stability index (:func:`psi`) or the Jensen-Shannon distance
  (:func:`js_distance`);
* numbers: the Wasserstein-1 distance (:func:`wasserstein`) or the Kolmogorov-Smirnov distance
  (:func:`ks`) between the distributions whose quantile functions interpolate the quantiles
  linearly;
* texts: the share of each text's words that the reference vocabulary lacks (:func:`oov_share`).

The ``*_rows`` forms compute the same statistic for each row of a batch (the null simulations of
:mod:`cxml.monitoring.thresholds`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "MISSING",
    "OTHER",
    "TRIM",
    "category_shares",
    "js_distance",
    "js_rows",
    "ks",
    "ks_rows",
    "oov_share",
    "psi",
    "psi_rows",
    "quantiles",
    "sample_from_quantiles",
    "wasserstein",
    "wasserstein_rows",
]

#: The category of a missing value.
MISSING = "(missing)"

#: The category of the values a reference did not keep by name.
OTHER = "(other)"

#: Share of each tail that :func:`wasserstein` leaves out.
TRIM = 0.05

Shares = Mapping[str, float] | Sequence[float] | np.ndarray


def category_shares(values: Iterable[Any]) -> dict[str, float]:
    """Share of each value (as text), largest first; None and NaN count as :data:`MISSING`.

    >>> category_shares(["email", "chat", None, "email"])
    {'email': 0.5, '(missing)': 0.25, 'chat': 0.25}
    """
    text = [MISSING if _missing(v) else str(v) for v in values]
    if not text:
        return {}
    names, counts = np.unique(np.array(text, dtype=object), return_counts=True)
    order = sorted(range(len(names)), key=lambda i: (-counts[i], names[i]))
    return {str(names[i]): float(counts[i] / len(text)) for i in order}


def psi(ref_shares: Shares, cur_shares: Shares, eps: float = 1e-4) -> float:
    """Population stability index, ``sum (cur - ref) * ln(cur / ref)``, shares clipped at ``eps``.

    Mappings are aligned by category (one side's missing category has share 0); arrays by position.
    Siddiqi 2006, *Credit Risk Scorecards*.

    >>> round(psi({"a": 0.5, "b": 0.5}, {"a": 0.6, "b": 0.4}), 4)
    0.0405
    """
    p, q = _aligned(ref_shares, cur_shares)
    return float(psi_rows(p[None], q[None], eps)[0])


def psi_rows(ref: np.ndarray, cur: np.ndarray, eps: float = 1e-4) -> np.ndarray:
    """:func:`psi` of each row of two (rows, categories) arrays of shares."""
    p, q = np.maximum(ref, eps), np.maximum(cur, eps)
    return np.asarray(((q - p) * np.log(q / p)).sum(axis=-1))


def js_distance(p: Shares, q: Shares) -> float:
    """Jensen-Shannon distance in bits: the square root of the JS divergence (Lin 1991).

    As ``scipy.spatial.distance.jensenshannon(p, q, base=2)``; shares are normalised to sum to 1.

    >>> js_distance([1.0, 0.0], [0.0, 1.0])
    1.0
    """
    a, b = _aligned(p, q)
    return float(js_rows(a[None], b[None])[0])


def js_rows(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """:func:`js_distance` of each row of two (rows, categories) arrays of shares."""
    p = p / p.sum(axis=-1, keepdims=True)
    q = q / q.sum(axis=-1, keepdims=True)
    m = (p + q) / 2
    divergence = (_kl_terms(p, m) + _kl_terms(q, m)).sum(axis=-1) / 2
    return np.sqrt(np.maximum(divergence, 0.0))


def quantiles(values: Any, n: int = 101) -> np.ndarray:
    """``n`` evenly spaced quantiles (0 to 1, linear interpolation) of the finite values.

    Missing (NaN) values are left out; with none left the result is all NaN.

    >>> quantiles([3.0, 1.0, np.nan, 2.0], n=3).tolist()
    [1.0, 2.0, 3.0]
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if not len(x):
        return np.full(n, np.nan)
    return np.quantile(x, np.linspace(0.0, 1.0, n))


def sample_from_quantiles(
    q: Any, size: int | tuple[int, ...], rng: np.random.Generator
) -> np.ndarray:
    """Draws from the distribution whose quantile function interpolates ``q`` linearly.

    Inverse-CDF sampling: ``q`` evaluated at uniform draws.
    """
    q = np.asarray(q, dtype=float)
    return np.interp(rng.random(size), np.linspace(0.0, 1.0, len(q)), q)


def wasserstein(ref_q: Any, cur_values: Any) -> float:
    """Wasserstein-1 distance between the reference's quantiles and the values' own quantiles.

    ``integral |Q_ref(u) - Q_cur(u)| du`` of the linearly interpolated quantile functions
    (Vallender 1974: W1 is the L1 distance between quantile functions), in the values' unit, over
    ``u`` from :data:`TRIM` to ``1 - TRIM``: the outer quantiles of skewed numbers (durations)
    vary from sample to sample far more than the body. NaN when no value is finite.
    """
    ref = np.asarray(ref_q, dtype=float)
    return float(wasserstein_rows(ref[None], quantiles(cur_values, len(ref))[None])[0])


def wasserstein_rows(ref_q: np.ndarray, cur_q: np.ndarray) -> np.ndarray:
    """:func:`wasserstein` of each row of two (rows, quantiles) arrays, computed exactly."""
    k = ref_q.shape[1]
    cut = round(TRIM * (k - 1))
    d = (ref_q - cur_q)[:, cut : k - cut]
    d0, d1 = np.abs(d[:, :-1]), np.abs(d[:, 1:])
    crossing = d[:, :-1] * d[:, 1:] < 0
    with np.errstate(invalid="ignore", divide="ignore"):
        area = np.where(crossing, (d0**2 + d1**2) / (2 * (d0 + d1)), (d0 + d1) / 2)
    return np.asarray(area.sum(axis=1) / (ref_q.shape[1] - 1))


def ks(ref_q: Any, cur_values: Any) -> float:
    """Kolmogorov-Smirnov distance ``sup_x |F_ref(x) - F_cur(x)|`` (Kolmogorov 1933).

    Between the distributions whose quantile functions interpolate the reference's quantiles and
    the values' own quantiles linearly. NaN when no value is finite.
    """
    ref = np.asarray(ref_q, dtype=float)
    return float(ks_rows(ref[None], quantiles(cur_values, len(ref))[None])[0])


def ks_rows(ref_q: np.ndarray, cur_q: np.ndarray) -> np.ndarray:
    """:func:`ks` of each row of two (rows, quantiles) arrays, computed exactly.

    Both CDFs are linear between the knots of either (and jump where quantiles repeat), so the
    largest gap is at a knot, from the right or from the left.
    """
    out = np.full(len(ref_q), np.nan)
    finite = np.isfinite(ref_q).all(axis=1) & np.isfinite(cur_q).all(axis=1)
    if finite.any():
        a, b = ref_q[finite], cur_q[finite]
        ends_a, ends_b = _tie_ends(a), _tie_ends(b)
        gaps = [
            np.abs(mine - theirs).max(axis=1)
            for q, ends, other, other_ends in ((a, ends_a, b, ends_b), (b, ends_b, a, ends_a))
            for mine, theirs in zip(ends, _cdf_rows(other, q, other_ends[1]), strict=True)
        ]
        out[finite] = np.max(gaps, axis=0)
    return out


def oov_share(tokens: Sequence[Sequence[int]], vocabulary: np.ndarray) -> np.ndarray:
    """Per row, the share of its tokens not in ``vocabulary`` (sorted); NaN for rows without any.

    >>> oov_share([[1, 2, 5, 9], [], [5]], np.array([1, 5])).tolist()
    [0.5, nan, 0.0]
    """
    lengths = np.fromiter((len(t) for t in tokens), dtype=np.int64, count=len(tokens))
    flat = np.fromiter((h for t in tokens for h in t), dtype=np.int64, count=int(lengths.sum()))
    vocabulary = np.asarray(vocabulary, dtype=np.int64)
    at = np.minimum(np.searchsorted(vocabulary, flat), max(len(vocabulary) - 1, 0))
    unknown = (vocabulary[at] != flat) if len(vocabulary) else np.ones(len(flat), dtype=bool)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    counts = np.bincount(rows, weights=unknown, minlength=len(lengths))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(lengths > 0, counts / lengths, np.nan)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _aligned(p: Shares, q: Shares) -> tuple[np.ndarray, np.ndarray]:
    """Two share vectors over the same categories (the union of the keys, for mappings)."""
    if isinstance(p, Mapping) and isinstance(q, Mapping):
        keys = list(dict.fromkeys([*p, *q]))
        return (
            np.array([p.get(k, 0.0) for k in keys], dtype=float),
            np.array([q.get(k, 0.0) for k in keys], dtype=float),
        )
    return np.asarray(p, dtype=float), np.asarray(q, dtype=float)


def _kl_terms(p: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``p * log2(p / m)`` with ``0 log 0 = 0``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(p > 0, p * np.log2(p / m), 0.0)


def _tie_ends(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``F(q-)`` and ``F(q)`` at each knot of each row: where quantiles repeat, the CDF jumps
    from the grid point of the run's first knot to that of its last."""
    k = q.shape[1]
    index = np.broadcast_to(np.arange(k), q.shape)
    starts = np.ones(q.shape, dtype=bool)
    starts[:, 1:] = q[:, 1:] != q[:, :-1]
    ends = np.ones(q.shape, dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, index, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, index, k - 1)[:, ::-1], axis=1)[:, ::-1]
    return first / (k - 1), last / (k - 1)


def _cdf_rows(q: np.ndarray, x: np.ndarray, at_last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``F(x-)`` and ``F(x)`` of each row's quantile distribution at the points ``x`` (rows, m).

    ``at_last`` is ``F`` at each knot of ``q`` (:func:`_tie_ends`). One search over all rows at
    once: each row is shifted past the previous one's range.
    """
    rows, k = q.shape
    low, high = min(q.min(), x.min()), max(q.max(), x.max())
    shift = (np.arange(rows) * (2 * (high - low) + 1))[:, None]
    found = np.searchsorted((q - low + shift).ravel(), (x - low + shift).ravel())
    below = found.reshape(x.shape) - (np.arange(rows) * k)[:, None]  # knots < x
    inside = np.clip(below, 1, k - 1)
    left = np.take_along_axis(q, inside - 1, axis=1)
    right = np.take_along_axis(q, inside, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.clip((x - left) / (right - left), 0.0, 1.0)
    before = np.where(below <= 0, 0.0, np.where(below >= k, 1.0, (inside - 1 + fraction) / (k - 1)))
    nearest = np.minimum(below, k - 1)
    on_knot = (below < k) & (np.take_along_axis(q, nearest, axis=1) == x)
    return before, np.where(on_knot, np.take_along_axis(at_last, nearest, axis=1), before)
