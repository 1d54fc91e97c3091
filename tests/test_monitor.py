"""The monitoring job: quiet periods stay quiet, changes alert in their week and say what moved,
rescored tickets count once, late ratings join with every row accounted for, and estimates
track the realized figures on calibrated data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxml.data.synth import Drift, make_comments
from cxml.errors import BadInputError
from cxml.monitoring.inputs import DriftInputs, drift_inputs
from cxml.monitoring.job import tidy
from cxml.monitoring.log import log_frame
from cxml.monitoring.monitor import monitor
from cxml.monitoring.profile import build_profile

WEEK0 = pd.Timestamp("2026-03-02", tz="UTC")  # a Monday


def _comment_log(frame: pd.DataFrame, version: str = "1") -> pd.DataFrame:
    """Generated comments as a sentiment model's log rows (its labels as the outputs)."""
    outputs = pd.DataFrame(
        {
            "sentiment": frame["sentiment"].to_numpy(),
            "sentiment_score": np.where(frame["sentiment"] == "positive", 0.8, -0.6),
            "model_name": "cxml-sentiment",
            "model_version": version,
        }
    )
    drift = drift_inputs("sentiment", None, frame)
    return log_frame("sentiment", outputs, frame["id"].tolist(), drift, frame["created_at"])


def _comment_profile(frame: pd.DataFrame):  # type: ignore[no-untyped-def]
    log = _comment_log(frame)
    return build_profile(
        "sentiment",
        drift_inputs("sentiment", None, frame),
        log[["sentiment", "sentiment_score"]],
        {"val_macro_f1": 0.8},
    )


@pytest.fixture(scope="module")
def reference():  # type: ignore[no-untyped-def]
    frame = make_comments(3000, lang="mixed", seed=1, start="2026-01-05", days=56, spike=False)
    return _comment_profile(frame)


def _stream(seed: int, drift: Drift | None = None) -> pd.DataFrame:
    return make_comments(
        6 * 700, lang="mixed", seed=seed, start="2026-03-02", days=42, spike=False, drift=drift
    )


def test_quiet_weeks_raise_no_alert(reference) -> None:  # type: ignore[no-untyped-def]
    result = monitor(_comment_log(_stream(11)), reference, period="W")
    assert len(result.periods) == 6
    assert result.alerts == []
    assert set(result.tests["kind"]) >= {"category", "number", "vocabulary", "prediction"}
    assert (result.tests["threshold"] > 0).all()


def test_a_language_change_alerts_from_its_week_and_says_what_moved(reference) -> None:  # type: ignore[no-untyped-def]
    stream = _stream(12, Drift("language_mix", week=3))
    result = monitor(_comment_log(stream), reference, period="W")
    weeks = sorted({a.period for a in result.alerts})
    assert weeks[0] == (WEEK0 + pd.Timedelta(weeks=3)).strftime("%Y-%m-%d")
    lang = [a for a in result.alerts if a.test == "lang"]
    assert lang and all(a.message.startswith("lang: ko 3") for a in lang)
    assert "-> 4" in lang[0].message or "-> 5" in lang[0].message
    assert result.periods["alerts"].iloc[:3].sum() == 0


def test_rescored_rows_count_once_and_other_versions_are_left_out(reference) -> None:  # type: ignore[no-untyped-def]
    log = _comment_log(_stream(13))
    again = log.head(50).assign(scored_at=log["scored_at"].head(50) + pd.Timedelta(minutes=1))
    other = _comment_log(_stream(14).head(30), version="2")
    result = monitor(pd.concat([log, again, other]), reference, model_version="1")
    assert result.counts == {"rows_read": len(log) + 80, "other_versions": 30, "no_time": 0}
    assert result.periods["rows"].sum() == len(log)
    assert result.periods["rescored"].sum() == 50


def test_ratings_join_only_ticket_models(reference) -> None:  # type: ignore[no-untyped-def]
    ratings = pd.DataFrame({"id": ["c1"], "rating": [1]})
    with pytest.raises(BadInputError, match="ticket models"):
        monitor(_comment_log(_stream(15)), reference, ratings=ratings)
    with pytest.raises(BadInputError, match="alpha"):
        monitor(_comment_log(_stream(15)), reference, alpha=1.5)


# --- ticket figures on calibrated synthetic scores ---------------------------------------------


