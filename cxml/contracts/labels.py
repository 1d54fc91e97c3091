"""The label vocabularies and the one way to read theme lists and theme -> polarity maps.

The validator parses ``labels`` and ``label_map`` fields with :func:`parse_labels` and
:func:`parse_label_map`; driver analysis and the report read analysed comments with
:func:`label_lists` and :func:`label_maps`, so a value means the same thing everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from cxml.errors import BadInputError

__all__ = [
    "SENTIMENTS",
    "THEME_POLARITIES",
    "is_missing",
    "label_lists",
    "label_maps",
    "parse_label_map",
    "parse_labels",
]

#: Overall sentiment of a comment, in the order of the sentiment model's classes.
SENTIMENTS = ("negative", "neutral", "positive")
#: Sentiment about one theme of a comment: a sentiment, or ``conflict`` (both ways).
THEME_POLARITIES = (*SENTIMENTS, "conflict")


def is_missing(value: Any) -> bool:
    """Whether one value is missing: None, NA, NaT or NaN."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and np.isnan(value)


def parse_labels(value: Any) -> tuple[Any, str]:
    """Sorted distinct labels of a list / array / JSON list / ``a;b`` / ``a|b``.

    Returns ``(labels, "")``, ``(NaN, "")`` when missing, or ``(None, why not)``.
    """
    if isinstance(value, np.ndarray | tuple | set | frozenset):
        value = list(value.tolist() if isinstance(value, np.ndarray) else value)
    if isinstance(value, list):
        if all(isinstance(v, str) for v in value):
            return sorted({v.strip() for v in value if v.strip()}), ""
        return None, f"labels must be strings, got {value!r}"
    if is_missing(value):
        return np.nan, ""
    text = str(value).strip()
    if text.startswith("["):
        try:
            return parse_labels(json.loads(text))
        except json.JSONDecodeError:
            return None, f"not a JSON list: {text[:80]!r}"
    sep = ";" if ";" in text else "|"
    return sorted({t.strip() for t in text.split(sep) if t.strip()}), ""


def parse_label_map(value: Any, choices: tuple[str, ...] | None) -> tuple[Any, str]:
    """A dict label -> polarity (one of ``choices``) from a dict, a list / array of ``[label,
    polarity]`` pairs (Parquet map columns read back so) or JSON text of either.

    Returns ``(mapping, "")``, ``(NaN, "")`` when missing, or ``(None, why not)``.
    """
    if isinstance(value, str):
        if not value.strip():
            return np.nan, ""
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None, f"not a JSON object: {value[:80]!r}"
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if is_missing(value):
        return np.nan, ""
    pairs = list(value.items()) if isinstance(value, Mapping) else _pairs(value)
    if pairs is None:
        return None, f"expected an object label -> polarity, got {value!r}"
    result: dict[str, str] = {}
    for key, polarity in pairs:
        label, polarity = str(key).strip(), str(polarity).strip().lower()
        if result.setdefault(label, polarity) != polarity:
            return None, f"label {label!r} has two polarities: {result[label]!r}, {polarity!r}"
    wrong = {k: v for k, v in result.items() if choices and v not in choices}
    if wrong:
        return None, f"polarities {wrong} not in {', '.join(choices or ())}"
    return result, ""


def _pairs(value: Any) -> list[tuple[Any, Any]] | None:
    """The ``(key, value)`` pairs of a list or tuple of 2-item sequences; None for anything else."""
    if not isinstance(value, list | tuple):
        return None
    items = [v.tolist() if isinstance(v, np.ndarray) else v for v in value]
    if not all(isinstance(v, list | tuple) and len(v) == 2 for v in items):
        return None
    return [(k, v) for k, v in items]


def label_lists(values: Iterable[Any], column: str) -> list[list[str]]:
    """The labels of each value, read by :func:`parse_labels` (missing: none).

    Raises
    ------
    BadInputError
        Naming ``column`` and the row (from 1) of the first value that is not a list of labels.
    """
    out = []
    for row, value in enumerate(values, start=1):
        labels, problem = parse_labels(value)
        if problem:
            raise BadInputError(f"column {column!r}, row {row}: {problem}")
        out.append(labels if isinstance(labels, list) else [])
    return out


def label_maps(
    values: Iterable[Any], column: str, choices: tuple[str, ...] = THEME_POLARITIES
) -> list[dict[str, str]]:
    """Each value as a dict label -> polarity (one of ``choices``), read by
    :func:`parse_label_map` (missing: empty).

    Raises
    ------
    BadInputError
        Naming ``column`` and the row (from 1) of the first value that cannot be read.
    """
    out = []
    for row, value in enumerate(values, start=1):
        mapping, problem = parse_label_map(value, choices)
        if problem:
            raise BadInputError(f"column {column!r}, row {row}: {problem}")
        out.append(mapping if isinstance(mapping, dict) else {})
    return out
