"""The monitoring job: each period of scored rows against the model's reference profile.

Without any label it reports, per period (day, week or month): drift of every watched input
(:mod:`cxml.monitoring.inputs`), of the share of words the reference never used, and of the
predictions; the performance expected from the calibrated probabilities
(:mod:`cxml.monitoring.estimate`); and alerts. With ratings that arrived later it adds the
realized performance, each figure with its confidence interval (:mod:`cxml.monitoring.realized`).

An alert is a test whose statistic exceeds both its null threshold, the ``1 - alpha / m``
quantile of the statistic between samples drawn from the reference itself at the period's size
(``m`` tests a period: Bonferroni, so a period without change alerts with probability at most
``alpha``), and a floor of practical size (:mod:`cxml.monitoring.thresholds`). Each alert says
in words what moved.

A ticket scored more than once in a period (an open ticket rescored) counts once, as scored
last; rows of other model versions than the profile's are left out and counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from cxml.contracts.ratings import DEFAULT_BAD_RATINGS
from cxml.errors import BadInputError
from cxml.monitoring import drift, estimate, thresholds
from cxml.monitoring.drift import OTHER
from cxml.monitoring.profile import ReferenceProfile, fold_categories, output_categories
from cxml.monitoring.realized import JoinSummary, join_ratings, realized_metrics

__all__ = ["TEST_COLUMNS", "Alert", "MonitorResult", "Period", "monitor", "period_starts"]

Period = Literal["D", "W", "M"]
_PANDAS_PERIODS = {"D": "D", "W": "W-SUN", "M": "M"}
#: Categories named in an alert: the one whose share moved most.
_NUMBER_PREFIX, _CATEGORY_PREFIX = "num.", "cat."


@dataclass(frozen=True)
class Alert:
    """One test that fired: in which period, on what, and what moved, in words."""

    period: str
    test: str
    message: str
    value: float
    threshold: float


@dataclass
class MonitorResult:
    """What :func:`monitor` found.

    Attributes
    ----------
    task, model_name, model_version, period : str
        What was monitored, and the period length (``D``, ``W`` or ``M``).
    periods : DataFrame
        One row a period: ``period`` (its first day), ``rows``, ``rescored`` (older scorings
        of the same ticket left out), the ``estimated_*`` figures, the ``realized_*`` ones with
        ``_low`` / ``_high`` bounds when ratings were given, and ``alerts``.
    tests : DataFrame
        One row a test and period: ``period``, ``test``, ``kind``, ``statistic``, ``value``,
        ``threshold``, ``floor``, ``alert``, ``reference``, ``current``, ``message``.
    counts : dict of str to int
        Rows read, rows of other model versions, rows without a time.
    join : JoinSummary or None
        How the ratings joined, when ratings were given.
    alpha : float
        The chance that a period without change raised any alert.
    """

    task: str
    model_name: str
    model_version: str
    period: str
    periods: pd.DataFrame
    tests: pd.DataFrame
    counts: dict[str, int] = field(default_factory=dict)
    join: JoinSummary | None = None
    alpha: float = 0.01

    @property
    def alerts(self) -> list[Alert]:
        """The tests that fired, in period order."""
        fired = self.tests[self.tests["alert"]]
        return [
            Alert(str(r["period"]), str(r["test"]), str(r["message"]), r["value"], r["threshold"])
            for r in fired.to_dict("records")
        ]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary: for a webhook, a chat message or a scheduler's log."""
        periods = self.periods.astype(object).where(self.periods.notna(), None)
        return {
            "task": self.task,
            "model": {"name": self.model_name, "version": self.model_version},
            "period": self.period,
            "alpha": self.alpha,
            "alerts": [alert.__dict__ for alert in self.alerts],
            "periods": periods.to_dict("records"),
            "counts": self.counts,
            "ratings": None if self.join is None else self.join.__dict__,
        }


