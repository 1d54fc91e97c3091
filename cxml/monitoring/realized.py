"""Late ratings: join them to what was scored, and measure how the model actually did.

:func:`join_ratings` puts every rating row in exactly one count (``ratings_read = matched +
unknown_ids + duplicate_ratings + rerated + missing_rating``), so nothing is dropped or counted
twice unnoticed. :func:`realized_metrics` gives each metric with a confidence interval.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import average_precision_score

from cxml.contracts.ratings import DEFAULT_BAD_RATINGS, Rating, is_bad, parse_ratings
from cxml.contracts.times import utc_ns
from cxml.metrics.ranking import delong, wilson

__all__ = ["Interval", "JoinSummary", "join_ratings", "realized_metrics"]


@dataclass(frozen=True)
class JoinSummary:
    """Where each rating row went; the first five counts add up to ``ratings_read``.

    Attributes
    ----------
    ratings_read : int
        Rating rows given.
    matched : int
        Tickets joined to a scoring: one per rated, scored ticket (its latest rating).
    unknown_ids : int
        Rating rows of tickets never scored.
    duplicate_ratings : int
        Rating rows repeating the rating their ticket kept (counted once, in ``matched``).
    rerated : int
        Rating rows superseded by a different, later rating of the same ticket.
    missing_rating : int
        Rating rows rejected: no id, a blank rating, or one that is no rating (a whole number
        1 to 5, ``good`` or ``bad``; ``reasons`` counts each reason).
    scored_more_than_once : int
        Matched tickets with several scorings (the rating joins the last one at or before it was
        given, else the last one).
    """

    ratings_read: int
    matched: int
    unknown_ids: int
    duplicate_ratings: int
    rerated: int
    missing_rating: int
    scored_more_than_once: int
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Interval:
    """A value and its confidence interval (NaN bounds where none can be given)."""

    value: float
    low: float
    high: float


def join_ratings(
    scored: pd.DataFrame,
    ratings: pd.DataFrame,
    bad_ratings: Collection[Rating] = DEFAULT_BAD_RATINGS,
) -> tuple[pd.DataFrame, JoinSummary]:
    """Join late ratings to the scorings of their tickets by id.

    Parameters
    ----------
    scored : DataFrame
        The prediction log's rows: ``id``, ``scored_at``, ``model_version`` and the outputs.
    ratings : DataFrame
        ``id``, ``rating`` (1 to 5, or good / bad: :mod:`cxml.contracts.ratings`) and
        optionally ``rated_at``. A ticket rated more than once keeps its latest rating (by
        ``rated_at``, an undated one counting as oldest; else the last row).
    bad_ratings : collection of int or str, default=(1, 2, "bad")
        Ratings that make a ticket ``bad`` (:func:`cxml.contracts.ratings.is_bad`).

    Returns
    -------
    joined : DataFrame
        One row per matched ticket: the chosen scoring's columns plus ``rating`` (``Int64``,
        ``object`` where there are labels), ``rated_at`` (UTC) and ``bad`` (bool).
    summary : JoinSummary
    """
    ids = _ids(ratings["id"])
    rating, unreadable, _ = parse_ratings(ratings["rating"].reset_index(drop=True))
    reason = np.select(
        [pd.isna(ids), unreadable, rating.isna().to_numpy()],
        ["no id", "not a rating 1-5, good or bad", "blank rating"],
        "",
    )
    log = scored.assign(id=_ids(scored["id"]))
    log = log[log["id"].notna()].reset_index(drop=True)
    scored_ids = set(log["id"])
    known = np.array([i in scored_ids for i in ids], dtype=bool) & (reason == "")
    rows = pd.DataFrame(
        {
            "id": ids,
            "rating": rating.to_numpy(dtype=object),
            "row": np.arange(len(ids)),
            "rated_at": utc_ns(ratings["rated_at"]) if "rated_at" in ratings else pd.NaT,
        }
    )[known]
    rows = rows.sort_values(["id", "rated_at", "row"], na_position="first")
    latest = rows.groupby("id", sort=False).tail(1)
    repeats = rows.drop(latest.index).merge(
        latest[["id", "rating"]], on="id", suffixes=("", "_kept")
    )
    duplicates = int((repeats["rating"] == repeats["rating_kept"]).sum())

    joined, several = _to_scorings(log, latest)
    joined["rating"] = parse_ratings(joined["rating"])[0]
    joined["rated_at"] = pd.to_datetime(joined["rated_at"]).dt.tz_localize("UTC")
    joined["bad"] = is_bad(joined["rating"], bad_ratings)
    rejected = reason[reason != ""]
    summary = JoinSummary(
        ratings_read=len(ratings),
        matched=len(latest),
        unknown_ids=int(((reason == "") & ~known).sum()),
        duplicate_ratings=duplicates,
        rerated=len(repeats) - duplicates,
        missing_rating=len(rejected),
        scored_more_than_once=several,
        reasons=dict(Counter(str(r) for r in rejected)),
    )
    return joined.drop(columns="row"), summary


def realized_metrics(
    y: Any,
    p: Any,
    at_risk: Any,
    *,
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Interval | None]:
    """What the model achieved on rated tickets, each with a ``confidence`` interval.

    ``roc_auc`` (DeLong et al. 1988 variance, normal interval; None with one class),
    ``average_precision`` (None without bad tickets) and ``ece`` (10 equal-count bins): percentile
    bootstrap of ``n_boot`` resamples, seeded; ``precision_at_policy``, ``recall_at_policy``
    (None without flags / bad tickets) and ``bad_rate``: Wilson intervals; ``rows``: the count.
    """
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    flagged = np.asarray(at_risk, dtype=bool)
    n, bad = len(y), int(y.sum())
    hits = int((flagged & (y == 1)).sum())
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    out: dict[str, Interval | None] = {
        "rows": Interval(float(n), float(n), float(n)),
        "bad_rate": _share(bad, n, z),
        "precision_at_policy": _share(hits, int(flagged.sum()), z),
        "recall_at_policy": _share(hits, bad, z),
        "roc_auc": None,
        "average_precision": None,
        "ece": None,
    }
    if n == 0:
        return out
    ece, ap = np.hstack(
        [
            [_ece(y, p, weights), _average_precision(y, p, weights)]
            for weights in _resample_weights(n, n_boot, seed)
        ]
    )
    out["ece"] = _percentile(float(_ece(y, p, np.ones((1, n)))[0]), ece, confidence)
    if 0 < bad < n:
        auc, var = delong(y, p)
        half = z * np.sqrt(var)
        out["roc_auc"] = Interval(auc, max(auc - half, 0.0), min(auc + half, 1.0))
    if bad > 0:
        value = float(average_precision_score(y, p))
        out["average_precision"] = _percentile(value, ap, confidence)
    return out


def _ids(values: pd.Series) -> np.ndarray:
    """Ids as text (a whole float as its integer), None where missing or blank."""

    def one(value: Any) -> str | None:
        if value is None or (np.ndim(value) == 0 and pd.isna(value)):
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value).strip()
        return text or None

    return np.array([one(v) for v in values], dtype=object)


def _to_scorings(log: pd.DataFrame, latest: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Each rating with its ticket's scoring (the last at or before ``rated_at``, else the last),
    and the number of tickets scored more than once."""
    candidates = latest.merge(log.assign(_order=np.arange(len(log))), on="id")
    scored_at = utc_ns(candidates["scored_at"])
    rated_at = candidates["rated_at"].to_numpy(dtype="datetime64[ns]")
    candidates["_before"] = scored_at <= rated_at  # False where either time is missing
    candidates["_scored"] = scored_at
    candidates = candidates.sort_values(["id", "_before", "_scored", "_order"], na_position="first")
    several = int((candidates.groupby("id").size() > 1).sum())
    chosen = candidates.groupby("id", sort=False).tail(1).sort_values("row")
    columns = [*log.columns, "rating", "rated_at", "row"]
    return chosen[columns].reset_index(drop=True), several


