"""Customer-experience metrics with confidence intervals, overall or by segment and period.

Units: CSAT, FCR, retention, churn and referral are percentages (0-100); NPS is in points (-100 to
100); CES is the mean answer on its own scale; resolution time is in hours.

Every metric returns a :class:`MetricResult`. Inputs that cannot be used (missing, outside the
scale, unparseable, a ticket not solved yet) are left out and counted in ``excluded``. With fewer
than ``min_count`` usable observations, value and interval are NaN and ``note`` says why: a CSAT of
100 % from three answers is noise, not news.

Intervals are two-sided at level ``confidence``:

* proportions (CSAT, FCR, retention, churn, referral): Wilson score interval;
* NPS: normal approximation with the variance of a difference of multinomial shares,
  ``(p_promoters + p_detractors - (p_promoters - p_detractors) ** 2) / n``, clipped to the scale;
* means (CES, mean resolution time): Student t interval;
* median resolution time: distribution-free order-statistic interval
  (:func:`scipy.stats.quantile_test`).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Collection, Hashable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
from scipy import stats

from cxml.contracts.ratings import binary_scale
from cxml.contracts.times import utc_ns
from cxml.errors import BadInputError

__all__ = [
    "METRICS",
    "MetricResult",
    "ces",
    "churn",
    "csat",
    "fcr",
    "first_contact_resolved",
    "metric_table",
    "nps",
    "referral",
    "resolution_time",
    "retention",
]

Metric = Literal["csat", "nps", "ces", "fcr", "resolution_time", "retention", "churn", "referral"]
#: Metric names accepted by :func:`metric_table`.
METRICS: tuple[str, ...] = get_args(Metric)
_PERIODS = ("D", "W", "M", "Q", "Y")
_RESULT_COLUMNS = ["metric", "value", "ci_low", "ci_high", "n", "excluded", "scale", "note"]
_BOOLS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}
_BOOLS |= {"1.0": True, "0.0": False, "y": True, "n": False}
#: Fewest numeric answers for a scale mismatch to be an error; with fewer it is a warning.
SCALE_EVIDENCE = 30


@dataclass(frozen=True)
class MetricResult:
    """One metric value with its confidence interval.

    Attributes
    ----------
    metric : str
        ``csat``, ``nps``, ``ces``, ``fcr``, ``resolution_time_mean``, ``resolution_time_median``,
        ``retention``, ``churn`` or ``referral``.
    value : float
        The metric (units in the module docstring); NaN when ``n < min_count``.
    ci_low, ci_high : float
        Confidence interval; NaN with the value.
    n : int
        Observations used: responses, tickets or customers.
    excluded : int
        Input rows left out (missing, outside the scale, unparseable, not solved, ...).
    scale : str or None
        The answer scale (``"1-5"``, ``"0-10"``, ``"good/bad"``), or ``"hours"``.
    note : str or None
        Why the value is NaN, else None.
    """

    metric: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    excluded: int = 0
    scale: str | None = None
    note: str | None = None


def csat(
    ratings: Any,
    *,
    scale: tuple[int, int] | Literal["good/bad", "auto"] = "auto",
    good: tuple[int, int] | None = None,
    confidence: float = 0.95,
    min_count: int = 30,
    check_scale: bool = True,
) -> MetricResult:
    """Customer satisfaction: the percentage of satisfied answers.

    Parameters
    ----------
    ratings : array-like of shape (n_responses,)
        Survey answers: numbers on ``scale``, or ``"good"`` / ``"bad"`` labels.
    scale : (int, int), "good/bad" or "auto", default="auto"
        Lowest and highest answer; ``"good/bad"`` gives good / (good + bad), other labels (such as
        "offered") being excluded; ``"auto"`` is ``"good/bad"`` when the answers are good / bad
        labels, else ``(1, 5)``, and answers mixing numbers and labels are a
        :class:`BadInputError` (:func:`cxml.contracts.ratings.binary_scale`).
    good : (int, int), default=None
        Lowest and highest satisfied answer; None means the top two points (4-5 on 1-5).
    confidence : float, default=0.95
        Level of the Wilson interval.
    min_count : int, default=30
        Fewest usable answers for a value.
    check_scale : bool, default=True
        Refuse answers on another scale: when more than a tenth of the numeric answers lie
        above ``scale`` (0-10 NPS answers read as 1-5 CSAT, say), a :class:`BadInputError`
        from :data:`SCALE_EVIDENCE` numeric answers on, a warning below that. Fewer answers
        above the scale are typos: excluded and counted.

    Returns
    -------
    MetricResult

    Examples
    --------
    >>> csat([5, 4, 4, 3, 1], min_count=1).value
    60.0
    >>> csat(["good", "bad", "good", "good"], min_count=1).value
    75.0
    """
    _check_options(confidence, min_count)
    if scale == "auto":
        scale = _auto_scale(ratings)
    if scale == "good/bad":
        labels = pd.Series(ratings, dtype="string").str.strip().str.lower()
        valid = labels.isin(["good", "bad"]).to_numpy(dtype=bool)
        hits = (labels == "good").to_numpy(dtype=bool, na_value=False)
        k, n = int(hits[valid].sum()), int(valid.sum())
        return _proportion("csat", k, n, len(valid) - n, "good/bad", confidence, min_count)
    values, valid = _on_scale(ratings, scale)
    if check_scale:
        _check_scale("csat", values, scale)
    lo, hi = _good_range(scale, good)
    k = int(((values >= lo) & (values <= hi) & valid).sum())
    n = int(valid.sum())
    return _proportion("csat", k, n, len(valid) - n, _label(scale), confidence, min_count)


def nps(
    scores: Any, *, confidence: float = 0.95, min_count: int = 30, check_scale: bool = True
) -> MetricResult:
    """Net Promoter Score: the percentage of promoters (9-10) minus that of detractors (0-6).

    Parameters
    ----------
    scores : array-like of shape (n_responses,)
        Answers 0-10; others are excluded.
    confidence : float, default=0.95
        Level of the normal-approximation interval.
    min_count : int, default=30
        Fewest usable answers for a value.
    check_scale : bool, default=True
        Refuse answers that are all within 1-5 (a CSAT scale, on which every answer would be a
        detractor and the score -100): a :class:`BadInputError` from :data:`SCALE_EVIDENCE`
        numeric answers on, a warning below that, where a small unhappy sample could do it.

    Returns
    -------
    MetricResult
        ``value`` in points, from -100 to 100.

    Examples
    --------
    >>> nps([10, 9, 8, 7, 0], min_count=1).value
    20.0
    """
    _check_options(confidence, min_count)
    values, valid = _on_scale(scores, (0, 10))
    if check_scale:
        _check_scale("nps", values, (0, 10))
    n = int(valid.sum())
    excluded = len(valid) - n
    if (guarded := _guard("nps", n, excluded, "0-10", min_count, "responses")) is not None:
        return guarded
    promoters = float((values[valid] >= 9).mean())
    detractors = float((values[valid] <= 6).mean())
    score = promoters - detractors
    half = stats.norm.ppf(0.5 + confidence / 2) * np.sqrt((promoters + detractors - score**2) / n)
    low, high = max(score - float(half), -1.0), min(score + float(half), 1.0)
    return MetricResult("nps", 100 * score, 100 * low, 100 * high, n, excluded, "0-10")


def ces(
    scores: Any,
    *,
    scale: tuple[int, int] = (1, 7),
    confidence: float = 0.95,
    min_count: int = 30,
) -> MetricResult:
    """Customer effort score: the mean answer, recorded with its scale.

    Whether high means easy depends on the question (CES 2.0 "the company made it easy",
    1-7: high is good); ``scale`` in the result keeps the two apart.

    Parameters
    ----------
    scores : array-like of shape (n_responses,)
        Answers on ``scale``; others are excluded.
    scale : (int, int), default=(1, 7)
        Lowest and highest answer.
    confidence : float, default=0.95
        Level of the t interval.
    min_count : int, default=30
        Fewest usable answers for a value.

    Returns
    -------
    MetricResult
    """
    _check_options(confidence, min_count)
    values, valid = _on_scale(scores, scale)
    return _mean("ces", values[valid], len(valid), _label(scale), confidence, min_count)


def first_contact_resolved(tickets: pd.DataFrame, *, max_replies: int = 1) -> pd.Series:
    """Whether each ticket was resolved on first contact.

    A ticket is resolved on first contact when it is solved, was never reopened and got at most
    ``max_replies`` public replies (the one answer that solved it; 0 counts too, e.g. solved on
    the phone).

    Parameters
    ----------
    tickets : DataFrame
        Columns ``reopens`` and ``replies``; ``solved_at`` when present (empty = still open).
    max_replies : int, default=1
        Most public replies of a first-contact resolution.

    Returns
    -------
    Series of boolean dtype
        NA for open tickets and for missing or unparseable counts.
    """
    _require(tickets, ["reopens", "replies"])
    reopens = pd.to_numeric(tickets["reopens"], errors="coerce")
    replies = pd.to_numeric(tickets["replies"], errors="coerce")
    resolved = ((reopens == 0) & (replies <= max_replies)).astype("boolean")
    unknown = reopens.isna() | replies.isna()
    if "solved_at" in tickets:
        unknown |= np.isnat(utc_ns(tickets["solved_at"]))
    return resolved.mask(unknown, pd.NA)


def fcr(
    resolved: Any,
    *,
    max_replies: int = 1,
    confidence: float = 0.95,
    min_count: int = 30,
) -> MetricResult:
    """First-contact resolution: the percentage of solved tickets resolved on first contact.

    Parameters
    ----------
    resolved : array-like of shape (n_tickets,) or DataFrame
        Booleans (``True``/``False``, 1/0, yes/no; missing = not solved, excluded), or a tickets
        frame read by :func:`first_contact_resolved`.
    max_replies : int, default=1
        Passed to :func:`first_contact_resolved` when ``resolved`` is a frame.
    confidence : float, default=0.95
        Level of the Wilson interval.
    min_count : int, default=30
        Fewest solved tickets for a value.

    Returns
    -------
    MetricResult
    """
    _check_options(confidence, min_count)
    if isinstance(resolved, pd.DataFrame):
        resolved = first_contact_resolved(resolved, max_replies=max_replies)
    flags = _flags(resolved)
    n = int(flags.notna().sum())
    k = int(flags.fillna(False).sum())
    return _proportion("fcr", k, n, len(flags) - n, None, confidence, min_count, "tickets")


def resolution_time(
    created: Any,
    solved: Any,
    *,
    statistic: Literal["mean", "median"] = "median",
    confidence: float = 0.95,
    min_count: int = 30,
) -> MetricResult:
    """Hours from creation to resolution, mean or median.

    Parameters
    ----------
    created, solved : array-like of shape (n_tickets,)
        Timestamps (datetimes or ISO 8601 strings, read by :mod:`cxml.contracts.times`). Open
        tickets (no ``solved``), unparseable times and tickets solved before they were created
        are excluded.
    statistic : {"mean", "median"}, default="median"
        The median (with an order-statistic interval) resists the long tail of slow tickets.
    confidence : float, default=0.95
        Level of the interval.
    min_count : int, default=30
        Fewest solved tickets for a value.

    Returns
    -------
    MetricResult
        ``metric`` is ``resolution_time_mean`` or ``resolution_time_median``.
    """
    _check_options(confidence, min_count)
    if statistic not in ("mean", "median"):
        raise BadInputError(f"statistic must be 'mean' or 'median', got {statistic!r}")
    start = utc_ns(pd.Series(created))
    end = utc_ns(pd.Series(solved))
    if len(start) != len(end):
        raise BadInputError(f"created has {len(start)} values but solved has {len(end)}")
    hours = (end - start) / np.timedelta64(1, "h")
    valid = np.isfinite(hours) & (hours >= 0)
    name = f"resolution_time_{statistic}"
    if statistic == "mean":
        return _mean(name, hours[valid], len(hours), "hours", confidence, min_count, "tickets")
    n, excluded = int(valid.sum()), int((~valid).sum())
    if (guarded := _guard(name, n, excluded, "hours", min_count, "tickets")) is not None:
        return guarded
    median = float(np.median(hours[valid]))
    ci = stats.quantile_test(hours[valid], q=median, p=0.5).confidence_interval(confidence)
    return MetricResult(name, median, float(ci.low), float(ci.high), n, excluded, "hours")


def retention(
    active: Collection[Hashable],
    next_active: Collection[Hashable],
    *,
    confidence: float = 0.95,
    min_count: int = 30,
) -> MetricResult:
    """The percentage of customers active in a period who are active again in the next one.

    Parameters
    ----------
    active : collection of ids
        Customers active in the period (duplicates count once; missing ids are excluded).
    next_active : collection of ids
        Customers active in the next period.
    confidence : float, default=0.95
        Level of the Wilson interval.
    min_count : int, default=30
        Fewest customers for a value.

    Returns
    -------
    MetricResult
    """
    return _customer_share("retention", active, next_active, False, confidence, min_count)


def churn(
    active: Collection[Hashable],
    next_active: Collection[Hashable],
    *,
    confidence: float = 0.95,
    min_count: int = 30,
) -> MetricResult:
    """The percentage of customers active in a period who are not active in the next one.

    Parameters are those of :func:`retention`; churn is 100 minus retention.
    """
    return _customer_share("churn", active, next_active, True, confidence, min_count)


def referral(
    customers: Collection[Hashable],
    referrers: Collection[Hashable],
    *,
    confidence: float = 0.95,
    min_count: int = 30,
) -> MetricResult:
    """The percentage of active customers who referred someone.

    Parameters
    ----------
    customers : collection of ids
        Customers active in the period.
    referrers : collection of ids
        Customers who made a referral in the period.
    confidence : float, default=0.95
        Level of the Wilson interval.
    min_count : int, default=30
        Fewest customers for a value.

    Returns
    -------
    MetricResult
    """
    return _customer_share("referral", customers, referrers, False, confidence, min_count)


def metric_table(
    frame: pd.DataFrame,
    metric: Metric,
    *,
    by: Sequence[str] = (),
    period: Literal["D", "W", "M", "Q", "Y"] | None = None,
    time: str = "created_at",
    column: str | None = None,
    customer: str = "customer_id",
    confidence: float = 0.95,
    min_count: int = 30,
    **options: Any,
) -> pd.DataFrame:
    """One metric per segment and period, as a tidy table.

    Parameters
    ----------
    frame : DataFrame
        Survey answers or tickets, one row each.
    metric : {"csat", "nps", "ces", "fcr", "resolution_time", "retention", "churn", "referral"}
        What to compute.
    by : sequence of str, default=()
        Segment columns; missing segment values form a group of their own.
    period : {"D", "W", "M", "Q", "Y"}, default=None
        Calendar period (in UTC) of ``time`` (pandas period alias), or None for no periods. Rows
        whose time is missing or unparseable get period NaT, a NaN value and a note.
    time : str, default="created_at"
        The timestamp column (also the start of resolution time).
    column : str, default=None
        The column the metric reads. Survey metrics: the answers (default ``rating``). FCR: a
        boolean column, or None to derive it from ``reopens``, ``replies`` and ``solved_at``.
        Resolution time: the end time (default ``solved_at``). Referral (required): a boolean
        column marking rows where the customer referred someone (missing = no). Unused by
        retention and churn.
    customer : str, default="customer_id"
        Customer id column of retention, churn and referral.
    confidence : float, default=0.95
        Level of the intervals.
    min_count : int, default=30
        Fewest observations for a value in a row.
    **options
        Passed to the metric function: ``scale``, ``good`` and ``check_scale`` for :func:`csat`,
        ``check_scale`` for :func:`nps`, ``scale`` for :func:`ces`, ``max_replies`` for
        :func:`fcr`, ``statistic`` for :func:`resolution_time`. The scale of CSAT and NPS
        answers is checked once on the whole column, not in each group.

    Returns
    -------
    DataFrame
        Columns ``*by``, ``period`` (when ``period`` is given), then ``metric``, ``value``,
        ``ci_low``, ``ci_high``, ``n``, ``excluded``, ``scale``, ``note``; sorted by the keys.
        Retention and churn of period *t* follow the customers active in *t* (in the row's
        segment) into *t + 1* (in any segment); the last period has no value.

    Examples
    --------
    >>> df = pd.DataFrame({"region": ["a", "a", "b"], "rating": [5, 2, 4]})
    >>> metric_table(df, "csat", by=["region"], min_count=1)[["region", "value", "n"]]
      region  value  n
    0      a   50.0  2
    1      b  100.0  1
    """
    if metric not in METRICS:
        raise BadInputError(f"metric must be one of {list(METRICS)}, got {metric!r}")
    _check_options(confidence, min_count)
    if period is not None and period not in _PERIODS:
        raise BadInputError(f"period must be one of {list(_PERIODS)} or None, got {period!r}")
    by = list(by)
    keys = [*by, "period"] if period is not None else by
    _require(frame, by + ([time] if period is not None else []))
    work = frame.reset_index(drop=True)
    if period is not None:
        work["period"] = pd.Series(utc_ns(work[time]), index=work.index).dt.to_period(period)
    common = {"confidence": confidence, "min_count": min_count}
    if metric in ("retention", "churn", "referral"):
        if options:
            raise BadInputError(f"{metric} takes no options, got {sorted(options)}")
        rows = _customer_rows(work, metric, keys, column, customer, time, common)
    else:
        compute = _survey_metric(work, metric, time, column, {**options, **common})
        rows = []
        for key, group in _groups(work, keys):
            result = compute(group)
            if period is not None and pd.isna(key["period"]):
                result = _no_value(result, len(group), f"missing or unparseable {time}")
            rows.append({**key, **asdict(result)})
    return pd.DataFrame(rows, columns=[*keys, *_RESULT_COLUMNS])


def _survey_metric(
    frame: pd.DataFrame, metric: str, time: str, column: str | None, options: dict[str, Any]
) -> Callable[[pd.DataFrame], MetricResult]:
    """A function computing a non-customer metric on a group of ``frame``'s rows."""
    functions: dict[str, Callable[..., MetricResult]] = {
        "csat": csat,
        "nps": nps,
        "ces": ces,
        "fcr": fcr,
        "resolution_time": resolution_time,
    }
    function = functions[metric]
    parameters = inspect.signature(function).parameters.values()
    allowed = [p.name for p in parameters if p.kind is p.KEYWORD_ONLY]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise BadInputError(f"{metric} takes no option(s) {unknown}; it takes {allowed}")
    if metric == "resolution_time":
        end = column or "solved_at"
        _require(frame, [time, end])
        return lambda g: resolution_time(g[time], g[end], **options)
    if metric == "fcr" and column is None:
        _require(frame, ["reopens", "replies"])
        return lambda g: fcr(g, **options)
    source = column or "rating"
    _require(frame, [source])
    if metric in ("csat", "nps"):  # one check of the whole column, not of each small group
        defaults = {p.name: p.default for p in parameters}
        scale = options.get("scale", defaults["scale"]) if metric == "csat" else (0, 10)
        if scale == "auto":
            scale = options["scale"] = _auto_scale(frame[source], column=source)
        if options.get("check_scale", True) and scale != "good/bad":
            numbers = _on_scale(frame[source], scale)[0]
            _check_scale(metric, numbers, scale, column=source, stacklevel=4)
        options = {**options, "check_scale": False}
    return lambda g: function(g[source], **options)


