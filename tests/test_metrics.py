"""CX metrics: values and intervals on hand-computed inputs, guards, segment x period tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, f1_score

from cxml.comments.themes import _GRID, tune_thresholds
from cxml.data.synth import make_comments, make_tickets
from cxml.errors import BadInputError
from cxml.metrics import (
    ces,
    churn,
    csat,
    fcr,
    first_contact_resolved,
    metric_table,
    nps,
    resolution_time,
    retention,
    scores,
)

Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval, in percent, from its textbook formula."""
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return 100 * (centre - half), 100 * (centre + half)


def test_csat_is_the_top_two_box_with_a_wilson_interval() -> None:
    result = csat([5, 5, 4, 4, 5, 4, 5, 4, 2, 1], min_count=1)
    assert result.value == pytest.approx(80.0)
    assert (result.ci_low, result.ci_high) == pytest.approx(wilson(8, 10))
    assert (result.ci_low, result.ci_high) == pytest.approx((49.02, 94.33), abs=0.01)
    assert (result.n, result.excluded, result.scale, result.note) == (10, 0, "1-5", None)


def test_csat_on_other_scales_and_good_ranges_excludes_what_is_off_scale() -> None:
    result = csat([7, 6, 5, 1, 0, 8, None, "x", np.nan], scale=(1, 7), min_count=1)
    assert (result.value, result.n, result.excluded, result.scale) == (50.0, 4, 5, "1-7")
    assert csat([5, 4, 3, 2], good=(3, 5), min_count=1).value == 75.0
    with pytest.raises(BadInputError, match="good"):
        csat([5], good=(4, 6))
    with pytest.raises(BadInputError, match="scale"):
        csat([5], scale=(5, 1))


def test_csat_from_good_and_bad_labels() -> None:
    result = csat(["good", "bad", " GOOD", "offered", None], scale="good/bad", min_count=1)
    assert result.value == pytest.approx(200 / 3)
    assert (result.n, result.excluded, result.scale) == (3, 2, "good/bad")


def test_nps_is_promoters_minus_detractors_with_the_multinomial_interval() -> None:
    result = nps([10, 10, 9, 9, 8, 7, 6, 0, None, 11, -1], min_count=1)
    assert result.value == pytest.approx(25.0)
    half = Z95 * math.sqrt((0.5 + 0.25 - 0.25**2) / 8)
    assert (result.ci_low, result.ci_high) == pytest.approx(
        (100 * (0.25 - half), 100 * (0.25 + half))
    )
    assert (result.n, result.excluded, result.scale) == (8, 3, "0-10")
    everyone = nps([10] * 40)
    assert (everyone.value, everyone.ci_low, everyone.ci_high) == (100.0, 100.0, 100.0)
    assert nps([9, 9, 0, 0, 0], min_count=1).value == pytest.approx(-20.0)


def test_answers_on_another_scale_are_refused_or_warned_about() -> None:
    """NPS of 1-5 answers was -100 with the interval [-100, -100], without a word."""
    one_to_five = [1, 2, 3, 4, 5] * 8
    with pytest.raises(BadInputError, match="all 40 ratings are between 1 and 5"):
        nps(one_to_five)
    with pytest.warns(UserWarning, match="too few ratings to be sure"):
        assert nps([2, 3, 5], min_count=1).value == -100.0
    assert nps(one_to_five, check_scale=False).value == -100.0
    zero_to_ten = list(range(11)) * 4
    with pytest.raises(BadInputError, match="20 of 44 ratings are above the CSAT scale 1-5"):
        csat(zero_to_ten)
    assert csat(zero_to_ten, scale=(0, 10)).n == 44
    assert csat([5, 4, 7, *[4] * 27]).excluded == 1  # one typo is excluded, not a scale


def test_metric_table_checks_the_scale_of_the_whole_column_once() -> None:
    frame = pd.DataFrame({"rating": [1, 2, 3, 4, 5] * 8, "region": ["a", "b"] * 20})
    with pytest.raises(BadInputError, match="for a 1-5 scale use the csat metric"):
        metric_table(frame, "nps", by=["region"], min_count=1)
    # A group may be all 1-5 (an unhappy region) when the column is on the 0-10 scale.
    frame.loc[frame["region"] == "b", "rating"] = 10
    table = metric_table(frame, "nps", by=["region"], min_count=1)
    assert table["value"].tolist() == [-100.0, 100.0]


