"""Spikes of each theme against its own recent history: volume share and negative share.

For every theme and period (day, week or month; weeks start Monday, as the monitor counts
them), two shares: the **volume share**, comments that mention the theme among the period's
comments, and the **negative share**, negative mentions among the theme's mentions with a known
polarity (the theme's own polarity from ``theme_sentiment``, else the comment's ``sentiment``).

The test (:func:`spike_tests`) is one-sided, for rises. The baseline is the theme's trailing
``history`` periods (for daily periods, when at least ``min_history`` earlier days fall on the
same weekday, those days: a same-weekday seasonal baseline); a period with fewer than
``min_history`` baseline periods is not tested. The usual share ``p`` pools the baseline's
counts. A rise is significant when two p-values are both below the test's level: the binomial
one (this period's count given a Beta share of mean ``p`` and the variance of the estimate:
beta-binomial) and the quasi-binomial one (the shares' wander from period to period beyond
binomial noise, Pearson's dispersion over the baseline, ``t`` with ``k - 1`` degrees of freedom
for ``k`` baseline periods), so a theme whose share wanders does not alarm on its wander, and a
rare theme is judged on its counts. A period runs
``m`` tests (themes x statistics) at level ``alpha / m`` each (Bonferroni), so a period without
change alerts with probability at most ``alpha``; a test alerts only when the share also rose
by at least a floor of practical size (:data:`FLOORS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special, stats

from cxml.contracts.labels import label_lists, label_maps
from cxml.contracts.times import parse_times
from cxml.errors import BadInputError
from cxml.monitoring.monitor import TEST_COLUMNS as MONITOR_TEST_COLUMNS
from cxml.monitoring.monitor import Alert, Period, period_starts

if TYPE_CHECKING:
    from cxml.discovery.known import KnownThemes

__all__ = [
    "FLOORS",
    "GROWTH",
    "TEST_COLUMNS",
    "SpikeTests",
    "TrendsResult",
    "baseline_windows",
    "known_themes",
    "spike_tests",
    "theme_counts",
    "trends",
]

Statistic = Literal["volume", "negative"]
#: Smallest rise of a share (in share points) that alerts: 2 points of the comments mention the
#: theme, 5 points of the theme's mentions are negative, 5 points of the last period's comments
#: are in an emerging theme (over its earlier share, which it must also triple: :data:`GROWTH`).
FLOORS: dict[str, float] = {"volume": 0.02, "negative": 0.05, "emerging": 0.05}
#: How many times its earlier share an emerging theme's share must be to alert: a cluster that
#: was there before, only less often, is not new.
GROWTH = 3.0
#: Columns of :attr:`TrendsResult.tests`: the monitor's, then the counts behind each share.
TEST_COLUMNS = [
    *MONITOR_TEST_COLUMNS,
    "theme",
    "count",
    "n",
    "usual",
    "low",
    "high",
    "p_value",
]
_FREQ = {"D": "D", "W": "W-MON", "M": "MS"}
_BAND = 0.95


@dataclass(frozen=True)
class SpikeTests:
    """Beta-binomial upper-tail tests of counts against their baselines (arrays, one per test).

    ``usual`` is the baseline share, ``low`` / ``high`` the central 95 % band of this period's
    share under the baseline, ``threshold`` the smallest share that rejects at the test's level
    (before the floor), ``p_value`` the chance of a count at least as large.
    """

    usual: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    threshold: npt.NDArray[np.float64]
    p_value: npt.NDArray[np.float64]


def spike_tests(
    count: npt.ArrayLike,
    n: npt.ArrayLike,
    history_counts: npt.ArrayLike,
    history_n: npt.ArrayLike,
    level: float,
) -> SpikeTests:
    """Test ``count`` of ``n`` against baseline periods' counts (module docstring).

    Parameters
    ----------
    count, n : array-like, shape (...)
        This period's count and the number it is a share of.
    history_counts, history_n : array-like, shape (..., k)
        The baseline periods' counts and totals (periods with ``n = 0`` weigh nothing).
    level : float
        Each test's false-alarm level (``alpha / m``).

    Examples
    --------
    Without wander between periods and a large baseline the test is binomial:

    >>> t = spike_tests(30, 200, [[10_000] * 8], [[100_000] * 8], 0.001)
    >>> round(float(t.p_value[0]), 4), round(float(stats.binom.sf(29, 200, 0.1)), 4)
    (0.0163, 0.0163)
    """
    x = np.atleast_1d(np.asarray(count, dtype=np.float64))
    m = np.broadcast_to(np.asarray(n, dtype=np.float64), x.shape)
    hx = np.asarray(history_counts, dtype=np.float64)
    hn = np.broadcast_to(np.asarray(history_n, dtype=np.float64), hx.shape)
    total = hn.sum(axis=-1)
    p = (hx.sum(axis=-1) + 0.5) / (total + 1.0)  # never 0 or 1: a theme new to the baseline
    pq = p * (1.0 - p)
    df = np.maximum((hn > 0).sum(axis=-1) - 1, 1)
    shares = np.divide(hx, hn, out=np.zeros_like(hx), where=hn > 0)
    dispersion = (hn * (shares - p[..., None]) ** 2).sum(axis=-1) / (df * pq)
    safe = np.maximum(m, 1.0)
    scale = np.sqrt(dispersion * pq * (1.0 / safe + 1.0 / np.maximum(total, 1.0)))
    t_value = np.divide(x / safe - p, scale, out=np.full_like(p, np.inf), where=scale > 0)
    # the binomial count given a Beta share of mean p and the variance of the estimate p
    pmf = _betabinom_pmf(m, p * total, (1.0 - p) * total)
    cdf = np.cumsum(pmf, axis=-1)
    above = 1.0 - np.concatenate([np.zeros((*cdf.shape[:-1], 1)), cdf[..., :-1]], axis=-1)
    inside = np.arange(pmf.shape[-1]) <= m[..., None]
    count = np.clip(x, 0, m).astype(np.int64)[..., None]
    binomial_p = np.take_along_axis(above, count, axis=-1)[..., 0]
    low, high = (1 - _BAND) / 2, (1 + _BAND) / 2
    return SpikeTests(
        usual=p,
        low=np.minimum(_first(cdf >= low), np.floor(m * (p + stats.t.ppf(low, df) * scale))) / safe,
        high=np.maximum(_first(cdf >= high), np.ceil(m * (p + stats.t.ppf(high, df) * scale)))
        / safe,
        threshold=np.maximum(
            _first((above <= level) & inside, default=m + 1),
            np.ceil(m * (p + stats.t.isf(level, df) * scale)),
        )
        / safe,
        p_value=np.clip(np.maximum(binomial_p, stats.t.sf(t_value, df)), 0.0, 1.0),
    )


def _betabinom_pmf(
    n: npt.NDArray[np.float64], a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Beta-binomial probabilities of ``0 .. max(n)`` (zero beyond each ``n``), normalised in
    log space so that a nearly binomial one (huge ``a + b``) keeps its precision."""
    j = np.arange(int(n.max(initial=0)) + 1, dtype=np.float64)
    nn, aa, bb = n[..., None], a[..., None], b[..., None]
    inside = j <= nn
    rest = np.where(inside, nn - j, 0.0)
    log = (
        special.gammaln(nn + 1)
        - special.gammaln(j + 1)
        - special.gammaln(rest + 1)
        + special.betaln(j + aa, rest + bb)
    )
    log = np.where(inside, log, -np.inf)
    pmf: npt.NDArray[np.float64] = np.exp(log - special.logsumexp(log, axis=-1, keepdims=True))
    return pmf


