"""Driver analysis: which themes of analysed comments move CSAT or NPS, and how surely.

For each theme, over the comments with a usable rating:

* **volume**: comments mentioning it (``count``) and their percentage (``share``);
* **sentiment mix**: percentages of its mentions that are ``negative`` and ``positive`` (from
  ``theme_sentiment`` when the frame has it);
* **score with / without**: CSAT (%) or NPS (points) of the comments with and without the theme;
* **impact**: the overall score minus the score without the theme's comments, in points. Negative
  means the theme pulls the score down: without its comments the score would be ``-impact`` points
  higher;
* **bad rate with / without**: percentages of bad ratings (the bottom two points of the CSAT scale,
  or NPS detractors 0-6), with a two-sided Fisher exact test of the difference (``p_value``) and
  Benjamini-Hochberg adjusted ``q_value`` across the tested themes;
* **importance**: each theme's share (%) of the variance in bad ratings that all tested themes
  explain together, by Johnson's relative weights (J. W. Johnson, 2000, *Multivariate Behavioral
  Research* 35(1)) on the 0/1 theme indicators. Relative weights split the explained variance
  among co-occurring themes and closely track dominance analysis at a fraction of its cost.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.preprocessing import MultiLabelBinarizer

from cxml.contracts.labels import label_lists, label_maps
from cxml.errors import BadInputError
from cxml.metrics.cx import _check_scale, _good_range, _on_scale, _require

__all__ = ["DRIVER_COLUMNS", "driver_table"]

#: Columns of :func:`driver_table`.
DRIVER_COLUMNS = (
    "theme",
    "count",
    "share",
    "negative",
    "positive",
    "score_with",
    "score_without",
    "impact",
    "bad_with",
    "bad_without",
    "p_value",
    "q_value",
    "importance",
    "note",
)


def driver_table(
    comments: pd.DataFrame,
    *,
    score: Literal["csat", "nps"] = "csat",
    scale: tuple[int, int] = (1, 5),
    rating: str = "rating",
    themes: str = "themes",
    theme_sentiment: str = "theme_sentiment",
    min_count: int = 30,
) -> pd.DataFrame:
    """Rank themes by how much they pull the score down.

    Parameters
    ----------
    comments : DataFrame
        Analysed comments: ``themes`` (theme names, missing = none), ``rating`` and, when
        present, ``theme_sentiment`` (theme -> negative / neutral / positive / conflict). Both
        are read as :class:`cxml.data.Validator` reads them (lists, arrays, JSON text, ``a;b``;
        dicts or ``[theme, polarity]`` pairs); a value it would reject is a
        :class:`BadInputError` naming the column and row.
    score : {"csat", "nps"}, default="csat"
        CSAT: good = the top two points of ``scale``, bad = the bottom two. NPS: ratings 0-10,
        bad = detractors. Ratings on another scale are refused as by :func:`cxml.metrics.csat`
        and :func:`cxml.metrics.nps`.
    scale : (int, int), default=(1, 5)
        CSAT answer scale; ratings outside it (or missing) are left out.
    rating, themes, theme_sentiment : str
        Column names.
    min_count : int, default=30
        Fewest comments mentioning a theme for it to be scored and tested; rarer themes keep
        their volume and get a note.

    Returns
    -------
    DataFrame
        Columns :data:`DRIVER_COLUMNS` (see the module docstring), one row per theme, sorted by
        ``impact`` (most negative first), themes under ``min_count`` last.
    """
    if score not in ("csat", "nps"):
        raise BadInputError(f"score must be 'csat' or 'nps', got {score!r}")
    if min_count < 1:
        raise BadInputError(f"min_count must be at least 1, got {min_count!r}")
    _require(comments, [rating, themes])
    answers = scale if score == "csat" else (0, 10)
    values, valid = _on_scale(comments[rating], answers)
    _check_scale(score, values, answers, column=rating)
    theme_lists = label_lists(comments[themes], themes)
    values = values[valid]
    if score == "csat":
        good_lo, _ = _good_range(scale, None)
        points = 100.0 * (values >= good_lo)
        bad = values <= scale[0] + 1
    else:
        points = 100.0 * (values >= 9) - 100.0 * (values <= 6)
        bad = values <= 6
    binarizer = MultiLabelBinarizer()
    rated_lists = [labels for labels, ok in zip(theme_lists, valid, strict=True) if ok]
    indicators = binarizer.fit_transform(rated_lists).astype(bool)
    names = [str(t) for t in binarizer.classes_]
    if not names:
        return pd.DataFrame(columns=list(DRIVER_COLUMNS))

    count = indicators.sum(axis=0)
    n_rated = len(points)
    table = pd.DataFrame({"theme": names, "count": count, "share": 100 * count / n_rated})
    mix = _sentiment_mix(comments, theme_sentiment, valid, names)
    table["negative"] = np.nan if mix is None else mix["negative"].to_numpy()
    table["positive"] = np.nan if mix is None else mix["positive"].to_numpy()

    tested = count >= min_count
    n_with, n_without = count, n_rated - count
    table["score_with"] = _masked_mean(points, indicators)
    table["score_without"] = _masked_mean(points, ~indicators)
    table["impact"] = points.mean() - table["score_without"]
    bad_with, bad_without = bad.astype(int) @ indicators, bad.astype(int) @ ~indicators
    table["bad_with"] = 100 * _ratio(bad_with, n_with)
    table["bad_without"] = 100 * _ratio(bad_without, n_without)
    table["p_value"] = [
        stats.fisher_exact([[bw, nw - bw], [bo, no - bo]]).pvalue if test else np.nan
        for bw, nw, bo, no, test in zip(
            bad_with, n_with, bad_without, n_without, tested, strict=True
        )
    ]
    table["q_value"] = np.nan
    if tested.any():
        table.loc[tested, "q_value"] = stats.false_discovery_control(table["p_value"][tested])
    table["importance"] = np.nan
    table.loc[tested, "importance"] = _relative_weights(indicators[:, tested], bad)
    scores = ["score_with", "score_without", "impact", "bad_with", "bad_without"]
    table.loc[~tested, scores] = np.nan
    table["note"] = None
    table.loc[~tested, "note"] = f"fewer than {min_count} comments"
    table = table.sort_values(["impact", "count"], ascending=[True, False], na_position="last")
    return table.reset_index(drop=True)[list(DRIVER_COLUMNS)]


def _sentiment_mix(
    comments: pd.DataFrame, column: str, rated: np.ndarray, names: list[str]
) -> pd.DataFrame | None:
    """Percentages of each theme's labelled mentions that are negative and positive, over the
    ``rated`` rows; None without a ``column``."""
    if column not in comments:
        return None
    maps = label_maps(comments[column], column)
    pairs = pd.DataFrame(
        [
            (theme, polarity)
            for mapping, ok in zip(maps, rated, strict=True)
            if ok
            for theme, polarity in mapping.items()
        ],
        columns=["theme", "polarity"],
    )
    dummies = pd.get_dummies(pairs["polarity"]).reindex(
        columns=["negative", "positive"], fill_value=False
    )
    return 100 * dummies.groupby(pairs["theme"]).mean().reindex(names)


def _masked_mean(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of ``values`` over each column of the boolean ``mask``; NaN for empty columns."""
    return _ratio(values @ mask, mask.sum(axis=0))


def _ratio(num: Any, den: Any) -> np.ndarray:
    """``num / den`` elementwise, NaN where ``den`` is 0."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)


def _relative_weights(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Johnson's relative weights of the columns of ``x`` for ``y``, as % of the explained R².

    Columns without variance get NaN; so does everything when ``y`` is constant.
    """
    weights = np.full(x.shape[1], np.nan)
    varies = x.std(axis=0) > 0
    if not varies.any() or y.std() == 0:
        return weights
    corr = np.corrcoef(np.column_stack([x[:, varies], y]).astype(float), rowvar=False)
    r_xx, r_xy = corr[:-1, :-1], corr[:-1, -1]
    eigenvalues, vectors = np.linalg.eigh(r_xx)
    # Correlations of the predictors with their closest orthogonal counterparts.
    lam = vectors @ np.diag(np.sqrt(np.clip(eigenvalues, 0, None))) @ vectors.T
    beta = np.linalg.pinv(lam) @ r_xy
    raw = (lam**2) @ (beta**2)
    weights[varies] = 100 * raw / raw.sum() if raw.sum() > 0 else np.nan
    return weights