def period_starts(times: pd.Series, period: Period) -> pd.Series:
    """The first moment (UTC midnight) of the period each time falls in; weeks start Monday.

    >>> t = pd.Series(pd.to_datetime(["2026-07-01T10:00Z", "2026-07-05T23:00Z"]))
    >>> period_starts(t, "W").dt.strftime("%Y-%m-%d").tolist()
    ['2026-06-29', '2026-06-29']
    """
    naive = times.dt.tz_convert("UTC").dt.tz_localize(None)
    starts = naive.dt.to_period(_PANDAS_PERIODS[period]).dt.start_time
    return starts.dt.tz_localize("UTC")


def monitor(
    log: pd.DataFrame,
    profile: ReferenceProfile,
    *,
    model_version: str | None = None,
    period: Period = "W",
    alpha: float = 0.01,
    ratings: pd.DataFrame | None = None,
    bad_ratings: tuple[int | str, ...] = DEFAULT_BAD_RATINGS,
    seed: int = 0,
) -> MonitorResult:
    """Compare each period of ``log`` with ``profile``; add realized figures from ``ratings``.

    Parameters
    ----------
    log : DataFrame
        Scored rows as :meth:`cxml.monitoring.log.PredictionLog.read` gives them: ``id``,
        ``scored_at``, ``model_name``, ``model_version``, the task's outputs, ``num.<input>``,
        ``cat.<input>`` and ``tokens``.
    profile : ReferenceProfile
        The reference of the model version that scored them.
    model_version : str, default=None
        Keep the rows of this version only (others are counted); None keeps them all.
    period : {"D", "W", "M"}, default="W"
        Length of a period.
    alpha : float, default=0.01
        Chance that a period without change raises any alert.
    ratings : DataFrame, default=None
        Ratings that arrived later: ``id``, ``rating`` and optionally ``rated_at``
        (:func:`cxml.monitoring.realized.join_ratings`); ticket models only.
    bad_ratings : tuple of int or str, default=(1, 2, "bad")
        Ratings that count as bad: 1-5 scores and / or ``good`` / ``bad`` labels
        (:mod:`cxml.contracts.ratings`).
    seed : int, default=0
        Seed of the null thresholds' bootstrap.
    """
    if not 0 < alpha < 1:
        raise BadInputError(f"alpha must be between 0 and 1, got {alpha}")
    counts = {"rows_read": len(log)}
    rows = log
    if model_version is not None:
        rows = log[log["model_version"].astype(str) == str(model_version)]
    counts["other_versions"] = len(log) - len(rows)
    timed = rows[rows["scored_at"].notna()]
    counts["no_time"] = len(rows) - len(timed)
    starts = period_starts(timed["scored_at"], period)
    join: JoinSummary | None = None
    rated: dict[pd.Timestamp, pd.DataFrame] = {}
    if ratings is not None:
        if profile.task != "csat":
            raise BadInputError("ratings can be joined to ticket models (csat) only")
        joined, join = join_ratings(timed, ratings, bad_ratings=bad_ratings)
        rated = dict(iter(joined.groupby(period_starts(joined["scored_at"], period))))
    period_rows, test_rows = [], []
    for start, group in timed.groupby(starts, sort=True):
        latest = _latest(group)
        label = start.strftime("%Y-%m-%d")
        checks = list(_checks(latest, profile))
        quantile = thresholds.family_quantile(len(checks), alpha)
        tests = [_test(check, label, quantile, seed) for check in checks]
        test_rows.extend(tests)
        figures = {"period": label, "rows": len(latest), "rescored": len(group) - len(latest)}
        figures.update(_estimated(latest, profile))
        if ratings is not None:
            figures.update(_realized(rated.get(start)))
        figures["alerts"] = sum(t["alert"] for t in tests)
        period_rows.append(figures)
    versions = timed["model_version"].astype(str).unique()
    names = timed["model_name"].astype(str).unique()
    return MonitorResult(
        task=profile.task,
        model_name=names[0] if len(names) == 1 else "+".join(sorted(names)),
        model_version=model_version or "+".join(sorted(versions)),
        period=period,
        periods=pd.DataFrame(period_rows),
        tests=pd.DataFrame(test_rows, columns=TEST_COLUMNS),
        counts=counts,
        join=join,
        alpha=alpha,
    )


