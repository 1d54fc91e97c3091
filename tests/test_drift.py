"""Drift statistics against hand values and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import jensenshannon

from cxml.monitoring.drift import (
    MISSING,
    category_shares,
    js_distance,
    ks,
    ks_rows,
    oov_share,
    psi,
    quantiles,
    sample_from_quantiles,
    wasserstein,
)


def test_category_shares_count_missing_values() -> None:
    shares = category_shares(["a", None, "b", float("nan"), "a", 3])
    assert shares == pytest.approx({"a": 2 / 6, MISSING: 2 / 6, "3": 1 / 6, "b": 1 / 6})
    assert list(shares)[:2] == [MISSING, "a"]
    assert category_shares([]) == {}


def test_psi_by_hand() -> None:
    ref = {"account": 0.12, "billing": 0.5, "shipping": 0.38}
    cur = {"account": 0.28, "billing": 0.4, "shipping": 0.32}
    hand = (
        (0.28 - 0.12) * math.log(0.28 / 0.12)
        + (0.4 - 0.5) * math.log(0.4 / 0.5)
        + (0.32 - 0.38) * math.log(0.32 / 0.38)
    )
    assert psi(ref, cur) == pytest.approx(hand, rel=1e-12)
    assert psi(ref, ref) == 0.0
    # a category new in the period: its reference share is clipped at eps
    new = psi({"a": 1.0}, {"a": 0.9, "b": 0.1}, eps=1e-4)
    assert new == pytest.approx((0.9 - 1) * math.log(0.9) + (0.1 - 1e-4) * math.log(0.1 / 1e-4))


@pytest.mark.parametrize("seed", range(5))
def test_js_distance_is_scipys(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p, q = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    q[2] = 0.0
    assert js_distance(p, q) == pytest.approx(jensenshannon(p, q, base=2), abs=1e-12)
    keys = list("abcdef")
    assert js_distance(
        dict(zip(keys, p, strict=True)), dict(zip(keys[::-1], q[::-1], strict=True))
    ) == pytest.approx(jensenshannon(p, q, base=2), abs=1e-12)
    assert js_distance({"a": 1.0}, {"b": 1.0}) == 1.0


def test_quantiles_and_sampling_from_them() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=20_000)
    q = quantiles(np.r_[values, np.nan])
    assert q.shape == (101,) and q[50] == pytest.approx(np.median(values))
    drawn = sample_from_quantiles(q, 50_000, rng)
    assert stats.ks_2samp(drawn, values).statistic < 0.015
    assert np.isnan(quantiles([np.nan], n=5)).all()


@pytest.mark.parametrize(("shift", "scale"), [(0.0, 1.0), (0.3, 1.0), (0.0, 1.5), (1.0, 0.7)])
def test_ks_and_wasserstein_against_scipy_on_a_large_reference(shift: float, scale: float) -> None:
    rng = np.random.default_rng(int(10 * shift + scale))
    big = rng.normal(10, 2, 400_000)
    cur = rng.normal(10 + 2 * shift, 2 * scale, 1000)
    q = quantiles(big)
    assert ks(q, cur) == pytest.approx(stats.ks_2samp(cur, big).statistic, abs=0.008)
    # W1 is the L1 distance of the quantile functions, here over their central 90 %
    u = np.linspace(0.05, 0.95, 20_001)
    central = np.abs(np.quantile(big, u) - np.quantile(cur, u)).mean() * 0.9
    assert wasserstein(q, cur) == pytest.approx(central, abs=0.005, rel=0.01)

    # the same as scipy's W1 between the central 90 % of each sample, times 0.9
    def central_90(x: np.ndarray) -> np.ndarray:
        low, high = np.quantile(x, [0.05, 0.95])
        return x[(x >= low) & (x <= high)]

    trimmed = stats.wasserstein_distance(central_90(cur), central_90(big))
    assert wasserstein(q, cur) == pytest.approx(0.9 * trimmed, abs=0.01, rel=0.03)


def test_ks_and_wasserstein_on_counts_and_identity() -> None:
    rng = np.random.default_rng(1)
    big = rng.poisson(2, 200_000).astype(float)
    q = quantiles(big)
    assert ks(q, big) == 0.0 and wasserstein(q, big) == 0.0
    more = rng.poisson(2.5, 1000).astype(float)
    assert ks(q, more) == pytest.approx(stats.ks_2samp(more, big).statistic, abs=0.015)
    assert wasserstein(q, more) == pytest.approx(0.5, abs=0.1)
    assert np.isnan(ks(q, [np.nan])) and np.isnan(wasserstein(q, []))


def test_ks_rows_is_the_largest_cdf_gap_on_a_fine_grid() -> None:
    """Brute force: F(x) = max{u : Q(u) <= x} of the interpolated quantile functions, on a grid."""
    rng = np.random.default_rng(5)
    a = np.sort(np.round(rng.normal(size=(4, 11)), 1), axis=1)  # repeated quantiles: jumps
    b = np.sort(np.round(rng.normal(0.3, 1.2, size=(4, 11)), 1), axis=1)
    u = np.linspace(0.0, 1.0, 200_001)
    for row_a, row_b, got in zip(a, b, ks_rows(a, b), strict=True):
        qa, qb = (np.interp(u, np.linspace(0, 1, 11), row) for row in (row_a, row_b))
        x = np.unique(np.r_[row_a, row_b, row_a - 1e-9, row_b - 1e-9])
        fa = np.searchsorted(qa, x, side="right") / len(u)
        fb = np.searchsorted(qb, x, side="right") / len(u)
        assert got == pytest.approx(np.abs(fa - fb).max(), abs=1e-4)


def test_oov_share_per_row() -> None:
    vocabulary = np.array([3, 7, 11, 20])
    shares = oov_share([[3, 4], [], [7, 11, 20], [99], [1, 2, 3, 25]], vocabulary)
    np.testing.assert_array_equal(shares, [0.5, np.nan, 0.0, 1.0, 0.75])
    np.testing.assert_array_equal(oov_share([[1], []], np.array([], dtype=np.int64)), [1.0, np.nan])