def test_ces_is_a_mean_with_a_t_interval_and_records_its_scale() -> None:
    result = ces([1, 2, 3, 4, 5, 8, None], min_count=1)
    assert result.value == 3.0
    assert (result.ci_low, result.ci_high) == pytest.approx((1.0368, 4.9632), abs=1e-4)
    assert (result.scale, result.n, result.excluded) == ("1-7", 5, 2)
    assert ces([2, 3], scale=(1, 5), min_count=1).scale == "1-5"
    constant = ces([4, 4, 4], min_count=1)
    assert (constant.ci_low, constant.ci_high) == (4.0, 4.0)


def test_fewer_answers_than_min_count_give_nan_with_a_reason() -> None:
    short = csat([5] * 29)
    assert math.isnan(short.value) and math.isnan(short.ci_low) and math.isnan(short.ci_high)
    assert short.n == 29 and short.note == "fewer than 30 responses (29)"
    assert csat([5] * 30).value == 100.0
    assert csat([5] * 5, min_count=5).value == 100.0
    assert nps([None, "n/a"]).note == "no usable responses"
    with pytest.raises(BadInputError, match="min_count"):
        csat([5], min_count=0)
    with pytest.raises(BadInputError, match="confidence"):
        nps([5], confidence=95)


def test_first_contact_resolution_from_tickets_and_from_flags() -> None:
    tickets = pd.DataFrame(
        {
            "reopens": [0, 0, 1, 0, 0, None],
            "replies": [1, 0, 1, 3, 1, 1],
            "solved_at": ["2026-01-02T00:00:00"] * 4 + [None, "2026-01-02T00:00:00"],
        }
    )
    flags = first_contact_resolved(tickets)
    assert flags.tolist() == [True, True, False, False, pd.NA, pd.NA]
    result = fcr(tickets, min_count=1)
    assert (result.value, result.n, result.excluded) == (50.0, 4, 2)
    assert fcr(tickets, max_replies=3, min_count=1).value == 75.0
    labels = fcr([True, "yes", 0, "no", None, "maybe"], min_count=1)
    assert (labels.value, labels.n, labels.excluded) == (50.0, 4, 2)
    assert (labels.ci_low, labels.ci_high) == pytest.approx(wilson(2, 4))
    with pytest.raises(BadInputError, match="replies"):
        first_contact_resolved(tickets.drop(columns="replies"))


def test_resolution_time_in_hours_skips_open_bad_and_negative_tickets() -> None:
    created = ["2026-01-01T00:00:00"] * 5 + ["garbage", "2026-01-02T00:00:00"]
    solved = [
        "2026-01-01T01:00:00",
        "2026-01-01T02:00:00",
        "2026-01-01T03:00:00",
        "2026-01-01T10:00:00",
        None,
        "2026-01-01T05:00:00",
        "2026-01-01T00:00:00",
    ]
    mean = resolution_time(created, solved, statistic="mean", min_count=1)
    median = resolution_time(created, solved, min_count=1)
    assert (mean.metric, mean.value, mean.n, mean.excluded) == ("resolution_time_mean", 4.0, 4, 3)
    assert (median.metric, median.value, median.scale) == ("resolution_time_median", 2.5, "hours")
    start = pd.Timestamp("2026-01-01")
    hours = np.arange(1, 31)
    spread = resolution_time(
        [start] * 30, [start + pd.Timedelta(hours=h) for h in hours], min_count=1
    )
    # Order statistics 10 and 21 of 30 cover the median with at least 95 % probability.
    assert (spread.value, spread.ci_low, spread.ci_high) == (15.5, 10.0, 21.0)
    with pytest.raises(BadInputError, match="statistic"):
        resolution_time(created, solved, statistic="mode")  # type: ignore[arg-type]


def test_retention_and_churn_of_id_sets() -> None:
    result = retention(["a", "b", "c", "d", None, "a"], ["a", "b", "z"], min_count=1)
    assert (result.value, result.n, result.excluded) == (50.0, 4, 1)
    assert churn(["a", "b", "c"], ["a"], min_count=1).value == pytest.approx(200 / 3)


