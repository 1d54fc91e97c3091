"""Report charts: matplotlib figures as self-contained SVG ``data:`` URIs.

Text stays text in the SVG (``svg.fonttype: none``), so the browser draws it with its own fonts,
Hangul included; a fixed ``svg.hashsalt`` and no date in the metadata make the same data give the
same bytes. Colours are the Okabe-Ito palette, readable with colour-vision deficiencies.
"""

from __future__ import annotations

import base64
import io
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cxml.contracts.labels import THEME_POLARITIES
from cxml.report.sections import MetricSpec

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.typing import RcKeyType

__all__ = [
    "driver_chart",
    "monitoring_chart",
    "segment_chart",
    "sentiment_chart",
    "trend_chart",
]

_RC: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "cxml-report",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e5e5e5",
    "axes.axisbelow": True,
}
_METADATA = {"Date": None, "Creator": None, "Contributor": None, "Format": None, "Type": None}
_LINE = "#0072B2"
_COLORS = {
    "negative": "#D55E00",
    "neutral": "#999999",
    "positive": "#009E73",
    "conflict": "#E69F00",
}
_REALIZED = "#D55E00"
_ALERT_SHADE = "#FBE3D1"
_MAX_BARS = 15
_MAX_TICKS = 12


@contextmanager
def _style() -> Iterator[None]:
    """Report rc settings; text is drawn by the browser, so missing-glyph warnings are moot."""
    with matplotlib.rc_context(_RC), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font")
        yield


def _encode(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata=_METADATA)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def trend_chart(table: pd.DataFrame, specs: Sequence[MetricSpec], *, noun: str) -> str:
    """One panel per figure over the periods (line, interval band), then volume bars.

    ``table`` is :func:`cxml.report.sections.trend` by period; periods without a value (too few
    observations) are gaps, and rows of unknown period are left out.
    """
    known = table[table["period"] != "unknown"]
    periods = list(dict.fromkeys(known["period"]))
    x = np.arange(len(periods))
    with _style():
        fig = Figure(figsize=(9.5, 1.9 * (len(specs) + 1)), layout="constrained")
        axes = fig.subplots(len(specs) + 1, 1, sharex=True, squeeze=False)[:, 0]
        for ax, spec in zip(axes, specs, strict=False):
            rows = known[known["metric"] == spec.name].set_index("period").reindex(periods)
            ax.fill_between(x, rows["ci_low"], rows["ci_high"], color=_LINE, alpha=0.18, lw=0)
            ax.plot(x, rows["value"], color=_LINE, marker="o", ms=3)
            if rows["value"].isna().all():
                message = "no period has enough observations"
                ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", color="#666666")
                ax.set_yticks([])
            ax.set_title(f"{spec.label} ({spec.unit.strip()})", loc="left", fontsize=9)
        first = known[known["metric"] == specs[0].name].set_index("period").reindex(periods)
        axes[-1].bar(x, first["n"] + first["excluded"], color="#56B4E9")
        axes[-1].set_title(f"{noun} per period", loc="left", fontsize=9)
        _period_ticks(axes[-1], periods)
        return _encode(fig)