def _customer_rows(
    work: pd.DataFrame,
    metric: str,
    keys: list[str],
    column: str | None,
    customer: str,
    time: str,
    common: dict[str, Any],
) -> list[dict[str, Any]]:
    """Rows of retention, churn or referral: one share of customers per segment and period."""
    if "period" not in keys:
        raise BadInputError(f"{metric} needs a period (one of {list(_PERIODS)})")
    if metric == "referral" and column is None:
        raise BadInputError("referral needs column=, a boolean column marking referrals")
    _require(work, [customer] + ([column] if column else []))
    ids, periods = work[customer], work["period"]
    known = ids.notna() & periods.notna()
    if metric == "referral":
        hit = _flags(work[column]).fillna(False).to_numpy(dtype=bool)
    else:
        later = pd.MultiIndex.from_arrays([ids[known], periods[known] + 1])
        seen = pd.MultiIndex.from_arrays([ids[known], periods[known]])
        hit = np.zeros(len(work), dtype=bool)
        hit[known.to_numpy()] = later.isin(seen)
        if metric == "churn":
            hit = ~hit
    last = periods[known].max() if known.any() else None
    work = work.assign(_hit=hit, _known=known)
    rows = []
    for key, group in _groups(work, keys):
        per_customer = group[group["_known"]].groupby(customer)["_hit"].any()
        k, n = int(per_customer.sum()), len(per_customer)
        excluded = int((~group["_known"]).sum())
        result = _proportion(metric, k, n, excluded, None, noun="customers", **common)
        if pd.isna(key["period"]):
            result = _no_value(result, len(group), f"missing or unparseable {time}")
        elif metric != "referral" and key["period"] == last:
            result = replace(_no_value(result, excluded, "no next period in the data"), n=n)
        rows.append({**key, **asdict(result)})
    return rows