def _first(mask: npt.NDArray[np.bool_], default: Any = np.nan) -> npt.NDArray[np.float64]:
    """Position of the first True along the last axis (``default`` where there is none)."""
    found = mask.any(axis=-1)
    return np.where(found, mask.argmax(axis=-1), default).astype(np.float64)


def baseline_windows(
    starts: Sequence[pd.Timestamp], period: Period, *, history: int = 8, min_history: int = 4
) -> list[list[int]]:
    """Positions of each period's baseline in ``starts`` (consecutive periods, oldest first).

    The ``history`` periods before it; for days, the same weekday's when ``min_history`` of
    them exist. Empty when fewer than ``min_history`` periods are available.

    >>> days = list(pd.date_range("2026-01-05", periods=30, freq="D", tz="UTC"))
    >>> baseline_windows(days, "D", history=8, min_history=4)[29]
    [1, 8, 15, 22]
    >>> baseline_windows(days, "D")[5]
    [0, 1, 2, 3, 4]
    """
    windows = []
    for t in range(len(starts)):
        seasonal = list(range(t - 7, -1, -7))[:history][::-1] if period == "D" else []
        trailing = list(range(max(0, t - history), t))
        chosen = seasonal if len(seasonal) >= min_history else trailing
        windows.append(chosen if len(chosen) >= min_history else [])
    return windows