def _period_ticks(ax: Axes, periods: Sequence[str]) -> None:
    """At most :data:`_MAX_TICKS` period labels on the x axis, slanted."""
    x = np.arange(len(periods))
    step = max(1, -(-len(periods) // _MAX_TICKS))
    ax.set_xticks(x[::step], list(periods)[::step], rotation=30, ha="right")


def sentiment_chart(table: pd.DataFrame) -> str:
    """Stacked horizontal bars of mentions by polarity, for the largest themes."""
    top = table.head(_MAX_BARS).iloc[::-1]
    with _style():
        fig = Figure(figsize=(9.5, 0.9 + 0.32 * len(top)), layout="constrained")
        ax = fig.subplots()
        left = np.zeros(len(top))
        for polarity in THEME_POLARITIES:
            counts = top[polarity].to_numpy(dtype=float)
            if counts.any():
                ax.barh(top["theme"], counts, left=left, color=_COLORS[polarity], label=polarity)
            left += counts
        ax.set_xlabel("mentions")
        ax.grid(axis="y", visible=False)
        ax.legend(loc="lower right", frameon=False, ncols=4)
        return _encode(fig)


def driver_chart(table: pd.DataFrame, *, score_label: str, unit: str) -> str:
    """Impact of each scored theme; significant ones in colour, the others grey and hatched."""
    scored = table[table["impact"].notna()].head(_MAX_BARS).iloc[::-1]
    colors = [
        (_COLORS["negative"] if impact < 0 else _COLORS["positive"]) if significant else "#cccccc"
        for impact, significant in zip(scored["impact"], scored["significant"], strict=True)
    ]
    with _style():
        fig = Figure(figsize=(9.5, 0.9 + 0.32 * len(scored)), layout="constrained")
        ax = fig.subplots()
        bars = ax.barh(scored["theme"], scored["impact"], color=colors)
        for bar, significant in zip(bars, scored["significant"], strict=True):
            if not significant:
                bar.set_hatch("///")
                bar.set_edgecolor("#888888")
        ax.axvline(0, color="#333333", lw=0.8)
        ax.set_xlabel(f"impact on {score_label} ({unit.strip()}); grey: not significant")
        ax.grid(axis="y", visible=False)
        return _encode(fig)


def segment_chart(table: pd.DataFrame, specs: Sequence[MetricSpec], *, segment: str) -> str:
    """Each figure by segment: a point and its interval; segments without a value are empty."""
    with _style():
        segments = list(dict.fromkeys(table[segment]))
        fig = Figure(figsize=(9.5, 0.9 + 0.3 * len(segments)), layout="constrained")
        axes = fig.subplots(1, len(specs), sharey=True, squeeze=False)[0]
        y = np.arange(len(segments))[::-1]
        for ax, spec in zip(axes, specs, strict=True):
            rows = table[table["metric"] == spec.name].set_index(segment).reindex(segments)
            low = (rows["value"] - rows["ci_low"]).to_numpy(dtype=float)
            high = (rows["ci_high"] - rows["value"]).to_numpy(dtype=float)
            ax.errorbar(rows["value"], y, xerr=[low, high], fmt="o", color=_LINE, capsize=3)
            ax.set_title(f"{spec.label} ({spec.unit.strip()})", loc="left", fontsize=9)
        axes[0].set_yticks(y, segments)
        return _encode(fig)


def monitoring_chart(periods: pd.DataFrame, *, confidence: int) -> str:
    """Expected and realized bad rate and ROC-AUC by period, then rows and alerts per period.

    ``periods`` is ``MonitorResult.periods`` with numeric figures: the expected figure is a
    line, the realized one a point with its ``confidence`` % interval as an error bar
    (``<column>_low`` / ``_high``); periods with an alert are shaded. Figures absent from
    ``periods`` (comment models have none) get no panel.
    """
    labels = periods["period"].astype(str).tolist()
    x = np.arange(len(labels))
    alerted = periods["alerts"].to_numpy(dtype=float) > 0
    figures = (("bad_rate", "Bad rate (%)", 100.0), ("roc_auc", "ROC-AUC", 1.0))
    panels = [
        (name, label, scale)
        for name, label, scale in figures
        if f"estimated_{name}" in periods or f"realized_{name}" in periods
    ]
    with _style():
        fig = Figure(figsize=(9.5, 1.9 * (len(panels) + 2)), layout="constrained")
        axes = fig.subplots(len(panels) + 2, 1, sharex=True, squeeze=False)[:, 0]
        for ax, (name, label, scale) in zip(axes, panels, strict=False):
            for i in np.flatnonzero(alerted):
                ax.axvspan(i - 0.5, i + 0.5, color=_ALERT_SHADE, lw=0)
            if f"estimated_{name}" in periods:
                expected = scale * periods[f"estimated_{name}"].to_numpy(dtype=float)
                ax.plot(x, expected, color=_LINE, marker="o", ms=3, label="expected")
            if f"realized_{name}" in periods:
                realized = periods[f"realized_{name}"]
                low, high = (periods.get(f"realized_{name}_{b}") for b in ("low", "high"))
                legend = f"realized ({confidence} % CI)"
                _error_bars(ax, x, realized, low, high, scale=scale, label=legend)
            ax.set_title(label, loc="left", fontsize=9)
            ax.legend(loc="best", frameon=False, ncols=2, fontsize=8)
        rows, alerts = axes[-2], axes[-1]
        rows.bar(x, periods["rows"].to_numpy(dtype=float), color="#56B4E9")
        rows.set_title("rows per period", loc="left", fontsize=9)
        alerts.bar(x, periods["alerts"].to_numpy(dtype=float), color=_REALIZED)
        alerts.set_title("alerts per period", loc="left", fontsize=9)
        alerts.yaxis.get_major_locator().set_params(integer=True)
        alerts.set_xlim(-0.5, len(labels) - 0.5)
        _period_ticks(alerts, labels)
        return _encode(fig)


def _error_bars(
    ax: Axes,
    x: np.ndarray,
    value: pd.Series,
    low: pd.Series | None,
    high: pd.Series | None,
    *,
    scale: float,
    label: str,
) -> None:
    """Points times ``scale`` with their intervals; periods without a value are left out."""
    shown = value.notna().to_numpy()
    points = scale * value.to_numpy(dtype=float)[shown]
    errors = None
    if low is not None and high is not None:
        below = points - scale * low.to_numpy(dtype=float)[shown]
        above = scale * high.to_numpy(dtype=float)[shown] - points
        # a missing bound draws no bar; a bootstrap interval may even miss its value
        errors = np.clip(np.nan_to_num(np.vstack([below, above])), 0.0, None)
    ax.errorbar(
        x[shown], points, yerr=errors, fmt="s", ms=3, color=_REALIZED, capsize=3, label=label
    )