def _groups(frame: pd.DataFrame, keys: list[str]) -> Iterator[tuple[dict[str, Any], pd.DataFrame]]:
    """``(key values, rows)`` per group, missing keys kept; the whole frame when no keys."""
    if not keys:
        yield {}, frame
        return
    for values, group in frame.groupby(keys, dropna=False, sort=True, observed=True):
        yield dict(zip(keys, values, strict=True)), group


def _customer_share(
    metric: str,
    customers: Collection[Hashable],
    hits: Collection[Hashable],
    complement: bool,
    confidence: float,
    min_count: int,
) -> MetricResult:
    """Share of distinct non-missing ``customers`` found in ``hits`` (or not, for churn)."""
    _check_options(confidence, min_count)
    ids = pd.Series(list(customers), dtype=object)
    unique = pd.Index(ids.dropna().unique())
    found = unique.isin(pd.Index(list(hits), dtype=object))
    k = int((~found).sum() if complement else found.sum())
    excluded = int(ids.isna().sum())
    return _proportion(metric, k, len(unique), excluded, None, confidence, min_count, "customers")


def _proportion(
    metric: str,
    k: int,
    n: int,
    excluded: int,
    scale: str | None,
    confidence: float,
    min_count: int,
    noun: str = "responses",
) -> MetricResult:
    """``100 k / n`` with a Wilson score interval."""
    if (guarded := _guard(metric, n, excluded, scale, min_count, noun)) is not None:
        return guarded
    ci = stats.binomtest(k, n).proportion_ci(confidence, method="wilson")
    low, high = 100 * float(ci.low), 100 * float(ci.high)
    return MetricResult(metric, 100 * k / n, low, high, n, excluded, scale)


