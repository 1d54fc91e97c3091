"""Late ratings: every rating row counted once, joins to the right scoring, metrics with CIs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

from cxml.metrics.ranking import wilson
from cxml.monitoring.realized import JoinSummary, join_ratings, realized_metrics


def _scored(rows: list[tuple[str | None, str, str]]) -> pd.DataFrame:
    """Log rows (id, scored_at, model_version) with a probability each."""
    frame = pd.DataFrame(rows, columns=["id", "scored_at", "model_version"])
    frame["scored_at"] = pd.to_datetime(frame["scored_at"], utc=True)
    frame["bad_rating_probability"] = np.linspace(0.1, 0.9, len(frame))
    return frame


def _adds_up(summary: JoinSummary) -> bool:
    return summary.ratings_read == (
        summary.matched
        + summary.unknown_ids
        + summary.duplicate_ratings
        + summary.rerated
        + summary.missing_rating
    )


def test_join_counts_every_rating_row_once() -> None:
    scored = _scored(
        [
            ("t1", "2026-03-01T10:00Z", "3"),
            ("t2", "2026-03-01T11:00Z", "3"),
            ("t3", "2026-03-01T12:00Z", "3"),
            ("t3", "2026-03-05T12:00Z", "4"),  # t3 scored again, after its rating
            ("t4", "2026-03-02T09:00Z", "3"),
            ("t4", "2026-03-03T09:00Z", "4"),  # t4 scored again, before its rating
            (None, "2026-03-02T09:00Z", "4"),
        ]
    )
    ratings = pd.DataFrame(
        {
            "id": ["t1", "t1", "t2", "t2", "t2", "t3", "t4", "x9", "x9", "t1", pd.NaT, 17, "t2"],
            "rating": [5, 5, 4, 1, 4, "2", 1.0, 3, 3, "", 4, 2, 7],
            "rated_at": [
                "2026-03-02",
                "2026-03-02",
                "2026-03-02",
                "2026-03-04",
                None,
                "2026-03-03",
                "2026-03-04",
                None,
                None,
                None,
                "2026-03-02",
                None,
                "2026-03-02",
            ],
        }
    )
    joined, summary = join_ratings(scored, ratings)
    assert summary == JoinSummary(
        ratings_read=13,
        matched=4,
        unknown_ids=3,
        duplicate_ratings=1,
        rerated=2,
        missing_rating=3,
        scored_more_than_once=2,
        reasons={"blank rating": 1, "no id": 1, "not a rating 1-5, good or bad": 1},
    )
    assert _adds_up(summary)
    by_id = joined.set_index("id")
    # t2: 4, then 1 (latest), then an undated 4 (oldest): 1 wins, the two 4s were re-rated
    assert by_id.loc["t2", "rating"] == 1 and bool(by_id.loc["t2", "bad"])
    assert by_id.loc["t1", "rating"] == 5 and not by_id.loc["t1", "bad"]
    # t3 rated before its second scoring: the first scoring; t4 after both: the second
    assert by_id.loc["t3", "model_version"] == "3" and by_id.loc["t4", "model_version"] == "4"
    assert by_id.loc["t3", "rating"] == 2
    assert by_id.loc["t2", "rated_at"] == pd.Timestamp("2026-03-04", tz="UTC")
    assert list(joined.columns) == [*scored.columns, "rating", "rated_at", "bad"]


def test_join_without_rated_at_keeps_the_last_row_and_the_last_scoring() -> None:
    scored = _scored([(1001, "2026-03-01T10:00Z", "1"), (1001, "2026-03-02T10:00Z", "2")])
    ratings = pd.DataFrame({"id": ["1001", 1001.0, " 1001 "], "rating": [2, 5, 4]})
    joined, summary = join_ratings(scored, ratings, bad_ratings=(1, 2, 3, 4))
    assert (summary.matched, summary.rerated, summary.scored_more_than_once) == (1, 2, 1)
    assert joined["rating"].tolist() == [4] and joined["bad"].tolist() == [True]
    assert joined["model_version"].tolist() == ["2"]


def test_join_nothing_matches() -> None:
    joined, summary = join_ratings(
        _scored([("a", "2026-03-01T10:00Z", "1")]), pd.DataFrame({"id": ["b"], "rating": [3]})
    )
    assert joined.empty and summary.unknown_ids == 1 and _adds_up(summary)


@settings(max_examples=40, deadline=None)
@given(
    scored_ids=st.lists(st.sampled_from(["a", "b", "c", "d", None]), max_size=8),
    ratings=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "e", None, ""]),
            st.sampled_from([1, 2, 3, 4, 5, 0, 6, 2.5, None, "", "x", "4"]),
            st.one_of(st.none(), st.integers(1, 9).map(lambda d: f"2026-03-0{d}")),
        ),
        max_size=15,
    ),
)
def test_join_counts_add_up(scored_ids: list[str | None], ratings: list[tuple]) -> None:
    scored = _scored(
        [(i, f"2026-03-0{k % 9 + 1}T00:00Z", str(k)) for k, i in enumerate(scored_ids)]
    )
    frame = pd.DataFrame(ratings, columns=["id", "rating", "rated_at"])
    joined, summary = join_ratings(scored, frame)
    assert _adds_up(summary)
    assert summary.ratings_read == len(ratings)
    assert len(joined) == summary.matched == joined["id"].nunique()
    assert set(joined["id"]) <= {i for i in scored_ids if i}


def test_realized_metrics_values_and_intervals() -> None:
    rng = np.random.default_rng(0)
    p = rng.beta(2, 6, 600)
    y = (rng.random(600) < p).astype(int)
    at_risk = p >= np.quantile(p, 0.9)
    metrics = realized_metrics(y, p, at_risk, n_boot=300, seed=3)
    assert metrics == realized_metrics(y, p, at_risk, n_boot=300, seed=3)  # seeded
    auc = metrics["roc_auc"]
    assert auc is not None and auc.value == pytest.approx(roc_auc_score(y, p))
    assert auc.low < auc.value < auc.high
    ap = metrics["average_precision"]
    assert ap is not None and ap.value == pytest.approx(average_precision_score(y, p))
    assert ap.low < ap.value < ap.high
    hits = int((at_risk & (y == 1)).sum())
    precision = metrics["precision_at_policy"]
    assert precision is not None
    assert (precision.low, precision.high) == pytest.approx(wilson(hits, int(at_risk.sum())))
    bad_rate = metrics["bad_rate"]
    assert bad_rate is not None and bad_rate.value == pytest.approx(y.mean())
    ece = metrics["ece"]
    assert ece is not None and 0 <= ece.low <= ece.high < 0.15
    assert metrics["rows"] is not None and metrics["rows"].value == 600


def test_bootstrap_weights_give_sklearns_average_precision() -> None:
    """Each resample's average precision is scikit-learn's on the resampled rows."""
    from cxml.monitoring.realized import _average_precision, _resample_weights

    rng = np.random.default_rng(1)
    p = np.round(rng.random(80), 1)  # ties
    y = (rng.random(80) < p).astype(int)
    weights = next(_resample_weights(80, 5, seed=2))
    for w, got in zip(weights, _average_precision(y, p, weights), strict=True):
        rows = np.repeat(np.arange(80), w.astype(int))
        assert got == pytest.approx(average_precision_score(y[rows], p[rows]))


def test_ece_of_ten_equal_count_bins_by_hand() -> None:
    p = np.repeat(np.linspace(0.05, 0.95, 10), 10)
    y = np.zeros(100, dtype=int)
    y[::10] = 1  # one bad per bin: observed 0.1 everywhere
    ece = realized_metrics(y, p, p > 0.5, n_boot=20)["ece"]
    assert ece is not None
    assert ece.value == pytest.approx(np.abs(0.1 - np.linspace(0.05, 0.95, 10)).mean())


def test_realized_metrics_with_one_class() -> None:
    metrics = realized_metrics(
        np.zeros(30, dtype=int), np.linspace(0, 0.5, 30), np.zeros(30), n_boot=50
    )
    assert metrics["roc_auc"] is None and metrics["average_precision"] is None
    assert metrics["precision_at_policy"] is None and metrics["recall_at_policy"] is None
    bad_rate = metrics["bad_rate"]
    assert bad_rate is not None and (bad_rate.value, bad_rate.low) == (0.0, 0.0)
    empty = realized_metrics([], [], [])
    assert empty["bad_rate"] is None and empty["ece"] is None
