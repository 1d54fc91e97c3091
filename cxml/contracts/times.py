"""One rule for time, used by every part of cxml that reads a timestamp.

* Times are aware UTC :class:`pandas.Timestamp` values in nanoseconds; a stamp without an offset
  is UTC.
* ISO 8601 is always read (``2026-06-30``, ``2026-06-30T10:00:00+09:00``, ``20260630``).
* A value outside what pandas can represent (``pd.Timestamp.min`` .. ``pd.Timestamp.max``, about
  1677-09-21 .. 2262-04-11) is rejected with that reason, never wrapped around.
* A bare number (``12345``) is not a date.
* Day/month forms (``06/30/2026``, ``30.06.2026``, ``01/08/2023``) are read in the order
  ``dayfirst`` gives; a value that is no date in that order is rejected saying so. When the
  order is not given, a value valid in one order only is read in it, and a value that reads as
  two different dates is ambiguous: :class:`DateColumns` (the validator's) then stops with an
  error that asks for ``dayfirst``, as it does for a column that mixes both orders.
* Other text forms need a month name, a day and a four-digit year (``June 30, 2026``); a value
  that would leave parts of the date to be guessed (``Jun 30``, ``10:00``) is no date.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from cxml.errors import BadInputError, DataError

__all__ = [
    "DAYFIRST_HINT",
    "MAX",
    "MIN",
    "RANGE",
    "DateColumns",
    "Times",
    "looks_numeric",
    "parse_instant",
    "parse_times",
    "read_instant",
    "time_flags",
    "to_utc",
    "utc_ns",
]

#: The earliest and latest moments pandas represents (nanoseconds in an int64).
MIN = pd.Timestamp.min.tz_localize("UTC")
MAX = pd.Timestamp.max.tz_localize("UTC")
RANGE = f"{MIN:%Y-%m-%d}..{MAX:%Y-%m-%d}"
DAYFIRST_HINT = "set data.dayfirst: true or false (on the command line --dayfirst or --monthfirst)"

#: Ticket times that cannot come before another: (later, earlier).
_ORDER = (("first_response_at", "created_at"), ("solved_at", "created_at"))
_NAT = np.datetime64("NaT", "ns")
#: The range in coarser units, inclusive: the first moment in it rounded up, the last down.
_BOUNDS = {
    unit: np.array([-(-MIN.value // per), MAX.value // per]).astype(f"datetime64[{unit}]")
    for unit, per in (("s", 10**9), ("ms", 10**6), ("us", 10**3))
}
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_BEYOND_MICROSECONDS = re.compile(r"(\.\d{6})\d+")
_DAY_MONTH = r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})(?!\d)(.*)$"
_MONTH_NAME = r"(?i:\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))"
_WORDY_DATE = rf"(?=.*{_MONTH_NAME})(?=.*(?<!\d)\d{{4}}(?!\d))(?=.*(?<!\d)\d{{1,2}}(?!\d)).*"


@dataclass(frozen=True)
class Times:
    """A column of parsed times.

    Attributes
    ----------
    values : pandas.Series
        ``datetime64[ns, UTC]`` with the index of the input; ``NaT`` where missing or bad.
    bad : numpy.ndarray of bool
        Given, but not a time cxml can use.
    reasons : numpy.ndarray of object
        Why each bad value is bad (``""`` elsewhere).
    month_first, day_first : numpy.ndarray of bool
        Day/month forms that are a date in that order only.
    ambiguous : numpy.ndarray of bool
        Day/month forms that read as two different dates (bad unless ``dayfirst`` was given).
    """

    values: pd.Series
    bad: np.ndarray
    reasons: np.ndarray
    month_first: np.ndarray
    day_first: np.ndarray
    ambiguous: np.ndarray


class _Column:
    """Results being filled in, position by position: naive UTC nanoseconds and reasons."""

    def __init__(self, n: int) -> None:
        self.stamps = np.full(n, _NAT)
        self.reasons = np.full(n, "", dtype=object)
        self.month_first = np.zeros(n, dtype=bool)
        self.day_first = np.zeros(n, dtype=bool)
        self.ambiguous = np.zeros(n, dtype=bool)

    def place(self, positions: np.ndarray, times: np.ndarray, given: np.ndarray) -> None:
        """Store naive UTC ``times`` (any unit) at ``positions``; those outside the range are
        bad (compared in their own unit, before anything is converted)."""
        unit = np.datetime_data(times.dtype)[0]
        outside = np.zeros(len(times), dtype=bool)
        if unit != "ns":
            low, high = _BOUNDS[unit]
            outside = ~np.isnat(times) & ((times < low) | (times > high))
        kept = times.copy()
        kept[outside] = np.datetime64("NaT")
        self.stamps[positions] = kept.astype("datetime64[ns]")
        for i in np.flatnonzero(outside):
            self.reasons[positions[i]] = _outside(given[i])


def parse_times(values: Any, *, dayfirst: bool | None = None) -> Times:
    """Parse a column of times by the module's rule.

    Parameters
    ----------
    values : Series or sequence
        Text, datetimes (``datetime``, ``Timestamp``, ``datetime64``), or a datetime column.
        Missing values (None, NaN, NaT, blank text) stay missing and are not bad.
    dayfirst : bool, default=None
        Order of day/month forms; None: only unambiguous ones are read.

    Returns
    -------
    Times
    """
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    column = _parse(series, dayfirst)
    return Times(
        values=pd.Series(column.stamps, index=series.index).dt.tz_localize("UTC"),
        bad=column.reasons != "",
        reasons=column.reasons,
        month_first=column.month_first,
        day_first=column.day_first,
        ambiguous=column.ambiguous,
    )


def utc_ns(values: Any) -> np.ndarray:
    """Times as naive UTC ``datetime64[ns]``, ``NaT`` where missing or bad (for features).

    Ambiguous day/month forms are ``NaT`` too: there is no order to ask for here.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    return _parse(series, None).stamps


