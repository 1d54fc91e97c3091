"""Redact personal data in comments: e-mail addresses, phone, card, order and resident numbers.

Each match becomes a typed placeholder (``[email]``, ``[phone]``, ``[card]``, ``[order]``,
``[rrn]``), so a redacted comment still reads naturally. Rules run in a fixed order, each on the
output of the one before (placeholders hold no digits, so no rule sees another's match):

1. ``email``: ``name@domain.tld``.
2. ``rrn``: Korean resident registration numbers, ``YYMMDD-GNNNNNN`` (the hyphen optional) with
   a valid month, day and gender digit.
3. ``card``: 13-19 digits, bare or in card groups (4-4-4-4..., Amex 4-6-5) with spaces or
   dashes, that pass the Luhn check. A number that fails it is left to the order and phone rules.
4. ``order``: an id of 5+ letters, digits and dashes (at least one digit) after a keyword
   (order, invoice, tracking, booking, confirmation, with number / no. / id / #; 주문번호, 주문,
   송장번호, 운송장, 예약번호), or ``#`` and 5+ digits. The keyword stays: ``order [order]``.
5. ``phone``: international (``+82 10 1234 5678``), Korean mobile (``010-1234-5678``,
   ``01012345678``), national numbers starting with 0 (``02-123-4567``, ``020 7946 0958``) and
   North American (``(555) 123-4567``, ``555-123-4567``).

Dates (``2024-01-15``, ``15.01.2024``), times, prices (``$1,299.00``, ``15,000원``), ratings
(``4/5``, ``10/10``) and ranges (``3-5 days``) match none of the rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

import pandas as pd

__all__ = ["KINDS", "luhn_valid", "redact", "redact_many", "redact_spans"]

#: What can be redacted, in the order the rules run.
KINDS: tuple[str, ...] = ("email", "rrn", "card", "order", "phone")

_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}", re.ASCII)
_RRN = re.compile(r"(?<![\d-])\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])-?[1-8]\d{6}(?![\d-])")
_CARD = re.compile(
    r"(?<![\d+#.,-])"
    r"(?:\d{13,19}|\d{4}([ -])\d{4}\1\d{4}\1\d{1,7}|\d{4}([ -])\d{6}\2\d{4,5})"
    r"(?![\d-]|[.,]\d)"
)
_ORDER_KEY = (
    r"(?:\b(?:order|invoice|tracking|booking|confirmation|reservation)\b"
    r"(?:\s*(?:(?:number|num|id|code)\b|no\b\.?))?"
    r"|주문\s*번호|주문|송장\s*번호|운송장(?:\s*번호)?|예약\s*번호)"
)
_ORDER = re.compile(
    rf"(?P<keep>{_ORDER_KEY}(?:은|는|이|가)?[\s:#=]*)"
    r"(?P<id>(?=[A-Za-z-]*\d)[A-Za-z0-9][A-Za-z0-9-]{4,})(?![A-Za-z0-9])"
    r"|(?<![\w&#])#\d{5,}(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_PHONE = re.compile(
    r"\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,3}(?!\d)"
    r"|(?<![\w.,+])01[016789][ .-]?\d{3,4}[ .-]?\d{4}(?!\d)"
    r"|(?<![\w.,+])0\d{1,4}(?:[ .-]|\) ?)\d{3,4}[ .-]?\d{3,4}(?!\d)"
    r"|(?:(?<![\w.,+])\(\d{3}\) ?|(?<![\w.,+(])\d{3}[ .-])\d{3}[ .-]\d{4}(?!\d)"
)


def luhn_valid(number: str) -> bool:
    """Whether the digits of ``number`` pass the Luhn check of payment card numbers.

    >>> luhn_valid("4111 1111 1111 1111"), luhn_valid("4111 1111 1111 1112")
    (True, False)
    """
    digits = [int(c) for c in number if c.isdigit()]
    odd = sum(digits[-1::-2])
    even = sum(sum(divmod(2 * d, 10)) for d in digits[-2::-2])
    return bool(digits) and (odd + even) % 10 == 0


@dataclass(frozen=True)
class _Rule:
    kind: str
    pattern: re.Pattern[str]
    replace: Callable[[re.Match[str]], str]


def _card(match: re.Match[str]) -> str:
    return "[card]" if luhn_valid(match.group()) else match.group()


def _order(match: re.Match[str]) -> str:
    return f"{match.group('keep') or ''}[order]"


_RULES = (
    _Rule("email", _EMAIL, lambda m: "[email]"),
    _Rule("rrn", _RRN, lambda m: "[rrn]"),
    _Rule("card", _CARD, _card),
    _Rule("order", _ORDER, _order),
    _Rule("phone", _PHONE, lambda m: "[phone]"),
)


def _rules(kinds: Collection[str]) -> list[_Rule]:
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"kinds must be among {list(KINDS)}, got {unknown}")
    return [rule for rule in _RULES if rule.kind in kinds]


def redact(text: str, *, kinds: Collection[str] = KINDS) -> str:
    """``text`` with personal data replaced by typed placeholders.

    Parameters
    ----------
    text : str
        A comment.
    kinds : collection of str, default=KINDS
        What to redact, among :data:`KINDS`; leave out ``"rrn"`` to keep resident numbers.

    Returns
    -------
    str

    Examples
    --------
    >>> redact("Call 010-1234-5678 or mail kim@example.co.kr about order #20240101")
    'Call [phone] or mail [email] about order #[order]'
    >>> redact("Paid $1,299.00 on 2024-01-15 at 10:30, rated 4/5")
    'Paid $1,299.00 on 2024-01-15 at 10:30, rated 4/5'
    """
    for rule in _rules(kinds):
        text = rule.pattern.sub(rule.replace, text)
    return text


#: Private-use characters that mark a span while the text is redacted.
_OPEN, _CLOSE = "\ue000", "\ue001"


def redact_spans(
    text: str, spans: Iterable[tuple[int, int]], *, kinds: Collection[str] = KINDS
) -> tuple[str, list[tuple[int, int]]]:
    """:func:`redact` of ``text`` and where each ``(start, end)`` span of it is in the result.

    A span is kept only where redaction left it and the text around it as they were: each is
    marked, the marked text redacted, and the marks must fall where the words still are
    (otherwise a placeholder could be highlighted, or a mark hide personal data from a rule).

    >>> redact_spans("late parcel, mail a@b.co", [(0, 4), (19, 21)])
    ('late parcel, mail [email]', [(0, 4)])
    """
    redacted = redact(text, kinds=kinds)
    kept: list[tuple[int, int]] = []
    if _OPEN in text or _CLOSE in text:
        return redacted, kept
    for start, end in sorted(set(spans)):
        if not 0 <= start < end <= len(text):
            continue
        marked = redact(f"{text[:start]}{_OPEN}{text[start:end]}{_CLOSE}{text[end:]}", kinds=kinds)
        a, b = marked.find(_OPEN), marked.find(_CLOSE) - 1
        if a < 0 or b < a or marked.replace(_OPEN, "").replace(_CLOSE, "") != redacted:
            continue
        if redacted[a:b] == text[start:end]:
            kept.append((a, b))
    return redacted, kept


def redact_many(
    texts: pd.Series | Iterable[str | None], *, kinds: Collection[str] = KINDS
) -> pd.Series:
    """:func:`redact` over many texts, one rule at a time over the whole column.

    Parameters
    ----------
    texts : Series or iterable of str
        Comments; missing values stay missing.
    kinds : collection of str, default=KINDS
        What to redact, among :data:`KINDS`.

    Returns
    -------
    Series of object dtype
        The redacted texts, with the index of ``texts`` when it is a Series.

    Examples
    --------
    >>> redact_many(["mail me: a.b@c.com", None]).tolist()
    ['mail me: [email]', None]
    """
    rules = _rules(kinds)
    values = texts if isinstance(texts, pd.Series) else pd.Series(list(texts), dtype=object)
    out = values.astype(object)
    known = out.notna()
    redacted = out[known].astype(str)
    for rule in rules:
        redacted = redacted.str.replace(rule.pattern, rule.replace, regex=True)
    out[known] = redacted
    return out
