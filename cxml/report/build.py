"""Build one self-contained HTML report, and CSV exports of its tables beside it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import jinja2
import pandas as pd

from cxml._version import __version__
from cxml.contracts.ratings import binary_scale
from cxml.data.io import write_table, write_text
from cxml.errors import BadInputError
from cxml.report import charts
from cxml.report import sections as sec
from cxml.report.monitoring import monitoring_section
from cxml.report.trends import trends_section

if TYPE_CHECKING:
    from cxml.discovery import DiscoveryResult
    from cxml.monitoring.monitor import MonitorResult
    from cxml.monitoring.trends import TrendsResult

__all__ = ["ReportResult", "build_monitoring_report", "build_report"]

_TOP_THEMES = 6
_EXAMPLES_PER_THEME = 3
#: Characters of an example comment shown (the template's ``truncate``).
_EXAMPLE_CHARS = 600


@dataclass(frozen=True)
class ReportResult:
    """What :func:`build_report` wrote.

    Attributes
    ----------
    html : Path
        The report.
    tables : dict of str to Path
        CSV exports by name: ``metrics_over_time``, ``themes_by_sentiment``, ``drivers``,
        ``examples``, and ``segments``, ``discovered_themes``, ``tickets_over_time``,
        ``monitoring_periods``, ``monitoring_tests`` when those sections exist; each is
        ``<name>.csv`` in the folder of ``html``.
    """

    html: Path
    tables: dict[str, Path]


def build_report(
    comments: pd.DataFrame,
    *,
    out: str | Path,
    tickets: pd.DataFrame | None = None,
    discovered: DiscoveryResult | pd.DataFrame | None = None,
    title: str = "Customer experience report",
    period: sec.Period = "M",
    segment: str | None = None,
    score: Literal["auto", "csat", "nps"] = "auto",
    min_count: int = 30,
    confidence: float = 0.95,
    monitoring: MonitorResult | None = None,
    trends: TrendsResult | None = None,
) -> ReportResult:
    """Write an HTML report of analysed comments (and tickets) to ``out``, CSVs beside it.

    The page embeds its charts as SVG and loads nothing, so it works offline and can be mailed.
    Sections: headline figures, figures over time, by segment, themes by sentiment, drivers,
    discovered themes, example comments, tickets; each shown when the data supports it. Every
    figure carries its confidence interval, and a figure from fewer than ``min_count``
    observations is shown as missing with the reason. Comment text is redacted
    (:func:`cxml.text.redact.redact_many`). The same input gives the same bytes.

    Parameters
    ----------
    comments : DataFrame
        Analysed comments, as :func:`cxml.data.read_valid` gives them: ``text`` and any of
        ``themes``, ``theme_sentiment``, ``sentiment``, ``rating``, ``created_at``, ``id``.
    out : str or Path
        The HTML file; the CSV exports are written in its folder (``metrics_over_time.csv``,
        ``themes_by_sentiment.csv``, ``drivers.csv``, ``examples.csv``, ...), replacing files
        of those names. None is called ``themes.csv``, so a discovery folder is safe.
    tickets : DataFrame, default=None
        Tickets (``created_at`` and any of ``rating``, ``reopens`` + ``replies``, ``solved_at``,
        ``at_risk`` from ``cxml score tickets``) for CSAT, FCR, resolution time and the share at
        risk.
    discovered : DiscoveryResult or DataFrame, default=None
        Themes from :func:`cxml.discovery.discover`, or its ``themes`` table (``themes.csv``).
    title : str, default="Customer experience report"
        Page title.
    period : {"D", "W", "M", "Q", "Y"}, default="M"
        Period of the figures over time.
    segment : str, default=None
        A column of ``comments`` to break the headline figures down by (e.g. ``region``).
    score : {"auto", "csat", "nps"}, default="auto"
        The survey score of ``rating``: CSAT 1-5, or NPS 0-10; ``auto`` takes NPS when there are
        ratings of 0 or above 5.
    min_count : int, default=30
        Fewest observations for a figure, and mentions for a driver to be tested.
    confidence : float, default=0.95
        Level of the intervals.
    monitoring : MonitorResult, default=None
        A monitoring job's result (:func:`cxml.monitoring.monitor.monitor`), shown as the
        section :func:`build_monitoring_report` makes a page of.
    trends : TrendsResult, default=None
        Theme spikes and emerging themes (:func:`cxml.monitoring.trends.trends`), shown as the
        section "Trends and emerging themes" (its tests exported as ``trends_tests``).

    Returns
    -------
    ReportResult
    """
    if "text" not in comments:
        raise BadInputError(f"comments need a 'text' column; they have {list(comments.columns)}")
    if len(comments) == 0:
        raise BadInputError("there are no comments to report on")
    if period not in sec.PERIOD_NAMES:
        raise BadInputError(f"period must be one of {list(sec.PERIOD_NAMES)}, got {period!r}")
    if segment is not None and segment not in comments:
        raise BadInputError(f"segment column {segment!r} is not in the comments")
    html = _html_path(out)
    survey = sec.pick_score(comments["rating"], score) if "rating" in comments else None
    frame, specs = sec.comment_specs(comments, survey)
    common: dict[str, Any] = {"min_count": min_count, "confidence": confidence}
    times = sec.created_times(comments)
    context: dict[str, Any] = {
        "title": title,
        "n_comments": len(comments),
        "first": _day(times.min()),
        "last": _day(times.max()),
        "period_name": sec.PERIOD_NAMES[period],
        "confidence": round(100 * confidence),
        "min_count": min_count,
        "score": survey,
        "version": __version__,
        "headlines": sec.headlines(frame, specs, **common) if specs else [],
    }
    exports: dict[str, pd.DataFrame] = {}

    if specs and "created_at" in comments:
        table = sec.trend(frame, specs, period=period, **common)
        exports["metrics_over_time"] = table
        context["over_time"] = _trend_section(table, specs, "period", "comments")
    if specs and segment is not None:
        table = sec.trend(frame, specs, period=None, by=[segment], **common)
        exports["segments"] = table
        context["segments"] = {
            "name": segment,
            **_trend_section(table, specs, segment, None),
            "chart": charts.segment_chart(table, specs, segment=segment),
        }

    themes, source = sec.theme_sentiment_table(comments)
    exports["themes_by_sentiment"] = themes
    context["themes"] = {
        "rows": themes.to_dict(orient="records"),
        "source": source,
        "chart": charts.sentiment_chart(themes) if len(themes) else None,
    }
    if survey is not None and "themes" in comments:
        drivers = sec.drivers(comments, survey, min_count=min_count)
        exports["drivers"] = drivers
        context["drivers"] = {
            "rows": drivers.to_dict(orient="records"),
            "label": specs[0].label,
            "unit": specs[0].unit,
            "alpha": sec.ALPHA,
            "chart": (
                charts.driver_chart(drivers, score_label=specs[0].label, unit=specs[0].unit)
                if drivers["impact"].notna().any()
                else None
            ),
        }
    if discovered is not None:
        table = sec.discovered_table(discovered)
        exports["discovered_themes"] = table
        context["discovered"] = table.to_dict(orient="records")

    examples = sec.examples(
        comments, sec.top_themes(comments, _TOP_THEMES), per_theme=_EXAMPLES_PER_THEME
    )
    exports["examples"] = examples
    records = examples.astype(object).where(examples.notna(), None)
    marks = records["highlights"] if "highlights" in records else [None] * len(records)
    records["pieces"] = pd.Series(
        [_pieces(t, m) if m else None for t, m in zip(records["text"], marks, strict=True)],
        index=records.index,
        dtype=object,
    )
    context["examples"] = [
        (theme, group.to_dict(orient="records"))
        for theme, group in records.groupby("theme", sort=False)
    ]
    if tickets is not None:
        context["tickets"] = _tickets_section(tickets, period, exports, common)
    if monitoring is not None:
        context["monitoring"], tables = monitoring_section(monitoring)
        exports.update(tables)
    if trends is not None:
        context["trends"], tables = trends_section(trends)
        exports.update(tables)
    return _write(html, "report.html.j2", context, exports)


def build_monitoring_report(
    result: MonitorResult, *, out: str | Path, title: str | None = None
) -> ReportResult:
    """Write the HTML page of a monitoring job to ``out``, its tables as CSVs beside it.

    The page holds the alerts in words, the expected (and, with ratings, realized) performance
    by period as a chart and a table, and one row a drift test; like :func:`build_report` it
    embeds its chart, loads nothing and gives the same bytes for the same result.

    Parameters
    ----------
    result : MonitorResult
        What :func:`cxml.monitoring.monitor.monitor` found.
    out : str or Path
        The HTML file; ``monitoring_periods.csv`` (``result.periods``) and
        ``monitoring_tests.csv`` (``result.tests``) are written in its folder, replacing files
        of those names, and nothing else is.
    title : str, default=None
        Page title; None names the model and its version.

    Returns
    -------
    ReportResult
    """
    html = _html_path(out)
    context, exports = monitoring_section(result)
    page = {
        "title": title or f"Monitoring: {result.model_name} version {result.model_version}",
        "version": __version__,
        "monitoring": context,
    }
    return _write(html, "monitoring.html.j2", page, exports)


def _html_path(out: str | Path) -> Path:
    html = Path(out)
    if html.suffix.lower() not in (".html", ".htm"):
        raise BadInputError(f"out must be an .html file, got {str(out)!r}")
    return html


def _write(
    html: Path, template: str, context: dict[str, Any], exports: dict[str, pd.DataFrame]
) -> ReportResult:
    """The CSV exports beside ``html``, then the page (atomically)."""
    paths = {
        name: write_table(_rounded(table), html.parent / f"{name}.csv")
        for name, table in exports.items()
    }
    write_text(html, _render(template, context))
    return ReportResult(html=html, tables=paths)


def _trend_section(
    table: pd.DataFrame, specs: Sequence[sec.MetricSpec], key: str, noun: str | None
) -> dict[str, Any]:
    """Table rows (one per ``key`` value, one cell per figure) and, with ``noun``, the chart."""
    rows = []
    for value, group in table.groupby(key, sort=False):
        records = group.to_dict(orient="records")
        cells = {
            r["metric"]: {**r, "note": r["note"] if isinstance(r["note"], str) else None}
            for r in records
        }
        first = cells[specs[0].name]
        count = int(first["n"] + first["excluded"])
        rows.append({"key": value, "count": count, "cells": [cells[s.name] for s in specs]})
    section: dict[str, Any] = {"specs": specs, "rows": rows}
    if noun is not None:
        section["chart"] = charts.trend_chart(table, specs, noun=noun)
    return section


def _tickets_section(
    tickets: pd.DataFrame,
    period: sec.Period,
    exports: dict[str, pd.DataFrame],
    common: dict[str, Any],
) -> dict[str, Any]:
    if "created_at" not in tickets:
        raise BadInputError(f"tickets need 'created_at'; they have {list(tickets.columns)}")
    specs = sec.ticket_specs(tickets)
    section: dict[str, Any] = {"n": len(tickets), "specs": specs}
    if "rating" in tickets:
        section["binary"] = binary_scale(tickets["rating"], name="ticket ratings")
        ratings = sec.rating_counts(tickets["rating"])
        exports["ticket_ratings"] = ratings
        section["ratings"] = ratings.to_dict(orient="records")
    if specs:
        section["headlines"] = sec.headlines(tickets, specs, **common)
        table = sec.trend(tickets, specs, period=period, **common)
        exports["tickets_over_time"] = table
        section["over_time"] = _trend_section(table, specs, "period", "tickets")
    return section


def _pieces(
    text: str, spans: Sequence[tuple[int, int]], limit: int = _EXAMPLE_CHARS
) -> list[tuple[str, bool]]:
    """``text`` (cut at ``limit`` characters) as pieces, each marked or not: the evidence
    ``spans`` (redacted-text offsets) become ``<mark>`` in the page.

    >>> _pieces("late parcel again", [(0, 4), (12, 17)])
    [('late', True), (' parcel ', False), ('again', True)]
    """
    cut = text if len(text) <= limit else text[: limit - 3]
    pieces: list[tuple[str, bool]] = []
    at = 0
    for start, end in sorted(spans):
        if start < at or end > len(cut):  # overlapping, or beyond the cut
            continue
        pieces.extend([(cut[at:start], False), (cut[start:end], True)])
        at = end
    pieces.append((cut[at:] + ("..." if len(cut) < len(text) else ""), False))
    return [piece for piece in pieces if piece[0]]


def _day(value: pd.Timestamp) -> str | None:
    """The day of an aware UTC time; None when missing."""
    return None if pd.isna(value) else value.strftime("%Y-%m-%d")


def _rounded(table: pd.DataFrame) -> pd.DataFrame:
    """Floats to 4 decimals: the CSVs are for people and spreadsheets."""
    return table.round({c: 4 for c in table.columns if pd.api.types.is_float_dtype(table[c])})


def _number(value: Any, digits: int = 1) -> str:
    """``value`` with ``digits`` decimals and thousands separators; an em dash when missing."""
    if value is None or pd.isna(value):
        return "—"
    return f"{float(value):,.{digits}f}"


def _q_value(value: Any) -> str:
    if value is None or pd.isna(value):
        return "—"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _render(template: str, context: dict[str, Any]) -> str:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("cxml.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = _number
    env.filters["qvalue"] = _q_value
    return env.get_template(template).render(context)
