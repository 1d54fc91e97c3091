"""Binary CSAT is first class: a ticket's rating is 1-5 or good / bad everywhere (validation,
labels, the CSAT share, late ratings, the report), from one definition in cxml.contracts.ratings,
end to end through the command line: train -> score -> report -> monitor with ratings."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sklearn.metrics import roc_auc_score

from cxml.config import CsatLabelsConfig
from cxml.contracts.fields import COMMENTS, POST_SURVEY_FIELDS, TICKETS
from cxml.contracts.ratings import DEFAULT_BAD_RATINGS, binary_scale, is_bad, parse_rating
from cxml.data import read_valid, write_table
from cxml.data.synth import make_comments, make_tickets
from cxml.data.validate import Validator
from cxml.errors import BadInputError
from cxml.metrics import metric_table
from cxml.metrics.cx import csat
from cxml.monitoring.realized import join_ratings
from cxml.report import build_report
from cxml.training.csat import bad_labels
from tests.helpers import run_cli

Z95 = 1.959963984540054


@pytest.mark.parametrize(
    ("value", "rating"),
    [
        (4, 4),
        (1.0, 1),
        (np.int64(5), 5),
        (" 3 ", 3),
        ("2.0", 2),
        ("good", "good"),
        (" BAD ", "bad"),
        ("Good", "good"),
        (None, None),
        (float("nan"), None),
        ("  ", None),
    ],
)
def test_a_rating_is_a_whole_number_1_to_5_or_good_or_bad(value: Any, rating: Any) -> None:
    assert parse_rating(value) == (rating, "")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (7, "outside 1..5 (got 7)"),
        (0, "outside 1..5 (got 0)"),
        (4.5, "not a whole number (got 4.5)"),
        ("meh", "not 1-5, good or bad (got 'meh')"),
        ("satisfied", "not 1-5, good or bad (got 'satisfied')"),
        ("offered", "not 1-5, good or bad (got 'offered')"),
        (True, "not 1-5, good or bad (got True)"),
        ([4], "not 1-5, good or bad (got [4])"),
        ("inf", "not a whole number (got 'inf')"),
    ],
)
def test_anything_else_is_no_rating_and_says_why(value: Any, reason: str) -> None:
    assert parse_rating(value) == (None, reason)


def _expected(value: Any) -> Any:
    """What the validator keeps of one rating ("missing" for none), or "reject"; written
    independently of :func:`parse_rating`."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "missing"
    if isinstance(value, str) and not value.strip():
        return "missing"
    if isinstance(value, str) and value.strip().lower() in ("good", "bad"):
        return value.strip().lower()
    if isinstance(value, bool | list):
        return "reject"
    try:
        number = float(value)
    except ValueError:
        return "reject"
    return int(number) if number in (1.0, 2.0, 3.0, 4.0, 5.0) else "reject"


HOSTILE = st.one_of(
    st.integers(-3, 12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["good", " BAD ", "Good", "satisfied", "4.0", "offered", "", " 5", "1e0"]),
    st.text(max_size=5),
    st.booleans(),
    st.none(),
    st.lists(st.integers(1, 5), max_size=2),
)


@settings(max_examples=50, deadline=None)
@given(values=st.lists(HOSTILE, min_size=1, max_size=30))
def test_every_hostile_rating_is_kept_or_rejected_with_a_reason(values: list[Any]) -> None:
    n = len(values)
    frame = pd.DataFrame(
        {
            "_row": np.arange(1, n + 1),
            "ticket_id": [f"t{i}" for i in range(n)],
            "created_at": ["2026-03-02T09:00:00Z"] * n,
            "rating": pd.Series(values, dtype=object),
        }
    )
    validator = Validator(TICKETS, source="hostile.jsonl")
    good, rejected = validator.validate(frame)
    assert len(good) + len(rejected) == n == validator.summary.rows
    expected = [_expected(v) for v in values]
    kept = dict(zip(good["_row"].tolist(), good["rating"].tolist(), strict=True))
    for row, want in enumerate(expected, start=1):
        if want == "reject":
            assert row not in kept
        elif want == "missing":
            assert pd.isna(kept[row])
        else:
            assert kept[row] == want and type(kept[row]) is type(want)
    assert (rejected["_field"] == "rating").all()
    assert all(reason.startswith("rating: ") for reason in rejected["_reason"])