def _latest(group: pd.DataFrame) -> pd.DataFrame:
    """Each id's last scoring in the period (rows without an id all count)."""
    has_id = group["id"].notna()
    ordered = group[has_id].sort_values("scored_at", kind="stable")
    kept = ordered[~ordered["id"].duplicated(keep="last")]
    return pd.concat([kept, group[~has_id]]).sort_index()


# --- tests -------------------------------------------------------------------------------------

#: Columns of :attr:`MonitorResult.tests`.
TEST_COLUMNS = [
    "period",
    "test",
    "kind",
    "statistic",
    "value",
    "threshold",
    "floor",
    "alert",
    "reference",
    "current",
    "message",
]


@dataclass(frozen=True)
class _Check:
    """One test of a period before its threshold: what it compares and how to say it."""

    test: str
    kind: Literal["category", "number", "vocabulary", "prediction", "performance"]
    statistic: str
    part: dict[str, Any]
    values: Any
    reference: str
    current: str
    message: str


def _test(check: _Check, period: str, quantile: float, seed: int) -> dict[str, Any]:
    part_kind = "category" if "shares" in check.part else "number"
    test = thresholds.check(
        check.test,
        part_kind,
        check.statistic,
        check.part,
        check.values,
        n_ref=int(check.part["rows"]),
        quantile=quantile,
        seed=seed,
    )
    return {
        "period": period,
        "test": check.test,
        "kind": check.kind,
        "statistic": check.statistic,
        "value": test.value,
        "threshold": test.threshold,
        "floor": test.floor,
        "alert": test.alert,
        "reference": check.reference,
        "current": check.current,
        "message": check.message,
    }


def _checks(rows: pd.DataFrame, profile: ReferenceProfile) -> Iterator[_Check]:
    """Every test of one period's rows: inputs, new words, predictions, expected performance."""
    for name, part in profile.categories.items():
        if _CATEGORY_PREFIX + name in rows:
            yield _category_check(name, rows[_CATEGORY_PREFIX + name].tolist(), part, "category")
    for name, part in profile.numbers.items():
        if _NUMBER_PREFIX + name in rows and len(part["quantiles"]) > 1:
            yield _number_check(name, rows[_NUMBER_PREFIX + name], part)
    if profile.vocabulary is not None and profile.oov is not None and "tokens" in rows:
        shares = drift.oov_share(list(rows["tokens"]), np.asarray(profile.vocabulary))
        before, after = float(profile.oov["mean"]), float(np.nanmean(shares))
        yield _Check(
            test="new_words",
            kind="vocabulary",
            statistic="mean_shift",
            part=profile.oov,
            values=shares[np.isfinite(shares)],
            reference=f"{before:.0%}",
            current=f"{after:.0%}",
            message=f"new words: {before:.0%} -> {after:.0%} of a text's words unseen in training",
        )
    for name, part in profile.predictions.items():
        if name not in rows:
            continue
        if "shares" in part:
            values = output_categories(rows[name])
            yield _category_check(name, values, part, "prediction")
        elif len(part["quantiles"]) > 1:
            yield from _score_checks(name, rows[name], part, profile)


def _category_check(
    name: str, values: list[Any], part: dict[str, Any], kind: Literal["category", "prediction"]
) -> _Check:
    reference: dict[str, float] = part["shares"]
    raw = [v for v in values if not _missing(v)]
    current = drift.category_shares(fold_categories(values, reference))
    moved = max(
        dict.fromkeys([*reference, *current]),
        key=lambda c: _grew(reference.get(c, 0.0), current.get(c, 0.0)),
    )
    before, after = reference.get(moved, 0.0), current.get(moved, 0.0)
    said = f"{name}: {moved} {before:.0%} -> {after:.0%}"
    if moved == OTHER:  # name the values the reference did not know
        unseen = pd.Series([v for v in raw if v not in reference], dtype=object).value_counts()
        if len(unseen):
            said += " (mostly " + ", ".join(str(v) for v in unseen.index[:2]) + ")"
    return _Check(
        test=name,
        kind=kind,
        statistic="psi",
        part=part,
        values=values,
        reference=_shares_text(reference),
        current=_shares_text(current),
        message=said,
    )


