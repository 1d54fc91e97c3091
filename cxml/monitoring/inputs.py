"""What monitoring watches of a model's inputs: the same columns at training and when scoring.

A reference profile (:mod:`cxml.monitoring.profile`) is built from these columns of the training
data, and the prediction log (:mod:`cxml.monitoring.log`) stores them for each scored row, so drift
compares like with like. For the ticket model they are its features (durations, counts, calendar,
text score; not the hour and weekday of creation, see :data:`CALENDAR`) as numbers and
its categorical inputs as the values given (a category it never saw
stays itself, not "missing"); for comment models the language and the text length. Both keep the
hashed word tokens of the text, for the share of words the reference never used.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CALENDAR", "MAX_TOKENS", "DriftInputs", "drift_inputs", "token_hashes"]

#: Ticket features left unwatched: the hour and weekday of creation follow the calendar (a
#: period that starts or ends mid-week has another weekday mix), not the customers.
CALENDAR = ("created_hour", "created_weekday")

#: Distinct tokens kept per text, in order of first appearance.
MAX_TOKENS = 64
_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


@dataclass(frozen=True)
class DriftInputs:
    """The watched inputs of some rows.

    Attributes
    ----------
    numbers : DataFrame
        Numeric inputs as ``float64`` (missing as NaN), one column per input.
    categories : DataFrame
        Categorical inputs as ``object`` (``str``, missing as None).
    tokens : list of list of int
        Hashed word tokens of each row's text (:func:`token_hashes`).
    """

    numbers: pd.DataFrame
    categories: pd.DataFrame
    tokens: list[list[int]]


def token_hashes(texts: Iterable[Any]) -> list[list[int]]:
    """The distinct lower-cased words (letters only, two or more) of each text as CRC-32 hashes.

    Stable across processes and versions (unlike :func:`hash`), compact, and not the words
    themselves. At most :data:`MAX_TOKENS` per text; a missing text has none.

    >>> token_hashes(["Refund refund, please!", None])
    [[1529615448, 2584031210], []]
    """
    out = []
    for text in texts:
        words = _WORD.findall(text.lower()) if isinstance(text, str) else []
        out.append([zlib.crc32(w.encode("utf-8")) for w in dict.fromkeys(words)][:MAX_TOKENS])
    return out


def drift_inputs(task: str, estimator: Any, inputs: pd.DataFrame) -> DriftInputs:
    """The watched inputs of ``inputs``, the frame ``estimator`` (fitted, of ``task``) scores."""
    index = pd.RangeIndex(len(inputs))
    texts = inputs["text"].tolist() if "text" in inputs else [None] * len(inputs)
    if task == "csat":
        featurizer = estimator.featurizer_
        features = featurizer.transform(inputs).reset_index(drop=True)
        names = list(featurizer.categories_)
        if "lang" in inputs and "lang" not in names:
            names.append("lang")
        numbers = features.drop(columns=[n for n in (*names, *CALENDAR) if n in features])
        categories = pd.DataFrame({n: _strings(inputs, n) for n in names}, index=index)
        return DriftInputs(numbers.astype(np.float64), categories, token_hashes(texts))
    chars = [float(len(t)) if isinstance(t, str) else np.nan for t in texts]
    numbers = pd.DataFrame({"text_chars": chars}, index=index, dtype=np.float64)
    categories = pd.DataFrame({"lang": _strings(inputs, "lang")}, index=index)
    return DriftInputs(numbers, categories, token_hashes(texts))


def _strings(frame: pd.DataFrame, name: str) -> np.ndarray:
    """Column ``name`` as ``str`` values, missing (or absent) as None."""
    if name not in frame:
        return np.full(len(frame), None, dtype=object)
    values = frame[name].to_numpy(dtype=object, copy=True)
    missing = pd.isna(values)
    values[~missing] = [str(v) for v in values[~missing]]
    values[missing] = None
    return values
