"""A ticket's rating: a CSAT answer 1-5 or a binary ``good`` / ``bad`` label, and which are bad.

Helpdesks ask either for a score on a 1-5 scale or for a binary "good" / "bad" (Zendesk's
satisfaction rating). Both are ratings of the same kind, said once here and read by the validator,
training's labels, the CSAT metric, the monitor's late ratings, the report and the benchmarks:

* a **rating** is a whole number 1 to 5 (``4``, ``4.0``, ``"4"``) or a label ``good`` / ``bad``
  (any case, surrounding spaces ignored); anything else (``7``, ``4.5``, ``"meh"``,
  ``"satisfied"``) is no rating and the row is a reject with the reason. Other survey words are
  mapped onto these two by the connectors that read them, not guessed here;
* a rating is **bad** when it is one of ``labels.bad_ratings`` (default :data:`DEFAULT_BAD_RATINGS`,
  1, 2 and ``bad``, so either scale works without a setting);
* a file may hold either scale, or both (two helpdesks merged); a CSAT share needs one scale, so
  :func:`binary_scale` refuses a mix.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import numpy as np
import pandas as pd

from cxml.contracts.labels import is_missing
from cxml.errors import BadInputError

__all__ = [
    "DEFAULT_BAD_RATINGS",
    "RATING_LABELS",
    "RATING_SCALE",
    "Rating",
    "binary_scale",
    "check_bad_ratings",
    "is_bad",
    "parse_rating",
    "parse_ratings",
]

Rating = int | str
#: The numeric scale: whole numbers from 1 to 5.
RATING_SCALE: Final = (1, 5)
#: The binary labels, the satisfied one first.
RATING_LABELS: Final = ("good", "bad")
#: Ratings that count as bad unless configured otherwise: the bottom two points and ``bad``.
DEFAULT_BAD_RATINGS: Final[tuple[Rating, ...]] = (1, 2, "bad")
#: What a rating may be, for messages.
_EXPECTED = f"{RATING_SCALE[0]}-{RATING_SCALE[1]}, good or bad"


def parse_rating(value: Any) -> tuple[Rating | None, str]:
    """One rating: ``(rating, "")``, ``(None, "")`` when missing, ``(None, why not)`` otherwise.

    Examples
    --------
    >>> parse_rating(" Good "), parse_rating("4.0"), parse_rating(None)
    (('good', ''), (4, ''), (None, ''))
    >>> parse_rating(7)
    (None, 'outside 1..5 (got 7)')
    >>> parse_rating("meh")
    (None, "not 1-5, good or bad (got 'meh')")
    """
    if is_missing(value) or (isinstance(value, str) and not value.strip()):
        return None, ""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in RATING_LABELS:
            return word, ""
        try:
            number = float(word)
        except ValueError:
            return None, f"not {_EXPECTED} (got {value!r})"
    elif isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    ):
        number = float(value)
    else:
        return None, f"not {_EXPECTED} (got {value!r})"
    if not np.isfinite(number) or number != round(number):
        return None, f"not a whole number (got {value!r})"
    if not RATING_SCALE[0] <= number <= RATING_SCALE[1]:
        return None, f"outside {RATING_SCALE[0]}..{RATING_SCALE[1]} (got {value!r})"
    return int(number), ""


def parse_ratings(values: Any) -> tuple[pd.Series, np.ndarray, pd.Series]:
    """:func:`parse_rating` of each value: the ratings, the mask of rejected values, the reasons.

    The ratings are an ``Int64`` column when none is a label, else ``object`` (ints and labels);
    missing and rejected values are missing. Each distinct value is parsed once.

    >>> ratings, bad, _ = parse_ratings(pd.Series(["5", "BAD", 9, None]))
    >>> ratings.tolist(), bad.tolist()
    ([5, 'bad', nan, nan], [False, False, True, False])
    """
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    seen: dict[tuple[type, Any], tuple[Rating | None, str]] = {}
    results: list[tuple[Rating | None, str]] = []
    for value in series.tolist():
        if is_missing(value):
            results.append((None, ""))
            continue
        try:  # each distinct value once; by type too, as True == 1 and hash(True) == hash(1)
            key = (type(value), value)
            result = seen.get(key) or seen.setdefault(key, parse_rating(value))
        except TypeError:  # unhashable (a list or a mapping from JSON)
            result = parse_rating(value)
        results.append(result)
    ratings = [r for r, _ in results]
    reasons = pd.Series([why for _, why in results], index=series.index, dtype=object)
    bad = np.array([bool(why) for _, why in results], dtype=bool)
    if any(isinstance(r, str) for r in ratings):
        column = pd.Series(
            [np.nan if r is None else r for r in ratings], index=series.index, dtype=object
        )
    else:
        column = pd.Series(ratings, index=series.index, dtype="Int64")
    return column, bad, reasons


def check_bad_ratings(values: Iterable[Any]) -> list[Rating]:
    """``bad_ratings`` as ratings (``"Bad"`` -> ``"bad"``, ``2.0`` -> ``2``), checked.

    Raises ``ValueError`` for a value that is no rating, an empty list, or a list that makes
    every rating of a scale bad (nothing could be good).

    >>> check_bad_ratings([1, "2", " Bad"])
    [1, 2, 'bad']
    """
    out: list[Rating] = []
    for value in values:
        rating, problem = parse_rating(value)
        if rating is None:
            raise ValueError(
                f"bad_ratings must hold ratings (whole numbers {_EXPECTED}); {value!r} is not one"
                + (f": {problem}" if problem else "")
            )
        if rating not in out:
            out.append(rating)
    if not out:
        raise ValueError(f"bad_ratings is empty: name the bad ratings, e.g. {DEFAULT_BAD_RATINGS}")
    numbers = set(range(RATING_SCALE[0], RATING_SCALE[1] + 1))
    if numbers <= set(out) or set(RATING_LABELS) <= set(out):
        raise ValueError(f"bad_ratings {out} makes every rating of a scale bad: none is good")
    return out


def is_bad(ratings: Any, bad_ratings: Iterable[Any] = DEFAULT_BAD_RATINGS) -> np.ndarray:
    """Whether each rating is one of ``bad_ratings`` (a missing or unreadable one is not).

    Raises :class:`BadInputError` when ratings of a scale are given but ``bad_ratings`` names
    none of that scale (good / bad labels with ``bad_ratings: [1, 2]``): every label would
    silently count as good.

    >>> is_bad(pd.Series([1, 4, "bad", "Good", None])).tolist()
    [True, False, True, False, False]
    """
    bad = check_bad_ratings(bad_ratings)
    parsed = parse_ratings(ratings)[0].tolist()
    labels = any(isinstance(r, str) for r in parsed)
    numbers = any(isinstance(r, int) for r in parsed)
    for given, scale, named in (
        (labels, "good / bad labels", any(isinstance(b, str) for b in bad)),
        (
            numbers,
            f"{RATING_SCALE[0]}-{RATING_SCALE[1]} scores",
            any(isinstance(b, int) for b in bad),
        ),
    ):
        if given and not named:
            raise BadInputError(
                f"the ratings are {scale} but bad_ratings {bad} names none of them: every one "
                f"would count as good; set labels.bad_ratings, e.g. {list(DEFAULT_BAD_RATINGS)}"
            )
    wanted = set(bad)
    return np.array([isinstance(r, int | str) and r in wanted for r in parsed], dtype=bool)


def binary_scale(ratings: Any, *, name: str = "ratings") -> bool:
    """True when ``ratings`` are good / bad labels, False when numbers (or none).

    Values that are neither (``"offered"``, blanks) are ignored. A column holding both numbers
    and labels is a :class:`BadInputError`: a CSAT share needs one scale.

    >>> binary_scale(["good", "bad", None]), binary_scale([5, 4, "4"])
    (True, False)
    """
    text = pd.Series(list(ratings), dtype=object).map(
        lambda v: v.strip().lower() if isinstance(v, str) else v
    )
    labels = int(text.isin(RATING_LABELS).sum())
    numbers = int(np.isfinite(pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)).sum())
    if labels and numbers:
        raise BadInputError(
            f"the {name} mix numbers ({numbers:,}) and good / bad labels ({labels:,}); a CSAT "
            "share needs one scale: split the rows by scale (or map one onto the other)"
        )
    return labels > 0