def theme_counts(comments: pd.DataFrame, period: Period) -> tuple[pd.DataFrame, dict[str, int]]:
    """Per period and theme: ``rows`` (the period's comments), ``mentions``, ``polar`` (mentions
    with a known polarity) and ``negative``, every period from the first to the last present.

    Themes come from ``themes`` (classified: a list per comment) or else ``theme`` (discovered:
    one per comment, empty or ``outlier`` for none); the counts dict says rows read, rows
    without a time and rows in no theme.
    """
    if "created_at" not in comments:
        raise BadInputError("trends need a created_at column: the time of each comment")
    times = parse_times(comments["created_at"]).values
    counts = {"rows_read": len(comments), "no_time": int(times.isna().sum())}
    timed = comments[times.notna()]
    if timed.empty:
        raise BadInputError("no comment has a created_at time: nothing to put in periods")
    starts = period_starts(times[times.notna()], period)
    themes = _themes(timed)
    polarity = _polarities(timed, themes)
    counts["no_theme"] = sum(not t for t in themes)
    records = [
        (start, theme, pol)
        for start, names, pols in zip(starts, themes, polarity, strict=True)
        for theme, pol in zip(names, pols, strict=True)
    ]
    mentions = pd.DataFrame(records, columns=["period", "theme", "polarity"])
    calendar = pd.date_range(starts.min(), starts.max(), freq=_FREQ[period])
    rows = starts.value_counts().reindex(calendar, fill_value=0)
    names = sorted(mentions["theme"].unique())
    index = pd.MultiIndex.from_product([calendar, names], names=["period", "theme"])
    grouped = mentions.groupby(["period", "theme"])["polarity"]
    table = pd.DataFrame(
        {
            "mentions": grouped.size(),
            "polar": grouped.count(),
            "negative": grouped.agg(lambda s: int((s == "negative").sum())),
        }
    )
    table = table.reindex(index, fill_value=0).astype(int).reset_index()
    table.insert(2, "rows", rows.reindex(table["period"]).to_numpy())
    return table, counts


@dataclass
class TrendsResult:
    """What :func:`trends` found.

    Attributes
    ----------
    period : str
        ``D``, ``W`` or ``M``.
    periods : DataFrame
        One row a period: ``period`` (its first day), ``rows``, ``tests`` and ``alerts``.
    tests : DataFrame
        One row a theme, statistic and tested period, columns :data:`TEST_COLUMNS`; emerging
        themes add rows of kind ``emerging``.
    emerging : DataFrame
        The emerging themes (:func:`cxml.discovery.emerging.find_emerging`), empty when not
        looked for.
    counts : dict of str to int
        Rows read, rows without a time, rows in no theme.
    alpha : float
        The chance that a period without change raised any alert.
    """

    period: str
    periods: pd.DataFrame
    tests: pd.DataFrame
    emerging: pd.DataFrame = field(default_factory=pd.DataFrame)
    counts: dict[str, int] = field(default_factory=dict)
    alpha: float = 0.01

    @property
    def alerts(self) -> list[Alert]:
        """The tests that fired, in period order."""
        fired = self.tests[self.tests["alert"].astype(bool)]
        return [
            Alert(str(r["period"]), str(r["test"]), str(r["message"]), r["value"], r["threshold"])
            for r in fired.to_dict("records")
        ]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary shaped like the monitor's (:class:`MonitorResult`)."""
        periods = self.periods.astype(object).where(self.periods.notna(), None)
        emerging = self.emerging.astype(object).where(self.emerging.notna(), None)
        return {
            "task": "trends",
            "model": None,
            "period": self.period,
            "alpha": self.alpha,
            "alerts": [alert.__dict__ for alert in self.alerts],
            "periods": periods.to_dict("records"),
            "counts": self.counts,
            "ratings": None,
            "emerging": emerging.to_dict("records"),
        }


