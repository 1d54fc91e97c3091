"""The figures and tables of a report, from analysed comments, tickets and discovered themes.

Every figure comes from :mod:`cxml.metrics` with its confidence interval and minimum-count guard;
this module picks the metrics the data supports and shapes tables for the template and the CSV
exports. Comment text that leaves here (examples, representative comments, discovered terms) has
been through :func:`cxml.text.redact.redact_many`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from cxml.contracts.labels import THEME_POLARITIES, label_lists, label_maps
from cxml.contracts.outputs import evidence_key
from cxml.contracts.ratings import RATING_LABELS, RATING_SCALE, parse_ratings
from cxml.contracts.times import parse_times
from cxml.errors import BadInputError
from cxml.metrics import driver_table, metric_table
from cxml.metrics.cx import Metric
from cxml.text.redact import redact_many, redact_spans

if TYPE_CHECKING:
    from cxml.discovery import DiscoveryResult

__all__ = [
    "ALL_COMMENTS",
    "ALPHA",
    "PERIOD_NAMES",
    "Headline",
    "MetricSpec",
    "comment_specs",
    "created_times",
    "discovered_table",
    "drivers",
    "examples",
    "headlines",
    "pick_score",
    "rating_counts",
    "theme_sentiment_table",
    "ticket_specs",
    "top_themes",
    "trend",
]

Score = Literal["csat", "nps"]
Period = Literal["D", "W", "M", "Q", "Y"]
#: Each period in words.
PERIOD_NAMES: dict[str, str] = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}
#: A driver is marked significant when its Benjamini-Hochberg q-value is below this.
ALPHA = 0.05
#: The pseudo-theme of examples and sentiment bars when the comments carry no themes.
ALL_COMMENTS = "all comments"
_EXAMPLE_ORDER = ("negative", "positive", "neutral", "conflict")


@dataclass(frozen=True)
class MetricSpec:
    """One figure of the report and how :func:`cxml.metrics.metric_table` computes it."""

    name: str
    label: str
    unit: str
    metric: Metric
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Headline:
    """An overall figure with its interval; ``value`` is NaN and ``note`` says why when guarded."""

    spec: MetricSpec
    value: float
    ci_low: float
    ci_high: float
    n: int
    note: str | None


def pick_score(ratings: pd.Series, score: Literal["auto", "csat", "nps"]) -> Score:
    """The survey score of ``ratings``: NPS when ``auto`` finds answers of 0 or above 5."""
    if score in ("csat", "nps"):
        return score
    if score != "auto":
        raise BadInputError(f"score must be 'auto', 'csat' or 'nps', got {score!r}")
    values = pd.to_numeric(ratings, errors="coerce").dropna()
    return "nps" if len(values) and (values.min() < 1 or values.max() > 5) else "csat"


def comment_specs(
    comments: pd.DataFrame, score: Score | None
) -> tuple[pd.DataFrame, list[MetricSpec]]:
    """The comment figures the columns support, and the frame they are computed on.

    The share of negative comments is CSAT on the "good/bad" scale of a helper column that
    labels negative comments "good": a Wilson interval and the same minimum-count guard.
    """
    specs = []
    if score == "csat":
        specs.append(MetricSpec("csat", "CSAT", "%", "csat"))
    elif score == "nps":
        specs.append(MetricSpec("nps", "NPS", " points", "nps"))
    if "sentiment" in comments:
        sentiment = comments["sentiment"]
        labels = pd.Series(np.where(sentiment == "negative", "good", "bad"), index=comments.index)
        comments = comments.assign(_negative=labels.where(sentiment.notna()))
        options = {"column": "_negative", "scale": "good/bad"}
        specs.append(MetricSpec("negative_share", "Negative comments", "%", "csat", options))
    return comments, specs


def ticket_specs(tickets: pd.DataFrame) -> list[MetricSpec]:
    """The ticket figures the columns support: CSAT, FCR, resolution time, share at risk."""
    columns = set(tickets.columns)
    wanted = [
        ({"rating"}, MetricSpec("csat", "Ticket CSAT", "%", "csat")),
        ({"reopens", "replies"}, MetricSpec("fcr", "First-contact resolution", "%", "fcr")),
        (
            {"solved_at"},
            MetricSpec(
                "resolution_time_median",
                "Median resolution time",
                " h",
                "resolution_time",
                {"statistic": "median"},
            ),
        ),
        (
            {"at_risk"},
            MetricSpec("at_risk", "At risk of a bad rating", "%", "fcr", {"column": "at_risk"}),
        ),
    ]
    return [spec for needs, spec in wanted if needs <= columns]


def rating_counts(ratings: pd.Series) -> pd.DataFrame:
    """Rated tickets per rating (1 to 5, then good and bad) and their share (%) of all rated.

    >>> rating_counts(pd.Series(["good", "bad", "Good", None])).values.tolist()
    [['good', 2, 66.7], ['bad', 1, 33.3]]
    """
    parsed = parse_ratings(ratings)[0].dropna()
    counts = parsed.value_counts()
    order = [*range(RATING_SCALE[0], RATING_SCALE[1] + 1), *RATING_LABELS]
    rows = [(str(r), int(counts[r])) for r in order if r in counts.index]
    table = pd.DataFrame(rows, columns=["rating", "tickets"])
    table["share"] = (100 * table["tickets"] / max(len(parsed), 1)).round(1)
    return table


def headlines(
    frame: pd.DataFrame, specs: Sequence[MetricSpec], *, min_count: int, confidence: float
) -> list[Headline]:
    """Each figure over the whole ``frame``."""
    table = trend(frame, specs, period=None, min_count=min_count, confidence=confidence)
    return [
        Headline(
            spec,
            float(row["value"]),
            float(row["ci_low"]),
            float(row["ci_high"]),
            int(row["n"]),
            row["note"] if isinstance(row["note"], str) else None,
        )
        for spec, row in zip(specs, table.to_dict(orient="records"), strict=True)
    ]


def trend(
    frame: pd.DataFrame,
    specs: Sequence[MetricSpec],
    *,
    period: Period | None,
    by: Sequence[str] = (),
    min_count: int,
    confidence: float,
) -> pd.DataFrame:
    """Each figure by ``by`` and ``period`` (``str`` labels, ``"unknown"`` for missing times).

    Returns
    -------
    DataFrame
        The columns of :func:`cxml.metrics.metric_table` with ``metric`` set to the spec's name,
        one block of rows per spec.
    """
    tables = []
    for spec in specs:
        table = metric_table(
            frame,
            spec.metric,
            by=by,
            period=period,
            min_count=min_count,
            confidence=confidence,
            **spec.options,
        )
        table["metric"] = spec.name
        tables.append(table)
    out = pd.concat(tables, ignore_index=True)
    for key in [*by, *(["period"] if period else [])]:
        out[key] = [
            ("unknown" if key == "period" else "missing") if pd.isna(v) else str(v)
            for v in out[key]
        ]
    return out


def theme_sentiment_table(comments: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Mentions of each theme by polarity, largest first, and where the polarity came from.

    Polarity is the theme's own (``theme_sentiment``) when the comments have it, else the
    sentiment of the comment mentioning the theme; without themes, one row of all comments.

    Returns
    -------
    (DataFrame, str)
        Columns ``theme``, ``mentions``, the polarities (counts) and ``negative_share``
        (% of mentions); and a phrase naming the source, for the report.
    """
    pairs: list[tuple[str, str]]
    maps = _theme_maps(comments) if "theme_sentiment" in comments else []
    if any(maps):
        pairs = [(t, p) for m in maps for t, p in m.items()]
        source = "theme-level sentiment"
    elif "sentiment" in comments:
        lists = _theme_lists(comments)
        themes = lists if any(lists) else [[ALL_COMMENTS]] * len(comments)
        sentiment = comments["sentiment"].tolist()
        pairs = [
            (t, str(s)) for ts, s in zip(themes, sentiment, strict=True) if pd.notna(s) for t in ts
        ]
        source = "the sentiment of the comments" + (" mentioning each theme" if any(lists) else "")
    else:
        pairs, source = [], "no sentiment in the data"
    mentions = pd.DataFrame(pairs, columns=["theme", "polarity"])
    counts = pd.crosstab(mentions["theme"], mentions["polarity"]).reindex(
        columns=list(THEME_POLARITIES), fill_value=0
    )
    counts.insert(0, "mentions", counts.sum(axis=1))
    counts = counts[counts["mentions"] > 0]
    counts["negative_share"] = 100 * counts["negative"] / counts["mentions"]
    table = counts.rename_axis(index="theme", columns=None).reset_index()
    table = table.sort_values(["mentions", "theme"], ascending=[False, True], ignore_index=True)
    return table, source