def _share(k: int, n: int, z: float) -> Interval | None:
    if n == 0:
        return None
    low, high = wilson(k, n, z)
    return Interval(k / n, low, high)


def _percentile(value: float, draws: np.ndarray, confidence: float) -> Interval:
    draws = draws[np.isfinite(draws)]
    if not len(draws):
        return Interval(value, float("nan"), float("nan"))
    low, high = np.quantile(draws, [0.5 - confidence / 2, 0.5 + confidence / 2])
    return Interval(value, float(low), float(high))


def _resample_weights(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """How often each row is drawn in each of ``n_boot`` bootstrap resamples (Efron 1979), as
    (resamples, n) arrays of a few million cells each."""
    rng = np.random.default_rng(seed)
    chunk = max(1, 2_000_000 // n)
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        drawn = rng.integers(0, n, (size, n)) + (np.arange(size) * n)[:, None]
        yield np.bincount(drawn.ravel(), minlength=size * n).reshape(size, n).astype(float)


def _ece(y: np.ndarray, p: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Expected calibration error over 10 equal-count bins of ``p`` (bins of the sample), per
    row of ``weights``: sum over bins of |weighted bad count - weighted probability| / weight."""
    order = np.argsort(p, kind="stable")
    starts = np.array([part[0] for part in np.array_split(np.arange(len(p)), 10) if len(part)])
    w = weights[:, order]
    gaps = np.add.reduceat(w * (y[order] - p[order]), starts, axis=1)
    return np.asarray(np.abs(gaps).sum(axis=1) / w.sum(axis=1))


def _average_precision(y: np.ndarray, p: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Average precision (scikit-learn's step definition) per row of ``weights``; NaN for a
    resample without bad tickets."""
    order = np.argsort(-p, kind="stable")
    ranked = p[order]
    ends = np.r_[np.flatnonzero(ranked[1:] != ranked[:-1]), len(p) - 1]  # last row of each score
    w = weights[:, order]
    tp = np.cumsum(w * y[order], axis=1)[:, ends]
    seen = np.cumsum(w, axis=1)[:, ends]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(seen > 0, tp / seen, 0.0)
        recall_step = np.diff(np.c_[np.zeros(len(w)), tp], axis=1) / tp[:, -1:]
        return np.asarray((recall_step * precision).sum(axis=1))