def to_utc(moment: datetime | np.datetime64) -> pd.Timestamp | None:
    """One datetime as an aware UTC Timestamp (a naive one is UTC); None when outside the range.

    The quick path for values that are already datetimes (the service's request fields).
    """
    try:
        stamp = pd.Timestamp(moment)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    except (OverflowError, ValueError):  # OutOfBoundsDatetime is a ValueError
        return None
    if pd.isna(stamp) or not MIN <= stamp <= MAX:
        return None
    return stamp.as_unit("ns")


def looks_numeric(value: Any) -> bool:
    """A number, or text that is one (``12345``, ``20260630``): parsers that read these as Unix
    times (pydantic) must leave them to :func:`read_instant`."""
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, str):
        return _NUMBER.fullmatch(value.strip()) is not None
    return isinstance(value, int | float | np.number)


def read_instant(value: Any) -> tuple[pd.Timestamp | None, str]:
    """One moment by the module's rule: ``(time, "")``, or ``(None, why not)``.

    Missing values are not moments. Day/month forms must be unambiguous.
    """
    column = _parse(pd.Series([value], dtype=object), None)
    if np.isnat(column.stamps[0]):
        return None, column.reasons[0] or f"not a date/time (got {value!r})"
    return pd.Timestamp(column.stamps[0]).tz_localize("UTC"), ""


def parse_instant(value: Any, *, name: str) -> pd.Timestamp:
    """:func:`read_instant`, raising :class:`BadInputError` that names the option ``name``."""
    stamp, problem = read_instant(value)
    if stamp is None:
        raise BadInputError(f"{name}: {problem}")
    return stamp