def drivers(comments: pd.DataFrame, score: Score, *, min_count: int) -> pd.DataFrame:
    """:func:`cxml.metrics.driver_table` plus ``significant`` (q-value below :data:`ALPHA`)."""
    scale = (1, 5) if score == "csat" else (0, 10)
    table = driver_table(comments, score=score, scale=scale, min_count=min_count)
    table["significant"] = table["q_value"].lt(ALPHA)
    return table


def examples(comments: pd.DataFrame, themes: Sequence[str], *, per_theme: int = 3) -> pd.DataFrame:
    """A few redacted comments per theme, mixing polarities, most recent first.

    For each theme the most recent comment of each polarity is taken in the order negative,
    positive, neutral, conflict, then the second most recent of each, until ``per_theme``.
    Every comment belongs to :data:`ALL_COMMENTS`.

    Returns
    -------
    DataFrame
        Columns ``theme``, ``polarity``, ``rating``, ``date``, ``id``, ``text`` (redacted), and
        ``highlights`` when the comments carry ``evidence`` (from ``--evidence``): the
        ``(start, end)`` spans of the redacted text behind the theme (or, for
        :data:`ALL_COMMENTS`, the sentiment), those redaction touched left out.
    """
    frame = comments.reset_index(drop=True)
    lists = _theme_lists(frame)
    maps = _theme_maps(frame) if "theme_sentiment" in frame else [{}] * len(frame)
    overall = frame["sentiment"].tolist() if "sentiment" in frame else [None] * len(frame)
    times = created_times(frame)
    recent = times.sort_values(ascending=False, kind="stable", na_position="last").index
    has_text = frame["text"].notna().to_numpy()
    with_text = [i for i in recent.tolist() if has_text[i]]
    rows: list[tuple[str, int, str]] = []
    for theme in themes:
        candidates = []
        for i in with_text:
            if theme != ALL_COMMENTS and theme not in lists[i]:
                continue
            polarity = maps[i].get(theme, overall[i])
            candidates.append((i, "" if pd.isna(polarity) else str(polarity)))
        rows.extend((theme, i, polarity) for i, polarity in _mix(candidates, per_theme))
    picked = pd.DataFrame(rows, columns=["theme", "row", "polarity"])
    source = frame.iloc[picked["row"].to_numpy()].reset_index(drop=True)
    out = picked[["theme", "polarity"]].copy()
    out["rating"] = source.get("rating", pd.NA)
    out["date"] = times.iloc[picked["row"].to_numpy()].dt.strftime("%Y-%m-%d").to_numpy()
    out["id"] = source.get("id", pd.NA)
    out["text"] = redact_many(source["text"].astype(str))
    if "evidence" in source:
        marked = [
            redact_spans(text, _evidence_spans(found, theme))
            for text, found, theme in zip(
                source["text"].astype(str), source["evidence"], out["theme"], strict=True
            )
        ]
        out["highlights"] = pd.Series([spans for _, spans in marked], dtype=object)
    return out