def _mean(
    metric: str,
    values: np.ndarray,
    total: int,
    scale: str,
    confidence: float,
    min_count: int,
    noun: str = "responses",
) -> MetricResult:
    """Mean of ``values`` (taken from ``total`` inputs) with a t interval."""
    n, excluded = len(values), total - len(values)
    if (guarded := _guard(metric, n, excluded, scale, min_count, noun)) is not None:
        return guarded
    mean = float(values.mean())
    sem = float(stats.sem(values)) if n > 1 else np.nan
    low, high = (mean, mean) if sem == 0 else stats.t.interval(confidence, n - 1, mean, sem)
    return MetricResult(metric, mean, float(low), float(high), n, excluded, scale)


def _guard(
    metric: str, n: int, excluded: int, scale: str | None, min_count: int, noun: str
) -> MetricResult | None:
    """A NaN result saying why, when ``n < min_count``; else None."""
    if n >= min_count:
        return None
    note = f"no usable {noun}" if n == 0 else f"fewer than {min_count} {noun} ({n})"
    return MetricResult(metric, np.nan, np.nan, np.nan, n, excluded, scale, note)


def _no_value(result: MetricResult, excluded: int, note: str) -> MetricResult:
    """``result`` without a value: its rows are all ``excluded`` for the reason ``note``."""
    return replace(
        result, value=np.nan, ci_low=np.nan, ci_high=np.nan, n=0, excluded=excluded, note=note
    )


