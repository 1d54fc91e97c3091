"""What every comment estimator shares: text input checks and the backend lookup."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

__all__ = ["TextEstimatorMixin", "as_texts", "check_labels"]


def as_texts(X: Any) -> np.ndarray:
    """Return ``X`` as a 1-D object array of strings.

    Accepts a list, array or Series of texts, or a DataFrame with a ``text`` column.
    """
    if isinstance(X, pd.DataFrame):
        if "text" not in X:
            raise ValueError(f"expected a 'text' column, got columns {list(X.columns)}")
        X = X["text"]
    arr = np.asarray(X, dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D sequence of texts, got shape {arr.shape}")
    missing = [i for i, t in enumerate(arr) if not isinstance(t, str)]
    if missing:
        raise ValueError(
            f"expected strings; {len(missing)} value(s) are not, first at position {missing[0]}: "
            f"{arr[missing[0]]!r}"
        )
    return arr


def check_labels(y: Any, n_rows: int, allowed: tuple[str, ...], owner: str) -> np.ndarray:
    """``y`` as an object array, checked: one label per row, all ``allowed``, at least two."""
    labels = np.asarray(y, dtype=object)
    if len(labels) != n_rows:
        raise ValueError(f"X has {n_rows} rows but y has {len(labels)} labels")
    unknown = sorted(set(labels.tolist()) - set(allowed))
    if unknown:
        raise ValueError(
            f"The labels of {owner} must be in {list(allowed)}. Got {unknown} instead."
        )
    if len(set(labels.tolist())) < 2:
        raise ValueError(f"{owner} needs at least two different labels to learn.")
    return labels


class TextEstimatorMixin(BaseEstimator):
    """Declares string input to scikit-learn's tag machinery."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        return tags
