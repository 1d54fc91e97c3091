"""Overall comment sentiment: negative / neutral / positive, with a score in [-1, 1]."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from cxml.catalog import backends
from cxml.comments._base import TextEstimatorMixin, as_texts, check_labels
from cxml.contracts.labels import SENTIMENTS

__all__ = ["SentimentClassifier"]


class SentimentClassifier(ClassifierMixin, TextEstimatorMixin):
    """Classify the overall sentiment of comments.

    Works with three classes (negative, neutral, positive) or any subset of them, such as binary
    data with no neutral class.

    Parameters
    ----------
    backend : str, default="cxml.tfidf_linear.v1"
        Backend name in :data:`cxml.catalog.backends`.
    params : dict, default=None
        Backend parameters; unknown keys are an error. None means the backend's defaults.
    random_state : int, default=None
        Seed for backends that draw random numbers.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Labels seen in ``fit``, sorted; the columns of :meth:`predict_proba`.
    backend_ : estimator
        The fitted backend pipeline.

    Examples
    --------
    >>> clf = SentimentClassifier(params={"min_df": 1}).fit(
    ...     ["great, thanks", "awful and slow", "love it", "terrible service"],
    ...     ["positive", "negative", "positive", "negative"])
    >>> clf.predict(["thanks, great"]).tolist()
    ['positive']
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

    def fit(self, X: Any, y: Any) -> SentimentClassifier:
        """Fit on texts ``X`` (array-like of str, shape (n_samples,)) and labels ``y``."""
        texts = as_texts(X)
        labels = check_labels(y, len(texts), SENTIMENTS, "SentimentClassifier")
        entry = backends.get(self.backend)
        self.backend_ = entry.build(self.params, random_state=self.random_state)
        self.backend_.fit(texts, labels)
        self.classes_ = np.asarray(self.backend_.classes_, dtype=object)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns ordered by ``classes_``."""
        check_is_fitted(self)
        proba = np.asarray(self.backend_.predict_proba(as_texts(X)), dtype=np.float64)
        return proba / proba.sum(axis=1, keepdims=True)  # float32 backends drift from 1

    def predict(self, X: Any) -> np.ndarray:
        """Most probable label per text, shape (n_samples,)."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    def sentiment_score(self, proba: np.ndarray) -> np.ndarray:
        """``P(positive) - P(negative)`` per row: -1 certainly negative, +1 certainly positive."""
        classes = list(self.classes_)
        score = np.zeros(len(proba))
        if "positive" in classes:
            score += proba[:, classes.index("positive")]
        if "negative" in classes:
            score -= proba[:, classes.index("negative")]
        return score

    def predict_frame(self, X: Any) -> pd.DataFrame:
        """The public output columns ``sentiment`` and ``sentiment_score`` for each text."""
        proba = self.predict_proba(X)
        return pd.DataFrame(
            {
                "sentiment": self.classes_[proba.argmax(axis=1)],
                "sentiment_score": self.sentiment_score(proba).round(6),
            }
        )