def _on_scale(values: Any, scale: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """``values`` as floats and the mask of those that are numbers within ``scale``."""
    if not (isinstance(scale, tuple) and len(scale) == 2 and scale[0] < scale[1]):
        raise BadInputError(f"scale must be (lowest, highest) with lowest < highest, got {scale!r}")
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
    floats = numbers.to_numpy(dtype=float, na_value=np.nan)
    return floats, np.isfinite(floats) & (floats >= scale[0]) & (floats <= scale[1])


def _check_scale(
    metric: str,
    values: np.ndarray,
    scale: tuple[int, int],
    *,
    column: str | None = None,
    stacklevel: int = 3,
) -> None:
    """Refuse numeric ``values`` (of ``column``) on another scale than ``metric`` on ``scale``.

    See ``check_scale`` of :func:`csat` and :func:`nps`.
    """
    answers = values[np.isfinite(values)]
    if not len(answers):
        return
    ratings = f"ratings in column {column!r}" if column else "ratings"
    if metric == "nps":
        if answers.min() < 1 or answers.max() > 5:
            return
        problem = (
            f"all {len(answers):,} {ratings} are between 1 and 5, but NPS answers are 0-10 "
            "(every answer would be a detractor); for a 1-5 scale use the csat metric"
        )
    else:
        above = int((answers > scale[1]).sum())
        if above <= 0.1 * len(answers):
            return
        problem = (
            f"{above:,} of {len(answers):,} {ratings} are above the CSAT scale {_label(scale)} "
            f"(up to {answers.max():g}); for 0-10 answers use the nps metric, or give the scale"
        )
    if len(answers) >= SCALE_EVIDENCE:
        raise BadInputError(problem)
    warnings.warn(
        f"{problem} (too few ratings to be sure; check_scale=False silences this)",
        stacklevel=stacklevel,
    )


def _auto_scale(
    ratings: Any, *, column: str | None = None
) -> tuple[int, int] | Literal["good/bad"]:
    """``"good/bad"`` for good / bad labels, else 1-5; a mix of both is a BadInputError."""
    name = f"ratings in column {column!r}" if column else "ratings"
    return "good/bad" if binary_scale(ratings, name=name) else (1, 5)


def _good_range(scale: tuple[int, int], good: tuple[int, int] | None) -> tuple[int, int]:
    """The satisfied answers: ``good``, checked against ``scale``, or the top two points."""
    if good is None:
        return scale[1] - 1, scale[1]
    if not (len(good) == 2 and scale[0] <= good[0] <= good[1] <= scale[1]):
        raise BadInputError(f"good must be a (lowest, highest) range within {scale}, got {good!r}")
    return good


def _label(scale: tuple[int, int]) -> str:
    return f"{scale[0]}-{scale[1]}"


def _flags(values: Any) -> pd.Series:
    """Booleans from bools, 1/0, true/false, yes/no; anything else is NA."""
    text = pd.Series(values, dtype=object).reset_index(drop=True).astype("string")
    return text.str.strip().str.lower().map(_BOOLS).astype("boolean")


def _require(frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise BadInputError(f"missing column(s) {missing}; the frame has {list(frame.columns)}")


def _check_options(confidence: float, min_count: int) -> None:
    if not 0 < confidence < 1:
        raise BadInputError(f"confidence must be between 0 and 1 (exclusive), got {confidence!r}")
    if min_count < 1:
        raise BadInputError(f"min_count must be at least 1, got {min_count!r}")