def test_a_validated_column_is_whole_numbers_or_labels() -> None:
    def validated(ratings: list[Any]) -> pd.Series:
        frame = pd.DataFrame(
            {"_row": [1, 2], "ticket_id": ["a", "b"], "created_at": "2026-03-02", "rating": ratings}
        )
        return Validator(TICKETS, source="t.csv").validate(frame)[0]["rating"]

    assert validated(["5", None]).dtype == "Int64"
    labels = validated(["Good", None])
    assert labels.tolist()[0] == "good" and pd.isna(labels.iloc[1])
    assert COMMENTS.field("rating").kind == "int"  # comment surveys stay 0-10
    assert "rated_at" in POST_SURVEY_FIELDS


def test_bad_ratings_config_keeps_1_to_5_and_makes_good_bad_work() -> None:
    assert CsatLabelsConfig().bad_ratings == [1, 2, "bad"] == list(DEFAULT_BAD_RATINGS)
    assert CsatLabelsConfig(bad_ratings=[" Bad", 2.0, "1"]).bad_ratings == ["bad", 2, 1]
    for wrong, message in [
        ([7], "outside 1..5"),
        (["meh"], "'meh' is not one"),
        ([], "empty"),
        ([1, 2, 3, 4, 5], "none is good"),
        (["good", "bad"], "none is good"),
    ]:
        with pytest.raises(ValidationError, match=message):
            CsatLabelsConfig(bad_ratings=wrong)


def test_which_ratings_are_bad_is_said_once() -> None:
    ratings = pd.Series([1, 4, "bad", "Good", None, "3", 2.0], dtype=object)
    expected = [True, False, True, False, False, False, True]
    assert is_bad(ratings).tolist() == expected
    assert bad_labels(ratings, [1, 2, "bad"]).tolist() == [int(b) for b in expected]
    assert is_bad(pd.Series([1, 2, 3]), [3]).tolist() == [False, False, True]
    with pytest.raises(BadInputError, match="good / bad labels but bad_ratings \\[1, 2\\]"):
        bad_labels(pd.Series(["good", "bad"]), [1, 2])
    with pytest.raises(BadInputError, match="1-5 scores but bad_ratings \\['bad'\\]"):
        is_bad(pd.Series([1, 5]), ["bad"])


def test_csat_share_of_good_answers_with_the_wilson_interval() -> None:
    answers = ["good"] * 30 + ["bad"] * 10 + ["offered", None]
    result = csat(answers)
    p, n = 0.75, 40
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n**2)) / (1 + Z95**2 / n)
    assert result.value == pytest.approx(75.0)
    assert (result.ci_low, result.ci_high) == pytest.approx(
        (100 * (centre - half), 100 * (centre + half))
    )
    assert (result.n, result.excluded, result.scale) == (40, 2, "good/bad")
    frame = pd.DataFrame({"region": ["a", "b"] * 21, "rating": answers})
    as_numbers = frame.assign(rating=frame["rating"].map({"good": 5, "bad": 1}))
    binary = metric_table(frame, "csat", by=["region"], min_count=1)
    scaled = metric_table(as_numbers, "csat", by=["region"], min_count=1)
    columns = ["region", "value", "ci_low", "ci_high", "n"]
    pd.testing.assert_frame_equal(binary[columns], scaled[columns])
    assert set(binary["scale"]) == {"good/bad"} and set(scaled["scale"]) == {"1-5"}


def test_a_column_mixing_both_scales_is_a_clear_error() -> None:
    mixed = pd.DataFrame({"rating": [5, 4, "good", "bad", 1]})
    with pytest.raises(BadInputError, match="column 'rating' mix numbers \\(3\\) and good / bad"):
        metric_table(mixed, "csat")
    with pytest.raises(BadInputError, match="mix"):
        csat(mixed["rating"])
    assert binary_scale(["good", "offered", None]) and not binary_scale([1, "4", None])


def test_late_binary_ratings_join_and_count() -> None:
    scored = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "scored_at": pd.to_datetime(["2026-03-01T10:00Z"] * 4, utc=True),
            "model_version": "1",
            "bad_rating_probability": [0.9, 0.2, 0.6, 0.1],
        }
    )
    ratings = pd.DataFrame(
        {"id": ["a", "b", "c", "d", "a", "x"], "rating": ["bad", "good", " Bad", "meh", "bad", 4]}
    )
    joined, summary = join_ratings(scored, ratings)
    assert (summary.matched, summary.duplicate_ratings, summary.missing_rating) == (3, 1, 1)
    assert summary.unknown_ids == 1 and summary.reasons == {"not a rating 1-5, good or bad": 1}
    by_id = joined.set_index("id")
    assert by_id["rating"].to_dict() == {"a": "bad", "b": "good", "c": "bad"}
    assert by_id["bad"].to_dict() == {"a": True, "b": False, "c": True}


