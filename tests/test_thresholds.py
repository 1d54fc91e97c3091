"""Alert thresholds: false alarms on simulated quiet periods, detection of real changes, speed."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from cxml.monitoring.drift import OTHER, category_shares, ks_rows, oov_share, quantiles
from cxml.monitoring.thresholds import (
    FLOORS,
    Test,
    check,
    family_quantile,
    null_threshold,
    statistic_value,
)

N_REF, N = 2000, 1000
CATEGORIES: dict[str, dict[str, float]] = {
    "channel": {"email": 0.5, "chat": 0.3, "phone": 0.2},
    "category": {
        "account": 0.12,
        "billing": 0.3,
        "shipping": 0.25,
        "returns": 0.15,
        "product": 0.1,
        "other": 0.05,
        "warranty": 0.02,
        "gift": 0.01,
    },
    "priority": {"low": 0.4, "normal": 0.45, "high": 0.12, "urgent": 0.03},
    "lang": {"en": 0.5, "ko": 0.3, "es": 0.2},
    "customer_tier": {"standard": 0.8, "gold": 0.15, "platinum": 0.05},
}


def _numbers(rng: np.random.Generator, n: int, slower: float = 1.0) -> dict[str, np.ndarray]:
    """Ticket-like numbers: skewed durations with missing values, hours, counts, flags, scores."""
    first = rng.lognormal(np.log(6.0), 1.0, n) * slower
    first[rng.random(n) < 0.1] = np.nan
    hour = rng.choice(24, n, p=np.r_[np.full(8, 0.01), np.full(10, 0.08), np.full(6, 0.02)])
    return {
        "first_response_hours": first,
        "hours_open": rng.lognormal(np.log(30.0), 1.2, n),
        "created_hour": hour.astype(float),
        "created_weekday": rng.choice(7, n, p=[0.17, 0.17, 0.16, 0.16, 0.16, 0.09, 0.09]) * 1.0,
        "out_of_hours": ((hour < 8) | (hour > 17)).astype(float),
        "replies": rng.poisson(2.0, n).astype(float),
        "reopens": rng.poisson(0.2, n).astype(float),
        "reassignments": rng.poisson(0.5, n).astype(float),
        "ping_pong": rng.binomial(1, 0.15, n).astype(float),
        "text_score": rng.beta(2, 5, n),
    }


def _categories(
    rng: np.random.Generator, n: int, shares: dict[str, dict[str, float]]
) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for name, mix in shares.items():
        values: list[Any] = list(rng.choice(list(mix), n, p=list(mix.values())))
        for i in np.flatnonzero(rng.random(n) < 0.01):
            values[i] = None
        out[name] = values
    return out


def _tokens(rng: np.random.Generator, n: int) -> list[list[int]]:
    """Texts of 5 to 30 distinct words, word frequencies Zipf-like."""
    return [list(np.unique(rng.zipf(1.4, rng.integers(5, 31)) % 50_000)) for _ in range(n)]


def _number_part(values: np.ndarray) -> dict[str, Any]:
    return {
        "quantiles": quantiles(values).tolist(),
        "missing_share": float(np.isnan(values).mean()),
        "rows": len(values),
    }


def _window(
    rng: np.random.Generator,
    n: int,
    *,
    shares: dict[str, dict[str, float]] = CATEGORIES,
    slower: float = 1.0,
) -> dict[str, Any]:
    return {
        "categories": _categories(rng, n, shares),
        "numbers": _numbers(rng, n, slower),
        "tokens": _tokens(rng, n),
        "probability": rng.beta(2, 7, n),
    }


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    """A reference profile of N_REF rows (the vocabulary from one half, OOV from the other)."""
    rng = np.random.default_rng(1)
    sample = _window(rng, N_REF)
    half = N_REF // 2
    seen, counts = np.unique(
        np.concatenate([t for t in sample["tokens"][:half] if t]), return_counts=True
    )
    vocabulary = seen[counts >= 2]
    return {
        "categories": {
            k: {"shares": category_shares(v), "rows": N_REF}
            for k, v in sample["categories"].items()
        },
        "numbers": {k: _number_part(v) for k, v in sample["numbers"].items()},
        "vocabulary": vocabulary,
        "oov": _number_part(oov_share(sample["tokens"][half:], vocabulary)),
        "prediction": _number_part(sample["probability"]),
    }


def _period(
    reference: dict[str, Any], window: dict[str, Any], *, both: bool = False, alpha: float = 0.01
) -> list[Test]:
    """Every test of a period: each category and number, text OOV, predictions."""
    specs: list[tuple[str, str, str, dict[str, Any], Any, int]] = []
    for name, values in window["categories"].items():
        for statistic in ("psi", "js") if both else ("psi",):
            specs.append(
                (name, "category", statistic, reference["categories"][name], values, N_REF)
            )
    for name, values in window["numbers"].items():
        for statistic in ("wasserstein", "ks") if both else ("wasserstein",):
            specs.append((name, "number", statistic, reference["numbers"][name], values, N_REF))
    oov = oov_share(window["tokens"], reference["vocabulary"])
    specs.append(("oov", "number", "mean_shift", reference["oov"], oov, N_REF // 2))
    for statistic in ("abs_mean_shift", "expected_auc_drop"):
        specs.append(
            (
                "prediction",
                "number",
                statistic,
                reference["prediction"],
                window["probability"],
                N_REF,
            )
        )
    quantile = family_quantile(len(specs), alpha)
    return [
        check(name, kind, statistic, part, values, n_ref=n_ref, quantile=quantile)
        for name, kind, statistic, part, values, n_ref in specs
    ]


def _above_threshold(test: Test) -> bool:
    return bool(test.value > test.threshold)


def test_at_most_one_false_alarm_in_100_quiet_periods(reference: dict[str, Any]) -> None:
    rng = np.random.default_rng(7)
    periods = [_period(reference, _window(rng, N), both=True) for _ in range(100)]
    assert len(periods[0]) == 33
    alerts = [[t.name for t in tests if t.alert] for tests in periods]
    assert sum(map(bool, alerts)) <= 1, [a for a in alerts if a]
    # the thresholds alone (no floors) hold the family-wise rate too
    above = [[t.name for t in tests if _above_threshold(t)] for tests in periods]
    assert sum(map(bool, above)) <= 3, [a for a in above if a]


def test_small_quiet_periods_rest_on_the_thresholds(reference: dict[str, Any]) -> None:
    """At 200 rows the null thresholds, not the floors, keep quiet periods quiet."""
    rng = np.random.default_rng(8)
    periods = [_period(reference, _window(rng, 200)) for _ in range(100)]
    assert any(t.threshold > t.floor for t in periods[0])
    assert sum(any(t.alert for t in tests) for tests in periods) <= 3


@pytest.mark.parametrize(
    ("change", "name"),
    [("category", "category"), ("slower", "first_response_hours"), ("language", "lang")],
)
def test_each_change_alerts_at_1000_rows(reference: dict[str, Any], change: str, name: str) -> None:
    shares = {k: dict(v) for k, v in CATEGORIES.items()}
    if change == "category":  # account 12 % -> 28 %, the others shrink in proportion
        shares["category"] = {
            k: (0.28 if k == "account" else v * 0.72 / 0.88)
            for k, v in CATEGORIES["category"].items()
        }
    if change == "language":  # Korean 30 % -> 45 %
        shares["lang"] = {"en": 0.5 * 55 / 70, "ko": 0.45, "es": 0.2 * 55 / 70}
    window = _window(
        np.random.default_rng(9), N, shares=shares, slower=2.5 if change == "slower" else 1.0
    )
    for both in (False, True):
        tests = _period(reference, window, both=both)
        alerted = {t.name for t in tests if t.alert}
        assert alerted == {name}, [t for t in tests if t.alert]


def test_statistic_values_by_hand() -> None:
    part = {"shares": {"a": 0.5, "b": 0.4, OTHER: 0.1}, "rows": 100}
    # "c" and "d" are not among the kept categories: they join "(other)"
    value = statistic_value("category", "psi", part, ["a"] * 5 + ["b"] * 4 + ["c", "d"] * 1)
    cur = {"a": 5 / 11, "b": 4 / 11, OTHER: 2 / 11}
    hand = sum((cur[k] - p) * np.log(cur[k] / p) for k, p in part["shares"].items())
    assert value == pytest.approx(hand)
    q = {"quantiles": np.linspace(0.0, 4.0, 101).tolist(), "missing_share": 0.0}
    # uniform(0, 4) against itself shifted by 1: W1 = 1 over the central 90 %, IQR = 2
    shifted = np.linspace(1.0, 5.0, 10_001)
    assert statistic_value("number", "wasserstein", q, shifted) == pytest.approx(0.9 / 2, rel=1e-3)
    assert statistic_value("number", "abs_mean_shift", q, shifted) == pytest.approx(1.0, rel=1e-3)
    assert statistic_value("number", "mean_shift", q, shifted - 2) == pytest.approx(-1, rel=1e-3)
    assert statistic_value("number", "ks", q, shifted) == pytest.approx(0.25, abs=1e-3)
    assert np.isnan(statistic_value("number", "ks", q, [np.nan]))
    nothing = {"quantiles": [], "missing_share": 1.0}
    assert np.isnan(statistic_value("number", "ks", nothing, shifted))
    assert np.isnan(null_threshold("number", nothing, 100, 100, "ks", 0.99))
    with pytest.raises(ValueError, match="no statistic 'psi' for kind 'number'"):
        statistic_value("number", "psi", q, shifted)


def test_null_threshold_matches_a_direct_simulation() -> None:
    """The fast simulation (order statistics, fitted tail) agrees with drawing whole samples."""
    rng = np.random.default_rng(3)
    part = _number_part(rng.lognormal(1.0, 1.0, 3000))
    grid = np.linspace(0.0, 1.0, 101)
    ref = np.quantile(np.interp(rng.random((4000, N_REF)), grid, part["quantiles"]), grid, axis=1)
    cur = np.quantile(np.interp(rng.random((4000, 400)), grid, part["quantiles"]), grid, axis=1)
    direct = ks_rows(ref.T, cur.T)
    fast = null_threshold("number", part, 400, N_REF, "ks", 0.99, n_boot=4000, seed=1)
    assert fast == pytest.approx(np.quantile(direct, 0.99), rel=0.05)


def test_thresholds_are_cached_and_fast(reference: dict[str, Any]) -> None:
    window = _window(np.random.default_rng(11), 1040)
    started = time.perf_counter()
    first = _period(reference, window, alpha=0.0123)  # a new quantile: nothing cached yet
    cold = time.perf_counter() - started
    started = time.perf_counter()
    again = _period(reference, _window(np.random.default_rng(12), 1020), alpha=0.0123)
    warm = time.perf_counter() - started
    assert [t.threshold for t in first] == [t.threshold for t in again]  # both round to 1000
    assert len(first) == 18 and cold < 1.5 and warm < cold
    assert all(t.floor == FLOORS[t.statistic] for t in first)