def time_flags(frame: pd.DataFrame, as_of: pd.Timestamp | None = None) -> Counter[str]:
    """Counts of rows whose parsed times are out of order.

    ``solved_at before created_at`` and ``first_response_at before created_at``, and
    ``created_at after the scoring moment``: the row's own ``as_of`` when it has one, else
    ``as_of`` (no such flag when neither is given). The ticket features treat the durations of
    these rows as missing.
    """
    flags: Counter[str] = Counter()
    for later, earlier in _ORDER:
        if later in frame and earlier in frame:
            flags[f"{later} before {earlier}"] = int((frame[later] < frame[earlier]).sum())
    if "created_at" in frame:
        moment = np.full(len(frame), _NAT)
        if "as_of" in frame:
            moment = utc_ns(frame["as_of"])
        given = None if as_of is None else to_utc(as_of)
        if given is not None:
            moment[np.isnat(moment)] = np.datetime64(given.tz_localize(None))
        created = utc_ns(frame["created_at"])
        flags["created_at after the scoring moment"] = int(np.sum(created > moment))
    return +flags


class DateColumns:
    """Parse the time columns of one file chunk by chunk, under one day/month order.

    With ``dayfirst`` None, a value that reads as two dates, or a column whose values are valid
    month-first only and day-first only (in any chunks), is a :class:`DataError` that names the
    file, field, row and value, and asks for ``dayfirst``.
    """

    def __init__(self, source: str, dayfirst: bool | None = None) -> None:
        self.source = source
        self.dayfirst = dayfirst
        self._seen: dict[tuple[str, str], tuple[int, Any]] = {}

    def parse(self, name: str, values: pd.Series, rows: pd.Series) -> Times:
        """:func:`parse_times` of column ``name``; ``rows`` are the file's row numbers."""
        times = parse_times(values, dayfirst=self.dayfirst)
        if self.dayfirst is None:
            self._check_order(name, times, values, rows)
        return times

    def _check_order(self, name: str, times: Times, values: pd.Series, rows: pd.Series) -> None:
        if times.ambiguous.any():
            i = int(np.flatnonzero(times.ambiguous)[0])
            raise DataError(
                f"{self.source}: {name} on row {rows.iloc[i]} is {values.iloc[i]!r}, which could "
                f"be day first or month first; {DAYFIRST_HINT}"
            )
        for order, mask in (("month first", times.month_first), ("day first", times.day_first)):
            if mask.any() and (name, order) not in self._seen:
                i = int(np.flatnonzero(mask)[0])
                self._seen[name, order] = (int(rows.iloc[i]), values.iloc[i])
        if (name, "month first") in self._seen and (name, "day first") in self._seen:
            (r1, v1), (r2, v2) = self._seen[name, "month first"], self._seen[name, "day first"]
            raise DataError(
                f"{self.source}: {name} mixes month-first dates (row {r1}: {v1!r}) and "
                f"day-first dates (row {r2}: {v2!r}); {DAYFIRST_HINT}"
            )


def _parse(series: pd.Series, dayfirst: bool | None) -> _Column:
    column = _Column(len(series))
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        # the array's own methods: the ``.dt`` accessor costs 20 times more on one row
        utc = np.asarray(series.array.tz_convert("UTC").tz_localize(None))
        column.place(np.arange(len(series)), utc, series.to_numpy(dtype=object))
    elif pd.api.types.is_datetime64_dtype(series.dtype):
        column.place(np.arange(len(series)), series.to_numpy(), series.to_numpy(dtype=object))
    else:
        _parse_objects(column, series.to_numpy(dtype=object), dayfirst)
    return column