def _evidence_spans(found: Any, theme: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` of the evidence of ``theme`` (and its polarity), or of the
    sentiment for :data:`ALL_COMMENTS`, in an ``evidence`` cell as a file gives it back (a
    mapping, Parquet's key-value pairs or JSON text); anything else has none."""
    if isinstance(found, str):
        try:
            found = json.loads(found)
        except json.JSONDecodeError:
            return []
    if isinstance(found, list | np.ndarray):
        found = {pair[0]: pair[1] for pair in found if len(pair) == 2}
    if not isinstance(found, Mapping):
        return []
    keys = [evidence_key("sentiment")]
    if theme != ALL_COMMENTS:
        keys = [evidence_key("theme", theme), evidence_key("theme_sentiment", theme)]
    spans = [span for key in keys for span in (found.get(key) or [])]
    return [
        (int(span["start"]), int(span["end"]))
        for span in spans
        if isinstance(span, Mapping) and {"start", "end"} <= set(span)
    ]


def _mix(candidates: list[tuple[int, str]], k: int) -> list[tuple[int, str]]:
    """The first ``k`` of ``candidates`` taken round-robin over polarities (in example order)."""
    seen: dict[str, int] = {}
    keyed = []
    for position, (row, polarity) in enumerate(candidates):
        rank = seen[polarity] = seen.get(polarity, -1) + 1
        kind = _EXAMPLE_ORDER.index(polarity) if polarity in _EXAMPLE_ORDER else len(_EXAMPLE_ORDER)
        keyed.append((rank, kind, position, row, polarity))
    return [(row, polarity) for *_, row, polarity in sorted(keyed)[:k]]


def discovered_table(
    discovered: DiscoveryResult | pd.DataFrame, *, n_terms: int = 8
) -> pd.DataFrame:
    """The discovered themes: label, size, share (%), top terms and one representative comment.

    ``discovered`` is a :class:`~cxml.discovery.DiscoveryResult` or its ``themes`` table, as
    returned or as read back from ``themes.csv`` (lists as JSON text). Terms and the comment are
    redacted.
    """
    themes = discovered if isinstance(discovered, pd.DataFrame) else discovered.themes
    missing = [c for c in ("theme", "size", "top_terms", "representatives") if c not in themes]
    if missing:
        raise BadInputError(
            f"discovered themes lack column(s) {missing}; they have {list(themes.columns)}"
        )
    terms = ["; ".join(_as_list(v)[:n_terms]) for v in themes["top_terms"]]
    first = [next(iter(_as_list(v)), "") for v in themes["representatives"]]
    share = pd.to_numeric(themes.get("share", np.nan), errors="coerce")
    return pd.DataFrame(
        {
            "theme": redact_many(themes["theme"].astype(str)).to_numpy(),
            "size": pd.to_numeric(themes["size"], errors="coerce").to_numpy(),
            "share": 100 * np.asarray(share, dtype=float),
            "top_terms": redact_many(terms).to_numpy(),
            "representative": redact_many(first).to_numpy(),
        }
    )


def top_themes(comments: pd.DataFrame, k: int) -> list[str]:
    """The ``k`` most mentioned themes (ties by name); :data:`ALL_COMMENTS` when none is."""
    counts = Counter(t for themes in _theme_lists(comments) for t in themes)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [t for t, _ in ranked[:k]] or [ALL_COMMENTS]


def _theme_lists(comments: pd.DataFrame) -> list[list[str]]:
    """Theme names per comment (missing = none), read as the validator reads them; an empty
    list when there is no themes column."""
    if "themes" not in comments:
        return []
    return label_lists(comments["themes"], "themes")


def _theme_maps(comments: pd.DataFrame) -> list[dict[str, str]]:
    """Theme -> polarity per comment (missing = none), read as the validator reads them."""
    return label_maps(comments["theme_sentiment"], "theme_sentiment")


def _as_list(value: Any) -> list[str]:
    """The ranked terms or comments of a discovered theme, in their order, from a list, array or
    JSON list text (``themes.csv``); anything else is empty. Not :func:`label_lists`, which
    sorts labels and splits text at ``;``."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return [value] if value else []
    if isinstance(value, list | tuple | np.ndarray):
        return [str(v) for v in value]
    return []


def created_times(comments: pd.DataFrame) -> pd.Series:
    """``created_at`` as aware UTC times by :func:`cxml.contracts.times.parse_times` (NaT when
    missing or no time)."""
    if "created_at" not in comments:
        return pd.Series(pd.NaT, index=comments.index, dtype="datetime64[ns, UTC]")
    return parse_times(comments["created_at"]).values