def _ticket_rows(n: int, seed: int, start: pd.Timestamp, days: int, shift: float = 0.0):  # type: ignore[no-untyped-def]
    """Calibrated probabilities and their outcomes: ``y ~ Bernoulli(p)``."""
    rng = np.random.default_rng(seed)
    score = rng.normal(-1.3 + shift, 1.1, n)
    p = 1 / (1 + np.exp(-score))
    y = rng.random(n) < p
    channel = rng.choice(["email", "chat", "phone"], n, p=[0.5, 0.3, 0.2])
    replies = rng.poisson(2.0, n).astype(float)
    drift = DriftInputs(
        pd.DataFrame({"replies": replies}),
        pd.DataFrame({"channel": channel}, dtype=object),
        [[int(v)] for v in rng.integers(0, 300, n)],
    )
    outputs = pd.DataFrame(
        {
            "bad_rating_probability": p,
            "at_risk": p >= 0.5,
            "reasons": [[] for _ in range(n)],
            "model_name": "cxml-csat",
            "model_version": "4",
        }
    )
    times = start + pd.to_timedelta(rng.uniform(0, days * 24, n), unit="h")
    ids = [f"T{seed}-{i}" for i in range(n)]
    return outputs, drift, ids, pd.Series(times), y


@pytest.fixture(scope="module")
def ticket_reference():  # type: ignore[no-untyped-def]
    outputs, drift, _, _, _ = _ticket_rows(4000, 1, WEEK0 - pd.Timedelta(weeks=4), 28)
    return build_profile("csat", drift, outputs, {"val_roc_auc": 0.78}, policy={"threshold": 0.5})


def test_estimates_track_the_realized_figures_on_calibrated_scores(ticket_reference) -> None:  # type: ignore[no-untyped-def]
    outputs, drift, ids, times, y = _ticket_rows(8 * 1500, 2, WEEK0, 56)
    log = log_frame("csat", outputs, ids, drift, times)
    ratings = pd.DataFrame({"id": ids, "rating": np.where(y, 1, 5)})
    result = monitor(log, ticket_reference, ratings=ratings)
    periods = result.periods
    assert len(periods) == 8 and result.alerts == []
    assert (periods["estimated_bad_rate"] - periods["realized_bad_rate"]).abs().max() < 0.03
    assert (periods["estimated_roc_auc"] - periods["realized_roc_auc"]).abs().max() < 0.04
    inside = (periods["realized_bad_rate_low"] <= periods["estimated_bad_rate"]) & (
        periods["estimated_bad_rate"] <= periods["realized_bad_rate_high"]
    )
    assert inside.mean() >= 0.75
    assert result.join is not None and result.join.matched == len(ids)


def test_late_ratings_are_all_accounted_for(ticket_reference) -> None:  # type: ignore[no-untyped-def]
    outputs, drift, ids, times, y = _ticket_rows(2000, 3, WEEK0, 14)
    log = log_frame("csat", outputs, ids, drift, times)
    ratings = pd.DataFrame(
        {
            "id": [*ids[:300], ids[0], ids[1], "nobody", "T3-5", None, ids[2]],
            "rating": [*np.where(y[:300], 2, 4), 2 if y[0] else 4, 5, 1, "", 3, 9],
        }
    )
    result = monitor(log, ticket_reference, ratings=ratings)
    join = result.join
    assert join is not None
    assert join.ratings_read == len(ratings)
    counted = (
        join.matched
        + join.unknown_ids
        + join.duplicate_ratings
        + join.rerated
        + join.missing_rating
    )
    assert counted == join.ratings_read
    assert join.unknown_ids == 1 and join.missing_rating == 3
    assert result.periods["rated"].sum() == join.matched == 300


def test_a_worse_mix_of_tickets_alerts_on_predictions_and_expected_auc(ticket_reference) -> None:  # type: ignore[no-untyped-def]
    outputs, drift, ids, times, _ = _ticket_rows(1500, 4, WEEK0, 7, shift=1.0)
    result = monitor(log_frame("csat", outputs, ids, drift, times), ticket_reference)
    fired = {a.test for a in result.alerts}
    assert "bad_rating_probability" in fired
    table = tidy(result)
    assert {"count", "estimated", "prediction"} <= set(table["kind"])
    assert table.loc[table["name"] == "bad_rating_probability", "alert"].all()