def _parse_objects(column: _Column, objects: np.ndarray, dayfirst: bool | None) -> None:
    """Parse an object array: text, datetimes, and anything else (which is bad)."""
    missing = pd.isna(objects)
    kind = pd.api.types.infer_dtype(objects, skipna=True)
    if kind == "empty":
        return
    if kind == "string":
        text = ~missing
    else:
        text = np.fromiter((isinstance(v, str) for v in objects), dtype=bool, count=len(objects))
        stamps = ~missing & np.fromiter(
            (isinstance(v, date | np.datetime64) for v in objects), dtype=bool, count=len(objects)
        )
        if stamps.any():
            positions = np.flatnonzero(stamps)
            given = objects[positions]
            column.place(positions, _naive_utc(pd.to_datetime(given, utc=True)), given)
        for i in np.flatnonzero(~missing & ~text & ~stamps):
            column.reasons[i] = _not_a_date(objects[i])
    positions = np.flatnonzero(text)
    stripped = np.array([s.strip() for s in objects[positions]], dtype=object)
    given = stripped != ""
    if given.any():
        _parse_text(column, positions[given], stripped[given], dayfirst)


def _parse_text(
    column: _Column, positions: np.ndarray, text: np.ndarray, dayfirst: bool | None
) -> None:
    """ISO 8601 first (vectorised); day/month and worded forms only for what is left.

    ISO 8601 reads ``2026`` as a year: digits alone, but for ``YYYYMMDD``, are not read."""
    number = np.fromiter(
        (s.isascii() and s.isdigit() and len(s) != 8 for s in text), dtype=bool, count=len(text)
    )
    dates = text.copy()
    dates[number] = None
    iso = _iso(dates)
    done = ~np.isnat(iso)
    column.place(positions[done], iso[done], text[done])
    left = np.flatnonzero(~done & ~number)
    if len(left):  # NaT above if outside the range while another value needed nanoseconds
        cut = np.array([_BEYOND_MICROSECONDS.sub(r"\1", s) for s in text[left]], dtype=object)
        outside = ~np.isnat(_iso(cut))
        for i in left[outside]:
            column.reasons[positions[i]] = _outside(text[i])
        left = left[~outside]
    if len(left):
        _parse_other(column, positions[left], pd.Series(text[left], dtype=object), dayfirst)
    for i in np.flatnonzero(number):
        column.reasons[positions[i]] = _not_a_date(text[i])


def _naive_utc(times: pd.DatetimeIndex | pd.Series) -> np.ndarray:
    """Aware times as naive UTC ``datetime64`` in their own unit (``asi8`` is UTC; NaT stays)."""
    index = times if isinstance(times, pd.DatetimeIndex) else pd.DatetimeIndex(times)
    return index.asi8.view(f"datetime64[{index.unit}]")


def _iso(text: np.ndarray) -> np.ndarray:
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce", cache=False)
    return _naive_utc(parsed)


def _dateutil(text: pd.Series, dayfirst: bool) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.to_datetime(text, format="mixed", dayfirst=dayfirst, utc=True, errors="coerce")


def _parse_other(
    column: _Column, positions: np.ndarray, text: pd.Series, dayfirst: bool | None
) -> None:
    """Day/month forms (``30.06.2026``) in the right order, worded forms (``June 30, 2026``)."""
    given = text.to_numpy(dtype=object)
    parts = text.str.extract(_DAY_MONTH)
    day_month = parts[0].notna().to_numpy(dtype=bool)
    worded = ~day_month & text.str.fullmatch(_WORDY_DATE).to_numpy(dtype=bool)
    if worded.any():
        reading = _naive_utc(_dateutil(text[worded], False))
        column.place(positions[worded], reading, given[worded])
    for i in np.flatnonzero(~day_month):
        if np.isnat(column.stamps[positions[i]]) and not column.reasons[positions[i]]:
            column.reasons[positions[i]] = _not_a_date(given[i])
    if not day_month.any():
        return
    parts, text = parts[day_month], text[day_month]
    where, given = positions[day_month], given[day_month]
    same = (parts[0].astype(int) == parts[1].astype(int)).to_numpy()
    readings, valid = _as_iso(parts)
    iso = ~np.isnat(readings[0]) | ~np.isnat(readings[1])
    pick = tuple(r[iso] for r in readings), tuple(v[iso] for v in valid)
    _place_day_month(column, where[iso], *pick, same[iso], given[iso], dayfirst)
    if not iso.all():  # a two-digit year, "10:00 PM", ...
        rest = ~iso
        pick = _by_dateutil(text[rest], parts[rest])
        _place_day_month(column, where[rest], *pick, same[rest], given[rest], dayfirst)


