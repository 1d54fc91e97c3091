"""One value of an export at a time: times, Unix times, counts, texts, HTML bodies, time zones.

Each reader returns the canonical value, or None when the value is missing, and raises
:class:`~cxml.connectors.result.RecordError` naming the field when a value is given but cannot be
represented (a time outside what pandas holds, a negative count): the record is then rejected,
never imported with a wrong value. Times follow :mod:`cxml.contracts.times` and are written as ISO
8601 in UTC with its offset (``2026-03-02T09:15:00+00:00``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from datetime import tzinfo
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from cxml.connectors.result import RecordError
from cxml.contracts.times import read_instant, to_utc
from cxml.errors import BadInputError
from cxml.text.normalize import clean_text

__all__ = [
    "MAX_COUNT",
    "count",
    "has_offset",
    "html_text",
    "is_missing",
    "plain",
    "snake",
    "tag_text",
    "text",
    "time_zone",
    "unix_iso",
    "utc_iso",
]

#: The largest count a ticket field holds (the schema's bound).
MAX_COUNT = 1_000_000
#: A clock time followed by ``Z`` or a numeric offset: the time says which zone it is in.
_OFFSET = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$")
_BLOCKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
_HIDDEN = {"script", "style", "head", "title"}


def is_missing(value: Any) -> bool:
    """None, NaN, or text that is blank.

    >>> [is_missing(v) for v in (None, float("nan"), " ", 0, "x")]
    [True, True, True, False, False]
    """
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and not value.strip()


def time_zone(name: str, option: str = "--field time_zone") -> tzinfo:
    """The IANA time zone ``name`` (``Z`` and ``UTC`` are UTC).

    Raises
    ------
    BadInputError
        When no such zone is known; the message names ``option``.

    >>> time_zone("America/Denver")
    zoneinfo.ZoneInfo(key='America/Denver')
    """
    key = name.strip()
    if key.upper() in {"Z", "UTC", "GMT"}:
        key = "UTC"
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInputError(
            f"{option}: unknown time zone {name!r}; use an IANA name such as Asia/Seoul or UTC"
        ) from None


def has_offset(value: str) -> bool:
    """Whether the time ``value`` says its zone (``Z`` or ``+09:00`` after the clock time).

    >>> has_offset("2026-03-02T09:15:00Z"), has_offset("2026-03-02 09:15:00")
    (True, False)
    """
    return _OFFSET.search(value.strip()) is not None


def utc_iso(value: Any, field_name: str, zone: tzinfo | None = None) -> str | None:
    """A time as ISO 8601 in UTC; a time without offset is in ``zone`` (UTC when None).

    Raises
    ------
    RecordError
        For a value that is no time, one outside what pandas represents, or a local time that a
        daylight-saving change makes ambiguous or skips.

    >>> utc_iso("2026-03-02 02:15:00", "created_at", time_zone("America/Denver"))
    '2026-03-02T09:15:00+00:00'
    >>> utc_iso("2026-03-02T09:15:00+09:00", "created_at", time_zone("America/Denver"))
    '2026-03-02T00:15:00+00:00'
    """
    if is_missing(value):
        return None
    if not isinstance(value, str):
        raise RecordError(field_name, f"expected a date/time text, got {value!r}")
    stamp, problem = read_instant(value)
    if stamp is None:
        raise RecordError(field_name, problem)
    if zone is not None and not has_offset(value):
        try:
            local = stamp.tz_localize(None).tz_localize(
                zone, ambiguous="raise", nonexistent="raise"
            )
        except ValueError:
            raise RecordError(
                field_name, f"{value!r} is ambiguous or does not exist in {zone} (a clock change)"
            ) from None
        stamp = to_utc(local.to_pydatetime())
        if stamp is None:
            raise RecordError(field_name, f"{value!r} is outside the times cxml can represent")
    return stamp.isoformat()


def unix_iso(value: Any, field_name: str) -> str | None:
    """A Unix time in seconds (Intercom's times) as ISO 8601 in UTC.

    >>> unix_iso(1663597223, "created_at")
    '2022-09-19T14:20:23+00:00'
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(field_name, f"expected a Unix time in seconds, got {value!r}")
    try:
        stamp = pd.Timestamp(value, unit="s", tz="UTC")
    except (OverflowError, ValueError):
        stamp = None
    if stamp is None or pd.isna(stamp) or to_utc(stamp.to_datetime64()) is None:
        raise RecordError(field_name, f"{value!r} is outside the times cxml can represent")
    return stamp.isoformat()


def count(value: Any, field_name: str) -> int | None:
    """A count: a whole number from 0 to :data:`MAX_COUNT` (numbers or digits in text).

    >>> count("3", "replies"), count(2.0, "reopens"), count(None, "replies")
    (3, 2, None)
    """
    if is_missing(value):
        return None
    number: Any = value
    if isinstance(value, str) and re.fullmatch(r"\s*\d+(?:\.0*)?\s*", value):
        number = float(value)
    if isinstance(number, bool) or not isinstance(number, int | float):
        raise RecordError(field_name, f"expected a whole number, got {value!r}")
    if not (math.isfinite(number) and number == int(number) and 0 <= number <= MAX_COUNT):
        raise RecordError(field_name, f"expected a whole number 0-{MAX_COUNT:,}, got {value!r}")
    return int(number)


def text(value: Any, field_name: str) -> str | None:
    """A text as cxml keeps it (:func:`~cxml.text.normalize.clean_text`); numbers as written.

    >>> text(" late \\x00delivery ", "text"), text(" ", "text")
    (' late delivery ', None)
    """
    if is_missing(value):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RecordError(field_name, f"expected a text, got {type(value).__name__}")
    return clean_text(value if isinstance(value, str) else str(value))


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(self._hidden - 1, 0)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_text(html: str) -> str:
    """The text of an HTML body: tags dropped, entities decoded, one line per block.

    >>> html_text("<p>Hi,</p><p>my order <b>#12</b> is late&nbsp;&amp; lost</p>")
    'Hi,\\nmy order #12 is late\\xa0& lost'
    """
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (
        re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in "".join(parser.parts).split("\n")
    )
    return "\n".join(line for line in lines if line)


def snake(name: str) -> str:
    """A column name in plain snake_case.

    >>> snake("First response time (in hrs)"), snake("cf_Product Area")
    ('first_response_time_in_hrs', 'cf_product_area')
    """
    return re.sub(r"[^0-9a-z]+", "_", name.casefold()).strip("_")


def tag_text(tags: Iterable[Any], field_name: str = "tags") -> str | None:
    """Tags as ``a;b`` (None when there are none).

    >>> tag_text(["vip", " refund "])
    'vip;refund'
    """
    names: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            raise RecordError(field_name, f"expected tag names, got {tag!r}")
        if tag.strip():
            names.append(tag.strip())
    return ";".join(names) or None


def plain(value: Any, field_name: str) -> Any:
    """A custom field's value as a table holds it: lists and objects as their JSON text.

    >>> plain(["a", 1], "custom_field_x"), plain(" gold ", "custom_field_tier")
    ('["a", 1]', ' gold ')
    """
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        return text(value, field_name)
    return value
