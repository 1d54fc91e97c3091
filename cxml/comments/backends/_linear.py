"""What the feature-based backends share: text (+ aspect) input, a linear head, one or many labels.

Every backend takes ``X`` as a 1-D array of texts, or as a DataFrame with a ``text`` column and an
optional ``aspect`` column (theme-level sentiment asks "how does this text feel about *food*?").
``y`` is 1-D for one label per row (multi-class) or a 2-D 0/1 indicator matrix for multi-label
rows; ``predict_proba`` returns (n_samples, n_classes) or (n_samples, n_labels) to match.

With an aspect, features are augmented per aspect ("frustratingly easy domain adaptation"): each
row's features appear once in a shared block and once in its aspect's own block, so the head learns
what is negative everywhere and what is negative about food in particular.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.utils.validation import check_is_fitted

__all__ = ["LinearHeadBackend", "SoftLabelHeads", "aspect_blocks", "split_input", "take_rows"]


def split_input(X: Any) -> tuple[list[str], np.ndarray | None]:
    """``(texts, aspects or None)`` from a 1-D array of texts or a frame with text [+ aspect]."""
    if isinstance(X, pd.DataFrame):
        aspects = X["aspect"].astype(str).to_numpy(dtype=object) if "aspect" in X else None
        return X["text"].astype(str).tolist(), aspects
    return [str(t) for t in np.asarray(X, dtype=object).ravel()], None


def take_rows(X: Any, index: np.ndarray) -> Any:
    """Rows ``index`` of a frame or of a 1-D array of texts."""
    return X.iloc[index] if isinstance(X, pd.DataFrame) else np.asarray(X, dtype=object)[index]


def aspect_blocks(features: Any, codes: np.ndarray, n_aspects: int) -> sp.csr_matrix:
    """``[features, features in the block of the row's aspect, aspect one-hot]`` (sparse).

    A code of -1 (an aspect not seen in training) keeps only the shared block.
    """
    shared = sp.csr_matrix(features)
    n, d = shared.shape
    rows = np.repeat(np.arange(n), np.diff(shared.indptr))
    keep = codes[rows] >= 0
    block = sp.csr_matrix(
        (shared.data[keep], (rows[keep], shared.indices[keep] + codes[rows[keep]] * d)),
        shape=(n, d * n_aspects),
    )
    known = codes >= 0
    onehot = sp.csr_matrix(
        (np.ones(known.sum()), (np.flatnonzero(known), codes[known])), shape=(n, n_aspects)
    )
    return sp.hstack([shared, block, onehot], format="csr")


def _soft_fit(head: LogisticRegression, design: Any, proba: np.ndarray) -> LogisticRegression:
    """Fit ``head`` to soft targets: each row once per class, weighted by its probability, so
    the weighted log-loss is the cross-entropy against ``proba`` (n_rows, n_classes)."""
    n, k = proba.shape
    rows = np.repeat(np.arange(n), k)
    labels = np.tile(np.arange(k), n)
    weights = np.clip(proba, 1e-6, None).ravel()  # every class keeps a row, however unlikely
    return head.fit(design[rows], labels, sample_weight=weights)


def logistic_proba(head: LogisticRegression, design: Any) -> np.ndarray:
    """``head.predict_proba(design)`` without scikit-learn's input checks (most of the time of
    one text): the sigmoid of the one score for two classes, else the softmax of the scores.

    >>> X, y = np.array([[0.0, 1], [1, 0], [1, 1], [0, 0]]), np.array([0, 1, 2, 1])
    >>> head = LogisticRegression().fit(X, y)
    >>> np.allclose(logistic_proba(head, X), head.predict_proba(X))
    True
    """
    scores = np.asarray(design @ head.coef_.T) + head.intercept_
    if scores.shape[1] == 1:
        positive = expit(scores[:, 0])
        return np.column_stack([1 - positive, positive])
    return softmax(scores, axis=1)


class SoftLabelHeads:
    """One binary head per label, fitted to soft targets: ``predict_proba`` is (n, n_labels).
    The heads are ``estimators_``, as in scikit-learn's ``OneVsRestClassifier``."""

    def __init__(self, estimators: list[LogisticRegression]) -> None:
        self.estimators_ = estimators

    def predict_proba(self, design: Any) -> np.ndarray:
        return np.column_stack([h.predict_proba(design)[:, 1] for h in self.estimators_])


class LinearHeadBackend(ClassifierMixin, BaseEstimator):
    """Base of backends that turn texts into features and fit a logistic-regression head.

    Subclasses implement ``_fit_features(texts)`` and ``_features(texts)`` (or, where the
    features read the aspect too, ``_fit_design(X)`` and ``_predict_design(X)``) and declare
    ``C``, ``class_weight``, ``max_iter`` and ``random_state`` in their constructor.
    """

    C: float
    class_weight: str | None
    max_iter: int
    random_state: int | None

    def _fit_features(self, texts: list[str]) -> Any:
        raise NotImplementedError

    def _features(self, texts: list[str]) -> Any:
        raise NotImplementedError

    def _design(self, features: Any, aspects: np.ndarray | None) -> Any:
        if self.aspects_ is None or aspects is None:
            return features
        index = {a: i for i, a in enumerate(self.aspects_)}
        codes = np.array([index.get(a, -1) for a in aspects], dtype=np.int64)
        return aspect_blocks(features, codes, len(self.aspects_))

    def _head(self) -> LogisticRegression:
        return LogisticRegression(
            C=self.C,
            class_weight=self.class_weight,
            max_iter=self.max_iter,
            random_state=self.random_state,
        )

    def _fit_design(self, X: Any) -> Any:
        texts, aspects = split_input(X)
        self.aspects_ = None if aspects is None else sorted(set(aspects.tolist()))
        return self._design(self._fit_features(texts), aspects)

    def fit(self, X: Any, y: Any) -> LinearHeadBackend:
        y = np.asarray(y)
        design = self._fit_design(X)
        head = self._head()
        if y.ndim == 2:
            self.head_: Any = OneVsRestClassifier(head).fit(design, y)
            self.classes_ = np.arange(y.shape[1])
        else:
            self.head_ = head.fit(design, y)
            self.classes_ = self.head_.classes_
        return self

    def fit_soft(self, X: Any, proba: Any, classes: Any, *, multilabel: bool) -> LinearHeadBackend:
        """Fit to another model's probabilities instead of labels (distillation).

        ``proba`` is (n_rows, n_classes) summing to 1 per row, or with ``multilabel`` one
        independent probability per label; ``classes`` become ``classes_``.
        """
        proba = np.asarray(proba, dtype=np.float64)
        design = self._fit_design(X)
        if multilabel:
            self.head_ = SoftLabelHeads(
                [_soft_fit(self._head(), design, np.column_stack([1 - p, p])) for p in proba.T]
            )
        else:
            self.head_ = _soft_fit(self._head(), design, proba)
        self.classes_ = np.asarray(classes)
        return self

    def _predict_design(self, X: Any) -> Any:
        texts, aspects = split_input(X)
        if self.aspects_ is not None and aspects is None:
            raise ValueError("this backend was trained with aspects; pass a 'aspect' column")
        return self._design(self._features(texts), aspects)

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "head_")
        design = self._predict_design(X)
        if isinstance(self.head_, LogisticRegression):
            return logistic_proba(self.head_, design)
        return np.asarray(self.head_.predict_proba(design))