def trends(
    comments: pd.DataFrame,
    *,
    period: Period = "W",
    alpha: float = 0.01,
    history: int = 8,
    min_history: int = 4,
    known: KnownThemes | None = None,
    min_size: int = 10,
) -> TrendsResult:
    """Test each theme's volume and negative share, period by period, against its history.

    Parameters
    ----------
    comments : DataFrame
        ``created_at`` and themes: ``themes`` (lists, classified) or ``theme`` (discovered);
        optionally ``theme_sentiment`` and / or ``sentiment`` for the negative share.
    period : {"D", "W", "M"}, default="W"
        Length of a period.
    alpha : float, default=0.01
        Chance that a period without change raises any alert.
    history, min_history : int, default=8, 4
        Baseline periods used, and fewest needed for a test (:func:`baseline_windows`).
    known : KnownThemes, default=None
        With a ``text`` column: look for emerging themes in the last period's comments against
        these (:func:`cxml.discovery.emerging.find_emerging`, the earlier comments as
        ``earlier``). One alerts when its share of the last period's comments is at least
        ``FLOORS["emerging"]`` above and :data:`GROWTH` times its earlier share, and its test
        against the earlier share rejects at ``alpha`` over the number of emerging clusters
        (Bonferroni).
    min_size : int, default=10
        Fewest comments an emerging theme has.
    """
    if not 0 < alpha < 1:
        raise BadInputError(f"alpha must be between 0 and 1, got {alpha}")
    if not 1 <= min_history <= history:
        raise BadInputError(f"need 1 <= min_history <= history, got {min_history}, {history}")
    table, counts = theme_counts(comments, period)
    starts = list(pd.Index(table["period"]).unique())
    themes = sorted(table["theme"].unique())
    windows = baseline_windows(starts, period, history=history, min_history=min_history)
    wide = {
        name: table.pivot(index="period", columns="theme", values=name).reindex(
            index=starts, columns=themes
        )
        for name in ("rows", "mentions", "polar", "negative")
    }
    has_polarity = bool(table["polar"].sum())
    statistics: list[Statistic] = ["volume", "negative"] if has_polarity else ["volume"]
    period_rows, test_rows = [], []
    for t, start in enumerate(starts):
        label = start.strftime("%Y-%m-%d")
        window = windows[t]
        rows = int(wide["rows"].iloc[t].max()) if themes else 0
        tested = [] if not window or not themes else statistics
        level = alpha / max(len(tested) * len(themes), 1)
        for statistic in tested:
            part, whole = ("mentions", "rows") if statistic == "volume" else ("negative", "polar")
            x, n = wide[part].to_numpy(), wide[whole].to_numpy()
            result = spike_tests(x[t], n[t], x[window].T, n[window].T, level)
            test_rows.extend(_rows(label, statistic, themes, x[t], n[t], result))
        fired = sum(r["alert"] for r in test_rows if r["period"] == label)
        tests = len(tested) * len(themes)
        period_rows.append({"period": label, "rows": rows, "tests": tests, "alerts": fired})
    emerging = pd.DataFrame()
    if known is not None and starts:
        emerging, found = _emerging(comments, known, period, alpha, min_size)
        test_rows.extend(found)
        period_rows[-1]["alerts"] += sum(r["alert"] for r in found)
    return TrendsResult(
        period=period,
        periods=pd.DataFrame(period_rows, columns=["period", "rows", "tests", "alerts"]),
        tests=pd.DataFrame(test_rows, columns=TEST_COLUMNS),
        emerging=emerging,
        counts=counts,
        alpha=alpha,
    )


def known_themes(
    comments: pd.DataFrame, period: Period, *, encoder: str = "auto"
) -> KnownThemes | None:
    """The themes the comments before the last period were given (``themes`` or ``theme``), as
    known themes to find emerging ones against
    (:meth:`~cxml.discovery.known.KnownThemes.from_comments`); None without text, or when no
    earlier comment has a theme."""
    from cxml.discovery.known import KnownThemes

    if "text" not in comments or "created_at" not in comments:
        return None
    times = parse_times(comments["created_at"]).values
    timed = comments[times.notna()].reset_index(drop=True)
    if timed.empty:
        return None
    starts = period_starts(times[times.notna()], period).reset_index(drop=True)
    earlier = timed[(starts < starts.max()).to_numpy()]
    themes = _themes(earlier)
    has = [bool(t) for t in themes]
    if not any(has):
        return None
    texts = earlier["text"].astype(str).to_numpy(dtype=object)[has]
    return KnownThemes.from_comments(list(texts), [t for t in themes if t], encoder=encoder)


