"""Driver analysis: hand-computed impacts, a planted driver found, guards and inputs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from cxml.data.synth import make_comments
from cxml.errors import BadInputError
from cxml.metrics import DRIVER_COLUMNS, driver_table


def planted(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    """Comments where billing drives bad ratings, staff prevents them and price does nothing."""
    rng = np.random.default_rng(seed)
    billing, price, staff = (rng.random(n) < share for share in (0.25, 0.3, 0.3))
    rare = np.arange(n) < 12
    bad = rng.random(n) < np.select([billing, staff], [0.6, 0.05], 0.2)
    rating = np.where(bad, rng.choice([1, 2], n), rng.choice([3, 4, 5], n, p=[0.2, 0.4, 0.4]))
    names = ("billing", "price", "staff", "rare")
    themes = [
        [t for t, on in zip(names, row, strict=True) if on]
        for row in zip(billing, price, staff, rare, strict=True)
    ]
    return pd.DataFrame({"themes": themes, "rating": rating})


def test_impact_and_bad_rates_on_a_hand_computed_example() -> None:
    frame = pd.DataFrame(
        {"themes": [["a"], ["a", "b"], ["b"], [], ["b"]], "rating": [1, 2, 5, 4, 5]}
    )
    table = driver_table(frame, min_count=1).set_index("theme")
    assert list(table.index) == ["a", "b"]  # a costs 40 points, b adds 10
    assert table.loc["a", ["count", "share", "score_with", "score_without"]].tolist() == [
        2,
        40.0,
        0.0,
        100.0,
    ]
    assert table.loc["a", "impact"] == pytest.approx(60.0 - 100.0)
    assert table.loc["b", "impact"] == pytest.approx(60.0 - 50.0)
    assert table.loc["b", ["bad_with", "bad_without"]].tolist() == pytest.approx([100 / 3, 50.0])
    # Fisher exact on [[2, 0], [0, 3]]: one table in C(5, 2) = 10 is as extreme, both tails.
    assert table.loc["a", "p_value"] == pytest.approx(0.1)


def test_nps_drivers_use_promoters_and_detractors() -> None:
    frame = pd.DataFrame(
        {"themes": [["a"], ["a", "b"], ["b"], [], ["b"]], "rating": [0, 6, 10, 9, 8]}
    )
    table = driver_table(frame, score="nps", min_count=1).set_index("theme")
    assert table.loc["a", "score_with"] == -100.0
    assert table.loc["a", "impact"] == pytest.approx(0.0 - 200 / 3)
    assert table.loc["a", "bad_with"] == 100.0


def test_a_planted_driver_ranks_first_and_a_neutral_theme_is_not_significant() -> None:
    table = driver_table(planted()).set_index("theme")
    assert list(table.columns) == list(DRIVER_COLUMNS[1:])
    assert list(table.index) == ["billing", "price", "staff", "rare"]
    assert table.loc["billing", "impact"] < -5
    assert table.loc["billing", "q_value"] < 0.05
    assert table.loc["staff", "impact"] > 0 and table.loc["staff", "q_value"] < 0.05
    assert table.loc["price", "q_value"] > 0.05
    importance = table["importance"]
    assert importance.idxmax() == "billing" and importance.dropna().sum() == pytest.approx(100.0)
    assert importance["price"] < 2


def test_rare_themes_keep_their_volume_but_get_no_statistics() -> None:
    rare = driver_table(planted()).set_index("theme").loc["rare"]
    assert (rare["count"], rare["note"]) == (12, "fewer than 30 comments")
    stats = ["score_with", "impact", "bad_with", "p_value", "q_value", "importance"]
    assert rare[stats].isna().all()


def test_themes_that_always_co_occur_share_their_importance() -> None:
    frame = planted()
    frame["themes"] = [[*t, "invoice"] if "billing" in t else t for t in frame["themes"]]
    table = driver_table(frame).set_index("theme")
    assert table.loc["billing", "importance"] == pytest.approx(table.loc["invoice", "importance"])
    assert table.loc["billing", "importance"] > 40


def shapley_r2(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Dominance analysis by brute force: each column's Shapley share (%) of the OLS R²."""
    k = x.shape[1]

    def r2(columns: list[int]) -> float:
        design = np.column_stack([np.ones(len(y)), x[:, columns]])
        residual = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
        return float(1 - (residual**2).sum() / ((y - y.mean()) ** 2).sum())

    shares = np.zeros(k)
    for j in range(k):
        others = [i for i in range(k) if i != j]
        for size in range(k):
            weight = math.factorial(size) * math.factorial(k - size - 1) / math.factorial(k)
            for subset in itertools.combinations(others, size):
                shares[j] += weight * (r2([*subset, j]) - r2(list(subset)))
    return 100 * shares / shares.sum()