@pytest.fixture
def activity() -> pd.DataFrame:
    """Customers a-e over three months; one row has a bad time, one no customer id."""
    rows = [
        ("a", "north", "2026-01-05", False),
        ("a", "north", "2026-01-20", True),
        ("b", "north", "2026-01-07", False),
        ("c", "south", "2026-01-09", False),
        ("d", "south", "2026-01-11", True),
        ("a", "north", "2026-02-02", False),
        ("c", "north", "2026-02-03", False),
        ("e", "south", "2026-02-04", True),
        ("a", "north", "2026-03-01", False),
        ("b", "north", "not a date", False),
        (None, "south", "2026-02-10", False),
    ]
    return pd.DataFrame(rows, columns=["customer_id", "region", "created_at", "referred"])


def test_retention_and_churn_tables_follow_customers_into_the_next_period(
    activity: pd.DataFrame,
) -> None:
    table = metric_table(activity, "retention", period="M", min_count=1)
    assert [str(p) for p in table["period"]] == ["2026-01", "2026-02", "2026-03", "NaT"]
    assert table["value"].tolist()[:2] == pytest.approx([50.0, 100 / 3])
    assert table["n"].tolist() == [4, 3, 1, 0]
    assert table["excluded"].tolist() == [0, 1, 0, 1]
    assert math.isnan(table["value"].iloc[2]) and table["note"].iloc[2] == (
        "no next period in the data"
    )
    assert table["note"].iloc[3] == "missing or unparseable created_at"
    churned = metric_table(activity, "churn", period="M", min_count=1)
    assert churned["value"].tolist()[:2] == pytest.approx([50.0, 200 / 3])
    by_region = metric_table(activity, "retention", by=["region"], period="M", min_count=1)
    january = by_region[by_region["period"] == pd.Period("2026-01", "M")].set_index("region")
    assert january["value"].to_dict() == {"north": 50.0, "south": 50.0}


def test_referral_is_the_share_of_active_customers_who_referred(activity: pd.DataFrame) -> None:
    table = metric_table(activity, "referral", period="M", column="referred", min_count=1)
    assert table["value"].tolist()[:3] == pytest.approx([50.0, 100 / 3, 0.0])
    with pytest.raises(BadInputError, match="column"):
        metric_table(activity, "referral", period="M")
    with pytest.raises(BadInputError, match="period"):
        metric_table(activity, "retention")


def test_segment_by_period_table_counts_bad_times_and_missing_ratings() -> None:
    frame = pd.DataFrame(
        {
            "region": ["n", "n", "n", "s", "s", "s", "s"],
            "created_at": [
                "2026-01-03T10:00:00",
                "2026-01-20T10:00:00",
                "2026-02-01T09:00:00",
                "2026-01-05T08:00:00",
                "2026-01-06T08:00:00",
                "yesterday",
                "2026-02-07T08:00:00",
            ],
            "rating": [5, 1, 4, 4, None, 5, 9],
        }
    )
    table = metric_table(frame, "csat", by=["region"], period="M", min_count=1)
    assert list(table.columns) == [
        "region",
        "period",
        "metric",
        "value",
        "ci_low",
        "ci_high",
        "n",
        "excluded",
        "scale",
        "note",
    ]
    keyed = table.assign(period=[str(p) for p in table["period"]]).set_index(["region", "period"])
    assert keyed.loc[("n", "2026-01"), "value"] == 50.0
    assert keyed.loc[("n", "2026-02"), "value"] == 100.0
    assert keyed.loc[("s", "2026-01"), ["value", "n", "excluded"]].tolist() == [100.0, 1, 1]
    assert keyed.loc[("s", "2026-02"), "note"] == "no usable responses"
    unparsed = keyed.loc[("s", "NaT")]
    assert math.isnan(unparsed["value"]) and unparsed["excluded"] == 1
    assert unparsed["note"] == "missing or unparseable created_at"
    assert table["n"].sum() + table["excluded"].sum() == len(frame)
    guarded = metric_table(frame, "csat", by=["region"])
    assert guarded["value"].isna().all() and guarded["note"].str.startswith("fewer than").all()