def _as_iso(parts: pd.DataFrame) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Both readings of day/month forms with a four-digit year, rewritten as ISO 8601 (strict:
    a month of 30 is no date, not a swapped one); NaT where that does not read."""
    first, second = parts[0].str.zfill(2), parts[1].str.zfill(2)
    four = (parts[2].str.len() == 4).to_numpy()
    readings = []
    for month, day in ((first, second), (second, first)):
        iso = parts[2] + "-" + month + "-" + day + parts[3]
        reading = _iso(iso.to_numpy(dtype=object))
        reading[~four] = np.datetime64("NaT")
        readings.append(reading)
    return tuple(readings), tuple(~np.isnat(r) for r in readings)


def _by_dateutil(
    text: pd.Series, parts: pd.DataFrame
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Both readings by dateutil, which swaps day and month when one is invalid: each is
    checked against the numbers as written."""
    first, second = parts[0].astype(int).to_numpy(), parts[1].astype(int).to_numpy()
    month_first, day_first = _dateutil(text, False), _dateutil(text, True)
    readings = (_naive_utc(month_first), _naive_utc(day_first))
    valid = (
        _reads_as(month_first, month=first, day=second),
        _reads_as(day_first, month=second, day=first),
    )
    return readings, valid


def _place_day_month(
    column: _Column,
    positions: np.ndarray,
    readings: tuple[np.ndarray, ...],
    valid: tuple[np.ndarray, ...],
    same: np.ndarray,
    given: np.ndarray,
    dayfirst: bool | None,
) -> None:
    """Keep the reading in the order asked for; without one, the only valid one."""
    (month_first, day_first), (mf_ok, df_ok) = readings, valid
    same = mf_ok & df_ok & same
    column.ambiguous[positions] = mf_ok & df_ok & ~same
    column.month_first[positions] = mf_ok & ~df_ok
    column.day_first[positions] = df_ok & ~mf_ok
    use_df = df_ok & ~mf_ok if dayfirst is None else df_ok & bool(dayfirst)
    use_mf = (mf_ok & ~df_ok) | same if dayfirst is None else mf_ok & (dayfirst is False)
    for use, reading in ((use_mf, month_first), (use_df, day_first)):
        if use.any():
            column.place(positions[use], reading[use], given[use])
    for i in np.flatnonzero(~use_mf & ~use_df):
        column.reasons[positions[i]] = _day_month_problem(
            given[i], bool(mf_ok[i]), bool(df_ok[i]), dayfirst
        )


def _reads_as(reading: pd.Series, *, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    ok = reading.notna().to_numpy(dtype=bool)
    months = reading.dt.month.to_numpy(dtype=float, na_value=np.nan)
    days = reading.dt.day.to_numpy(dtype=float, na_value=np.nan)
    return ok & (months == month) & (days == day)


def _outside(value: Any) -> str:
    shown = repr(value) if isinstance(value, str) else str(value)
    return f"outside the representable range {RANGE} (got {shown})"


def _not_a_date(value: Any) -> str:
    if looks_numeric(value):
        return f"not a date/time (got {value!r}: a bare number is not a date)"
    return f"not a date/time (got {value!r}; expected ISO 8601)"


def _day_month_problem(value: Any, mf_ok: bool, df_ok: bool, dayfirst: bool | None) -> str:
    if mf_ok and df_ok:
        return f"ambiguous day/month order (got {value!r}); {DAYFIRST_HINT}"
    if dayfirst and mf_ok:
        return f"not a day-first date (got {value!r}; data.dayfirst is true)"
    if dayfirst is False and df_ok:
        return f"not a month-first date (got {value!r}; data.dayfirst is false)"
    return f"not a date/time (got {value!r}; expected ISO 8601)"
