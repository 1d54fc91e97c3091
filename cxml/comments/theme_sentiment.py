"""Theme-level sentiment: how a comment feels about each theme it mentions.

"Food great, service slow" is positive about food and negative about service. The classifier
sees (text, theme) pairs, so one model covers every theme while its backend can still learn what
is good or bad about a theme in particular (see :mod:`cxml.comments.backends._linear`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from cxml.catalog import backends
from cxml.comments._base import TextEstimatorMixin, as_texts, check_labels
from cxml.contracts.labels import THEME_POLARITIES

__all__ = ["ThemeSentimentClassifier", "theme_pairs"]


def theme_pairs(texts: Iterable[str], theme_sentiment: Iterable[Mapping[str, str]]) -> pd.DataFrame:
    """One row per (comment, theme): columns ``row``, ``text``, ``theme`` and ``polarity``.

    >>> theme_pairs(["food great, service slow"],
    ...             [{"food": "positive", "service": "negative"}]).to_dict("list")["polarity"]
    ['positive', 'negative']
    """
    rows = [
        (i, text, theme, polarity)
        for i, (text, labels) in enumerate(zip(texts, theme_sentiment, strict=True))
        for theme, polarity in (labels or {}).items()
    ]
    return pd.DataFrame(rows, columns=["row", "text", "theme", "polarity"])


class ThemeSentimentClassifier(ClassifierMixin, TextEstimatorMixin):
    """Polarity of a text towards a theme: negative, neutral, positive or conflict.

    ``X`` is a DataFrame with one row per (text, theme) pair, columns ``text`` and ``theme``
    (:func:`theme_pairs` builds it from labelled comments). Labels are any subset of
    negative / neutral / positive / conflict.

    Parameters
    ----------
    backend : str, default="cxml.tfidf_linear.v1"
        Backend name in :data:`cxml.catalog.backends`; it receives the theme as its ``aspect``.
    params : dict, default=None
        Backend parameters; None means the backend's defaults.
    random_state : int, default=None
        Seed for backends that draw random numbers.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Polarities seen in ``fit``, sorted; the columns of :meth:`predict_proba`.
    backend_ : estimator
        The fitted backend.
    """

    def __init__(
        self,
        *,
        backend: str = "cxml.tfidf_linear.v1",
        params: dict[str, Any] | None = None,
        random_state: int | None = None,
    ) -> None:
        self.backend = backend
        self.params = params
        self.random_state = random_state

    @staticmethod
    def _pairs(X: Any) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame) or not {"text", "theme"} <= set(X.columns):
            raise ValueError("X must be a DataFrame with 'text' and 'theme' columns")
        return pd.DataFrame(
            {"text": as_texts(X), "aspect": X["theme"].astype(str).to_numpy(dtype=object)}
        )

    def fit(self, X: Any, y: Any) -> ThemeSentimentClassifier:
        """Fit on (text, theme) pairs ``X`` and their polarities ``y``."""
        pairs = self._pairs(X)
        labels = check_labels(y, len(pairs), THEME_POLARITIES, "ThemeSentimentClassifier")
        entry = backends.get(self.backend)
        self.backend_ = entry.build(self.params, random_state=self.random_state).fit(pairs, labels)
        self.classes_ = np.asarray(self.backend_.classes_, dtype=object)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Polarity probabilities per pair, shape (n_pairs, n_classes), following ``classes_``."""
        check_is_fitted(self)
        pairs = self._pairs(X)
        if not len(pairs):
            return np.zeros((0, len(self.classes_)))
        proba = np.asarray(self.backend_.predict_proba(pairs), dtype=np.float64)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable polarity per pair, shape (n_pairs,)."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