def _number_check(name: str, column: pd.Series, part: dict[str, Any]) -> _Check:
    values = column.to_numpy(dtype=np.float64)
    present = values[np.isfinite(values)]
    before = float(part["median"])
    after = float(np.median(present)) if len(present) else float("nan")
    return _Check(
        test=name,
        kind="number",
        statistic="wasserstein",
        part=part,
        values=values,
        reference=f"median {_num(before)}",
        current=f"median {_num(after)}",
        message=f"{_label(name)}: median {_num(before)} -> {_num(after)}",
    )


def _score_checks(
    name: str, column: pd.Series, part: dict[str, Any], profile: ReferenceProfile
) -> Iterator[_Check]:
    """A score's mean; for the ticket model also the drop of the ROC-AUC it lets one expect."""
    values = column.to_numpy(dtype=np.float64)
    before, after = float(part["mean"]), float(np.nanmean(values))
    yield _Check(
        test=name,
        kind="prediction",
        statistic="abs_mean_shift",
        part=part,
        values=values,
        reference=f"mean {before:.3f}",
        current=f"mean {after:.3f}",
        message=f"{_label(name)}: mean {before:.3f} -> {after:.3f}",
    )
    if name == "bad_rating_probability" and profile.expected_roc_auc is not None:
        expected = float(profile.expected_roc_auc)
        now = estimate.expected_roc_auc(values[np.isfinite(values)])
        yield _Check(
            test="estimated_roc_auc",
            kind="performance",
            statistic="expected_auc_drop",
            part=part,
            values=values,
            reference=f"{expected:.3f}",
            current=f"{now:.3f}",
            message=f"estimated ROC-AUC {expected:.3f} -> {now:.3f}",
        )


def _grew(before: float, after: float) -> tuple[float, float]:
    """Sort key of the category to name: the largest move, a rise before an equal fall."""
    return round(abs(after - before), 3), after - before


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


# --- figures -----------------------------------------------------------------------------------


def _estimated(rows: pd.DataFrame, profile: ReferenceProfile) -> dict[str, float]:
    """Expected figures from the calibrated probabilities (ticket models)."""
    if profile.task != "csat":
        return {}
    p = rows["bad_rating_probability"].to_numpy(dtype=np.float64)
    p = p[np.isfinite(p)]
    threshold = float(profile.policy["threshold"]) if profile.policy else 0.5
    precision, recall, flagged = estimate.expected_precision_recall(p, threshold)
    return {
        "estimated_bad_rate": estimate.expected_rate(p),
        "estimated_roc_auc": estimate.expected_roc_auc(p),
        "estimated_precision": precision,
        "estimated_recall": recall,
        "flag_share": flagged,
    }


def _realized(joined: pd.DataFrame | None) -> dict[str, Any]:
    """Realized figures with their intervals from the period's rated tickets."""
    if joined is None or joined.empty:
        return {"rated": 0}
    out: dict[str, Any] = {"rated": len(joined)}
    figures = realized_metrics(
        joined["bad"].to_numpy(dtype=int),
        joined["bad_rating_probability"].to_numpy(dtype=np.float64),
        joined["at_risk"].astype(bool).to_numpy(),
    )
    for name, interval in figures.items():
        if name == "rows":
            continue
        out[f"realized_{name}"] = None if interval is None else interval.value
        out[f"realized_{name}_low"] = None if interval is None else interval.low
        out[f"realized_{name}_high"] = None if interval is None else interval.high
    return out


# --- words -------------------------------------------------------------------------------------


def _shares_text(shares: dict[str, float], k: int = 4) -> str:
    top = sorted(shares.items(), key=lambda kv: -kv[1])[:k]
    return ", ".join(f"{c} {s:.0%}" for c, s in top)


def _num(value: float) -> str:
    if not np.isfinite(value):
        return "n/a"
    return f"{value:.0f}" if abs(value) >= 10 else f"{value:.1f}"


def _label(name: str) -> str:
    """A feature's name in words: ``first_response_hours`` -> ``first response hours``."""
    return name.replace("_", " ")