def test_generated_binary_ratings_are_the_drawn_outcome() -> None:
    numbers = make_tickets(1500, seed=21, open_share=0.1)
    labels = make_tickets(1500, seed=21, open_share=0.1, binary_ratings=True)
    pd.testing.assert_frame_equal(labels.drop(columns="rating"), numbers.drop(columns="rating"))
    rated = numbers["rating"].notna()
    assert labels["rating"].isna().equals(~rated)
    expected = np.where(numbers.loc[rated, "rating"] <= 2, "bad", "good")
    assert (labels.loc[rated, "rating"].to_numpy() == expected).all()


def test_the_report_shows_binary_csat_and_the_rating_counts(tmp_path: Path) -> None:
    comments, _, _ = read_valid(
        write_table(make_comments(300, seed=2), tmp_path / "c.csv"), COMMENTS
    )
    tickets = make_tickets(600, seed=3, binary_ratings=True)
    result = build_report(comments, out=tmp_path / "r" / "report.html", tickets=tickets)
    html = result.html.read_text(encoding="utf-8")
    assert "CSAT: good ratings of the good and bad" in html
    counts = pd.read_csv(result.tables["ticket_ratings"])
    truth = tickets["rating"].value_counts()
    assert counts.set_index("rating")["tickets"].to_dict() == {
        "good": truth["good"],
        "bad": truth["bad"],
    }
    over_time = pd.read_csv(result.tables["tickets_over_time"])
    assert set(over_time.loc[over_time["metric"] == "csat", "scale"]) == {"good/bad"}
    mixed = tickets.assign(rating=tickets["rating"].where(tickets.index % 2 == 0, 5))
    with pytest.raises(BadInputError, match="ticket ratings mix"):
        build_report(comments, out=tmp_path / "m" / "report.html", tickets=mixed)


@pytest.mark.slow
def test_binary_csat_end_to_end_through_the_command_line() -> None:
    """train -> score -> report -> monitor with late ratings, on good / bad tickets."""

    def cli(*args: str, code: int = 0) -> Any:
        done = run_cli(*args, timeout=600)
        assert done.returncode == code, done.stderr
        return done

    cli("data", "synth", "tickets", "-o", "train.csv", "--n", "3000", "--binary-ratings")
    trained = cli("train", "csat", "--data", "train.csv")
    auc = re.search(r"ROC-AUC (\d\.\d+)", trained.stdout + trained.stderr)
    assert auc is not None and float(auc.group(1)) > 0.7
    cli(
        "data", "synth", "tickets", "-o", "new.csv", "--weeks", "4", "--per-week", "250",
        "--start", "2026-07-06", "--seed", "5", "--binary-ratings",
    )  # fmt: skip
    cli("score", "tickets", "new.csv", "-o", "scored.csv")
    new, scored = pd.read_csv("new.csv"), pd.read_csv("scored.csv")
    bad = (new["rating"] == "bad").to_numpy()
    assert roc_auc_score(bad, scored["bad_rating_probability"]) > 0.7
    cli("data", "synth", "comments", "-o", "comments.csv", "--n", "300")
    cli("report", "comments.csv", "--tickets", "scored.csv", "-o", "report/report.html")
    counts = pd.read_csv("report/ticket_ratings.csv").set_index("rating")["tickets"]
    assert counts.to_dict() == new["rating"].value_counts().to_dict()
    monitored = cli(
        "monitor", "tickets", "--scored", "scored.csv", "--ratings", "new.csv", "--json",
        "--no-track", code=0,
    )  # fmt: skip
    result = json.loads(monitored.stdout)
    assert result["ratings"]["matched"] == result["ratings"]["ratings_read"] == len(new)
    periods = pd.DataFrame(result["periods"])
    realized_bad = (periods["realized_bad_rate"] * periods["rated"]).sum()
    assert realized_bad == pytest.approx(bad.sum())
    # a 1-5 setting on good / bad data is refused, not trained on all-good labels
    refused = cli(
        "train", "csat", "--data", "train.csv", "--set", "labels.bad_ratings=[1,2]", code=2
    )
    assert "names none of them" in refused.stderr
    write_table(new.assign(rating=new["rating"].where(new.index % 2 == 0, "4")), "mixed.csv")
    mixed = cli("metrics", "mixed.csv", "--kind", "tickets", code=2)
    assert "mix numbers" in mixed.stderr