def test_importance_of_correlated_themes_tracks_dominance_analysis() -> None:
    rng = np.random.default_rng(0)
    n = 1500
    billing = rng.random(n) < 0.3
    invoice = np.where(billing, rng.random(n) < 0.7, rng.random(n) < 0.1)
    price = rng.random(n) < 0.3
    bad = rng.random(n) < 0.1 + 0.3 * billing + 0.2 * invoice + 0.05 * price
    names = ["billing", "invoice", "price"]
    themes = [
        [t for t, on in zip(names, row, strict=True) if on]
        for row in zip(billing, invoice, price, strict=True)
    ]
    frame = pd.DataFrame({"themes": themes, "rating": np.where(bad, 1, 5)})
    importance = driver_table(frame).set_index("theme").loc[names, "importance"]
    x = np.column_stack([billing, invoice, price]).astype(float)
    np.testing.assert_allclose(importance, shapley_r2(x, bad.astype(float)), atol=0.5)


def test_missing_and_off_scale_ratings_are_left_out() -> None:
    frame = planted(300)
    noisy = pd.concat(
        [frame, pd.DataFrame({"themes": [["billing"]] * 3, "rating": [None, 0, 7]})],
        ignore_index=True,
    )
    expected = driver_table(frame)
    pd.testing.assert_frame_equal(driver_table(noisy), expected)


def test_sentiment_mix_comes_from_theme_sentiment() -> None:
    comments = make_comments(2000, seed=1)
    table = driver_table(comments).set_index("theme")
    # The generator makes waiting_time negative 72 % of the time and staff_service 28 %.
    assert table.loc["waiting_time", "negative"] == pytest.approx(72, abs=6)
    assert table.loc["staff_service", "negative"] == pytest.approx(28, abs=6)
    assert table.loc["staff_service", "impact"] > 0 > table.loc["waiting_time", "impact"]
    assert table.index[0] == "waiting_time"
    assert table["q_value"].iloc[0] < 0.05
    without = driver_table(comments.drop(columns="theme_sentiment"))
    assert without["negative"].isna().all() and without["positive"].isna().all()


def test_themes_and_theme_sentiment_in_every_form_a_file_gives_back() -> None:
    """Lists, arrays and pairs (Parquet), JSON text (CSV), ``a;b``: one reading, the validator's."""
    themes = [["a", "b"], np.array(["a"]), '["b"]', "a;b", None]
    maps = [
        {"a": "negative", "b": "positive"},
        [("a", "negative")],
        '{"b": "positive"}',
        np.array([["a", "negative"], ["b", "negative"]], dtype=object),
        [],
    ]
    frame = pd.DataFrame({"themes": themes, "theme_sentiment": maps, "rating": [1, 2, 5, 1, 4]})
    table = driver_table(frame, min_count=1).set_index("theme")
    assert table["count"].to_dict() == {"a": 3, "b": 3}
    assert table.loc["a", ["negative", "positive"]].tolist() == [100.0, 0.0]
    assert table.loc["b", ["negative", "positive"]].tolist() == pytest.approx([100 / 3, 200 / 3])


def test_ratings_on_another_scale_are_refused() -> None:
    csat_answers = planted(100)
    with pytest.raises(BadInputError, match="between 1 and 5, but NPS answers are 0-10"):
        driver_table(csat_answers, score="nps")
    nps_answers = csat_answers.assign(rating=np.arange(100) % 11)
    with pytest.raises(BadInputError, match="above the CSAT scale 1-5"):
        driver_table(nps_answers)


def test_inputs_that_cannot_be_read_are_errors() -> None:
    with pytest.raises(BadInputError, match=r"column 'themes', row 2: not a JSON list"):
        driver_table(pd.DataFrame({"themes": [["a"], "[oops"], "rating": [5, 4]}))
    frame = pd.DataFrame({"themes": [["a"]] * 2, "theme_sentiment": [{}, {"a": "meh"}]})
    with pytest.raises(BadInputError, match=r"'theme_sentiment', row 2: polarities"):
        driver_table(frame.assign(rating=[5, 4]))
    with pytest.raises(BadInputError, match="rating"):
        driver_table(pd.DataFrame({"themes": [["a"]]}))
    with pytest.raises(BadInputError, match="score"):
        driver_table(planted(50), score="ces")  # type: ignore[arg-type]
    empty = driver_table(pd.DataFrame({"themes": [[], None], "rating": [5, 1]}))
    assert list(empty.columns) == list(DRIVER_COLUMNS) and empty.empty
