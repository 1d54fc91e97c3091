"""The monitoring section of a report, from a :class:`~cxml.monitoring.monitor.MonitorResult`.

Estimated against realized performance per period (table and chart), one row per drift test
(its latest value against its limit, and the periods it alerted in), and the alerts in words.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cxml.report import charts
from cxml.report.sections import PERIOD_NAMES

if TYPE_CHECKING:
    from cxml.monitoring.monitor import MonitorResult

__all__ = [
    "FIGURES",
    "REALIZED_CONFIDENCE",
    "Figure",
    "drift_table",
    "monitoring_section",
    "numeric",
]

#: The level of the realized figures' intervals (:func:`cxml.monitoring.realized.realized_metrics`).
REALIZED_CONFIDENCE = 95


@dataclass(frozen=True)
class Figure:
    """A performance figure: its columns in ``MonitorResult.periods`` by what each one is.

    ``columns`` pairs a heading (``expected``, ``realized``, ``scored``) with a column; a
    column with ``_low`` and ``_high`` siblings has an interval. ``percent`` figures are shown
    times 100.
    """

    label: str
    percent: bool
    columns: tuple[tuple[str, str], ...]


FIGURES = (
    Figure(
        "Bad rate",
        True,
        (("expected", "estimated_bad_rate"), ("realized", "realized_bad_rate")),
    ),
    Figure(
        "ROC-AUC",
        False,
        (("expected", "estimated_roc_auc"), ("realized", "realized_roc_auc")),
    ),
    Figure(
        "Precision at the policy",
        True,
        (("expected", "estimated_precision"), ("realized", "realized_precision_at_policy")),
    ),
    Figure(
        "Recall at the policy",
        True,
        (("expected", "estimated_recall"), ("realized", "realized_recall_at_policy")),
    ),
    Figure("Flagged at risk", True, (("scored", "flag_share"),)),
    Figure(
        "Average precision",
        False,
        (("realized", "realized_average_precision"),),
    ),
    Figure("Calibration error (ECE)", False, (("realized", "realized_ece"),)),
)

_STATISTICS = {
    "psi": "PSI",
    "js": "Jensen-Shannon distance",
    "wasserstein": "Wasserstein distance (reference IQRs)",
    "ks": "Kolmogorov-Smirnov statistic",
    "mean_shift": "mean increase",
    "abs_mean_shift": "mean shift",
    "expected_auc_drop": "expected ROC-AUC drop",
}
_COUNTS = {
    "rows_read": "rows read",
    "other_versions": "rows of other model versions (left out)",
    "no_time": "rows without a time (left out)",
}
_JOIN = {
    "ratings_read": "rating rows read",
    "matched": "joined to a scored ticket",
    "unknown_ids": "for tickets never scored",
    "duplicate_ratings": "repeating a ticket's rating (counted once)",
    "rerated": "superseded by a later, different rating",
    "missing_rating": "rejected (no id, or not a rating 1-5, good or bad)",
    "scored_more_than_once": "joined tickets scored more than once (last scoring used)",
}


def monitoring_section(result: MonitorResult) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """The template context of the monitoring section, and its tables for the CSV exports.

    Returns
    -------
    (dict, dict of str to DataFrame)
        The context; and ``monitoring_periods`` (:func:`numeric` periods) and
        ``monitoring_tests`` (the tests, one row a test and period).
    """
    periods = numeric(result.periods)
    tests = result.tests.reset_index(drop=True)
    figures = [f for f in FIGURES if any(c in periods for _, c in f.columns)]
    labels = periods["period"].tolist() if "period" in periods else []
    context: dict[str, Any] = {
        "task": result.task,
        "model": result.model_name,
        "version": result.model_version,
        "period_name": PERIOD_NAMES.get(result.period, result.period),
        "n_periods": len(periods),
        "first": labels[0] if labels else None,
        "last": labels[-1] if labels else None,
        "rows": int(periods["rows"].sum()) if "rows" in periods else 0,
        "rescored": int(periods["rescored"].sum()) if "rescored" in periods else 0,
        "counts": [(_COUNTS.get(k, k.replace("_", " ")), v) for k, v in result.counts.items()],
        "join": _join(result),
        "n_alerts": int(tests["alert"].astype(bool).sum()),
        "alerts": _alerts(tests),
        "figures": [
            {"figure": f, "headings": [h for h, c in f.columns if c in periods]} for f in figures
        ],
        "realized": any(str(c).startswith("realized_") for c in periods),
        "confidence": REALIZED_CONFIDENCE,
        "performance": [_performance_row(row, figures) for row in periods.to_dict("records")],
        "drift": drift_table(tests).to_dict("records"),
        "chart": (
            charts.monitoring_chart(periods, confidence=REALIZED_CONFIDENCE)
            if len(periods)
            else None
        ),
    }
    return context, {"monitoring_periods": periods, "monitoring_tests": tests}


def numeric(periods: pd.DataFrame) -> pd.DataFrame:
    """``periods`` with every column but ``period`` as numbers (a figure without a value NaN).

    >>> periods = pd.DataFrame({"period": ["2026-06-29"], "realized_roc_auc": [None]})
    >>> numeric(periods)["realized_roc_auc"].dtype
    dtype('float64')
    """
    out = periods.reset_index(drop=True).copy()
    for column in out.columns:
        if column == "period":
            out[column] = out[column].astype(str)
        elif not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
    return out


def drift_table(tests: pd.DataFrame) -> pd.DataFrame:
    """One row a test: its latest period's value against its limit, and where it alerted.

    The limit is ``max(threshold, floor)``: a test alerts above it. Tests that alerted come
    first, then in the monitor's order.

    Returns
    -------
    DataFrame
        ``test``, ``kind``, ``statistic`` (in words), ``reference``, ``period`` (the latest),
        ``current``, ``value``, ``limit``, ``alert`` (in the latest period), ``alerted`` (the
        periods with an alert) and ``alerts`` (their number).
    """
    columns = [
        "test", "kind", "statistic", "reference", "period", "current", "value", "limit", "alert",
        "alerted", "alerts",
    ]  # fmt: skip
    rows = []
    for (test, kind), group in tests.groupby(["test", "kind"], sort=False):
        ordered = group.sort_values("period", kind="stable")
        last = ordered.iloc[-1]
        alerted = sorted(set(ordered.loc[ordered["alert"].astype(bool), "period"].astype(str)))
        rows.append(
            {
                "test": test,
                "kind": kind,
                "statistic": _STATISTICS.get(last["statistic"], last["statistic"]),
                "reference": last["reference"],
                "period": str(last["period"]),
                "current": last["current"],
                "value": float(last["value"]),
                "limit": float(max(last["threshold"], last["floor"])),
                "alert": bool(last["alert"]),
                "alerted": ", ".join(alerted),
                "alerts": len(alerted),
            }
        )
    table = pd.DataFrame(rows, columns=columns)
    first = table["alerts"].eq(0)  # False (alerted) sorts first
    return table.iloc[np.argsort(first.to_numpy(), kind="stable")].reset_index(drop=True)


def _alerts(tests: pd.DataFrame) -> list[dict[str, Any]]:
    """The tests that fired, by period: the message and the statistic against its limit."""
    fired = tests[tests["alert"].astype(bool)]
    return [
        {
            "period": str(period),
            "fired": [
                {
                    "message": row["message"],
                    "statistic": _STATISTICS.get(row["statistic"], row["statistic"]),
                    "value": float(row["value"]),
                    "limit": float(max(row["threshold"], row["floor"])),
                }
                for row in group.to_dict("records")
            ],
        }
        for period, group in fired.groupby("period", sort=True)
    ]


def _join(result: MonitorResult) -> list[tuple[str, int]] | None:
    """Where each rating row went, in words; None without ratings."""
    if result.join is None:
        return None
    counts = {k: v for k, v in dataclasses.asdict(result.join).items() if isinstance(v, int)}
    lines = [(_JOIN.get(k, k.replace("_", " ")), v) for k, v in counts.items()]
    reasons = result.join.reasons
    return lines + [(f"rejected: {reason}", n) for reason, n in sorted(reasons.items())]


def _performance_row(row: Mapping[Hashable, Any], figures: list[Figure]) -> dict[str, Any]:
    cells = []
    for figure in figures:
        for _, column in figure.columns:
            if column in row:
                cells.append(_cell(row, column, figure.percent))
    return {
        "period": row["period"],
        "rows": row.get("rows"),
        "rated": row.get("rated"),
        "alerts": row.get("alerts"),
        "cells": cells,
    }


def _cell(row: Mapping[Hashable, Any], column: str, percent: bool) -> str:
    """A figure with its interval, as text: ``23.4 (20.1-26.9)``; an em dash when missing."""
    scale, digits = (100.0, 1) if percent else (1.0, 3)
    value = row[column]
    if not np.isfinite(value):
        return "—"
    text = f"{scale * value:.{digits}f}"
    low, high = row.get(f"{column}_low", np.nan), row.get(f"{column}_high", np.nan)
    if np.isfinite(low) and np.isfinite(high):
        text += f" ({scale * low:.{digits}f}–{scale * high:.{digits}f})"
    return text