def test_tables_on_generated_comments_cover_every_row() -> None:
    comments = make_comments(1500, seed=4)
    table = metric_table(comments, "csat", by=["region"], period="M")
    assert len(table) == comments["region"].nunique() * 6
    assert table["n"].sum() == len(comments)
    assert table["period"].dtype == "period[M]"
    guarded = table["n"] < 30
    assert guarded.any() and table.loc[guarded, "value"].isna().all()
    shown = table[~guarded]
    assert ((shown["ci_low"] <= shown["value"]) & (shown["value"] <= shown["ci_high"])).all()
    overall = metric_table(comments, "csat").iloc[0]
    assert overall["value"] == pytest.approx(100 * (comments["rating"] >= 4).mean())


def test_ticket_tables_match_the_scalar_metrics() -> None:
    tickets = make_tickets(1200, seed=2)
    table = metric_table(tickets, "fcr", by=["channel"])
    solved = tickets["solved_at"].notna()
    assert table["n"].sum() == solved.sum()
    assert table["excluded"].sum() == (~solved).sum()
    overall = metric_table(tickets, "fcr").iloc[0]
    assert overall["value"] == pytest.approx(fcr(tickets).value)
    times = metric_table(tickets, "resolution_time", period="Q", statistic="mean")
    assert set(times["metric"]) == {"resolution_time_mean"}
    assert (times["value"] > 0).all()


def test_metric_table_rejects_what_it_cannot_compute() -> None:
    frame = pd.DataFrame({"rating": [5, 4], "created_at": ["2026-01-01", "2026-01-02"]})
    with pytest.raises(BadInputError, match="metric must be one of"):
        metric_table(frame, "cast")  # type: ignore[arg-type]
    with pytest.raises(BadInputError, match="region"):
        metric_table(frame, "csat", by=["region"])
    with pytest.raises(BadInputError, match="period"):
        metric_table(frame, "csat", period="month")  # type: ignore[arg-type]
    with pytest.raises(BadInputError, match="no option"):
        metric_table(frame, "nps", scale=(0, 10))
    with pytest.raises(BadInputError, match="solved_at"):
        metric_table(frame, "resolution_time")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from("abcde")), min_size=1, max_size=40)
)
def test_macro_f1_is_scikit_learns(pairs: list[tuple[str, str]]) -> None:
    y, predicted = (np.array(column) for column in zip(*pairs, strict=True))
    expected = f1_score(y, predicted, average="macro", zero_division=0)
    assert scores.macro_f1(y, predicted) == pytest.approx(expected)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(2, 5), st.integers(0, 2**32 - 1))  # one column is "binary"
def test_micro_f1_is_scikit_learns(rows: int, labels: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    Y, P = rng.random((2, rows, labels)) < rng.random(2)[:, None, None]
    expected = f1_score(Y, P, average="micro", zero_division=0)
    assert scores.micro_f1(Y, P) == pytest.approx(expected)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 1), st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.7, 0.9, 1.0])),
        min_size=1,
        max_size=40,
    )
)
def test_average_precision_is_scikit_learns_ties_included(pairs: list[tuple[int, float]]) -> None:
    y, p = (np.array(column) for column in zip(*pairs, strict=True))
    if y.sum() == 0:  # scikit-learn warns and gives 0 (or -0.0)
        assert scores.average_precision(y, p) == 0.0
        return
    assert scores.average_precision(y, p) == pytest.approx(average_precision_score(y, p))


def test_theme_thresholds_maximise_scikit_learns_f1() -> None:
    rng = np.random.default_rng(4)
    Y = (rng.random((300, 4)) < [0.05, 0.2, 0.5, 0.0]).astype(int)
    proba = np.clip(Y * 0.4 + rng.random((300, 4)) * 0.6, 0, 1)
    found = tune_thresholds(Y, proba)
    assert found[3] == 0.5  # no positives
    for k in range(3):
        f1 = [f1_score(Y[:, k], proba[:, k] >= t, zero_division=0) for t in _GRID]
        best = _GRID[np.asarray(f1) >= max(f1) - 1e-9]
        assert found[k] == pytest.approx(float(np.median(best)))