def _emerging(
    comments: pd.DataFrame, known: KnownThemes, period: Period, alpha: float, min_size: int
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Emerging themes of the last period against ``known`` and the earlier comments, and a
    test row each (``alert`` when large enough and rarer earlier)."""
    from cxml.discovery.emerging import find_emerging

    if "text" not in comments:
        raise BadInputError("emerging themes need a text column")
    times = parse_times(comments["created_at"]).values
    timed = comments[times.notna()].reset_index(drop=True)
    starts = period_starts(times[times.notna()], period).reset_index(drop=True)
    last = (starts == starts.max()).to_numpy()
    found = find_emerging(
        timed[last].reset_index(drop=True),
        known,
        earlier=timed[~last].reset_index(drop=True) if (~last).any() else None,
        min_size=min_size,
        periods=starts[last].reset_index(drop=True),
        earlier_periods=starts[~last].reset_index(drop=True) if (~last).any() else None,
        alpha=alpha,
    )
    label = starts.max().strftime("%Y-%m-%d")
    floor = FLOORS["emerging"]
    level = alpha / max(len(found.themes), 1)
    rows = []
    for theme in found.themes.to_dict("records"):
        share, before = float(theme["share"]), float(theme["earlier_share"])
        example = str(theme["representatives"][0]) if len(theme["representatives"]) else ""
        earlier = "" if np.isnan(before) else f", earlier {_pct(before)}"
        rows.append(
            {
                "period": label,
                "test": f"emerging.{theme['id']}",
                "kind": "emerging",
                "statistic": "binomial",
                "value": share,
                "threshold": max(floor + np.nan_to_num(before), GROWTH * np.nan_to_num(before)),
                "floor": floor,
                "alert": bool(
                    share - np.nan_to_num(before) >= floor
                    and share >= GROWTH * np.nan_to_num(before)
                    and not theme["p_value"] >= level
                ),
                "reference": "" if np.isnan(before) else _pct(before),
                "current": _pct(share),
                "message": f"new theme {theme['theme']!r} in {_pct(share)} of the period's "
                f"comments ({int(theme['size'])}{earlier}), e.g. {example[:80]!r}",
                "theme": str(theme["theme"]),
                "count": int(theme["size"]),
                "n": int(last.sum()),
                "usual": before,
                "low": np.nan,
                "high": np.nan,
                "p_value": float(theme["p_value"]),
            }
        )
    return found.themes, rows


def _rows(
    label: str,
    statistic: Statistic,
    themes: list[str],
    x: npt.NDArray[Any],
    n: npt.NDArray[Any],
    result: SpikeTests,
) -> list[dict[str, Any]]:
    floor = FLOORS[statistic]
    rows = []
    for i, theme in enumerate(themes):
        if n[i] == 0:
            continue
        value = x[i] / n[i]
        usual, low, high = result.usual[i], result.low[i], result.high[i]
        threshold = max(float(result.threshold[i]), usual + floor)
        alert = bool(value >= threshold)
        said = (
            f"mentioned by {_pct(value)} of comments"
            if statistic == "volume"
            else f"negative in {_pct(value)} of its mentions"
        )
        rows.append(
            {
                "period": label,
                "test": f"{theme}.{statistic}",
                "kind": statistic,
                "statistic": "beta_binomial",
                "value": value,
                "threshold": threshold,
                "floor": floor,
                "alert": alert,
                "reference": f"{usual:.1%}",
                "current": f"{value:.1%}",
                "message": f"theme {theme!r} {said} (usual {_pct(usual)}, "
                f"95 % band {low * 100:.1f}-{_pct(high)})",
                "theme": theme,
                "count": int(x[i]),
                "n": int(n[i]),
                "usual": usual,
                "low": low,
                "high": high,
                "p_value": float(result.p_value[i]),
            }
        )
    return rows


def _pct(value: float) -> str:
    """A share in the alert wording: ``0.181`` -> ``18.1 %``."""
    return f"{value * 100:.1f} %"


def _themes(comments: pd.DataFrame) -> list[list[str]]:
    """Each comment's themes: the ``themes`` lists, or the discovered ``theme`` (one or none)."""
    if "themes" in comments:
        return [sorted(set(t)) for t in label_lists(comments["themes"], "themes")]
    if "theme" in comments:
        outlier = comments["outlier"].fillna(False).astype(bool) if "outlier" in comments else None
        names = comments["theme"].astype("string").fillna("").str.strip()
        if outlier is not None:
            names = names.where(~outlier.to_numpy(), "")
        return [[name] if name else [] for name in names]
    raise BadInputError(
        "trends need themes: a themes column (cxml analyze comments) or a theme column "
        "(cxml discover's assignments)"
    )


def _polarities(comments: pd.DataFrame, themes: list[list[str]]) -> list[list[str | None]]:
    """Each mention's polarity: the theme's own, else the comment's sentiment, else None."""
    maps: list[dict[str, str]] = (
        label_maps(comments["theme_sentiment"], "theme_sentiment")
        if "theme_sentiment" in comments
        else [{} for _ in themes]
    )
    overall: list[str | None] = (
        [s if isinstance(s, str) and s else None for s in comments["sentiment"]]
        if "sentiment" in comments
        else [None] * len(themes)
    )
    return [
        [own.get(t, whole) for t in names]
        for names, own, whole in zip(themes, maps, overall, strict=True)
    ]
