"""Multi-label themes of comments, with a decision threshold tuned per theme."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin, clone
from sklearn.model_selection import KFold
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.utils.validation import check_is_fitted

from cxml.catalog import backends
from cxml.comments._base import TextEstimatorMixin, as_texts

__all__ = ["ThemeClassifier", "ThemePredictions", "themes_frame", "tune_thresholds"]

_GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)


def tune_thresholds(Y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Per column, the probability cut-off in 0.05..0.95 that maximises F1 (0.5 if no positives).

    Where several cut-offs tie, the middle one is taken, as far as possible from both errors.
    """
    best = np.full(Y.shape[1], 0.5)
    for k in range(Y.shape[1]):
        if Y[:, k].sum() == 0:
            continue
        chosen = proba[:, k, None] >= _GRID  # rows x cut-offs
        hits = (chosen & (Y[:, k, None] > 0)).sum(axis=0)
        scores = 2 * hits / (Y[:, k].sum() + chosen.sum(axis=0))  # F1 at each cut-off
        best[k] = float(np.median(_GRID[scores >= scores.max() - 1e-9]))  # middle of the plateau
    return best


def themes_frame(classes: np.ndarray, chosen: np.ndarray, proba: np.ndarray) -> pd.DataFrame:
    """``themes`` (the chosen names per row) and ``theme_scores`` (name -> probability)."""
    names = [str(c) for c in classes]
    return pd.DataFrame(
        {
            "themes": [list(classes[row]) for row in chosen],
            "theme_scores": [dict(zip(names, row.round(4).tolist(), strict=True)) for row in proba],
        }
    )


class ThemePredictions:
    """``predict``, ``predict_themes`` and ``predict_frame`` of a theme model, derived from its
    ``predict_proba``, ``_decide`` (probabilities -> chosen themes) and ``classes_``."""

    classes_: np.ndarray

    def predict_proba(self, X: Any) -> np.ndarray:
        raise NotImplementedError

    def _decide(self, proba: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict(self, X: Any) -> np.ndarray:
        """0/1 indicator matrix, shape (n_samples, n_themes)."""
        return self._decide(self.predict_proba(X)).astype(int)

    def predict_themes(self, X: Any) -> list[list[str]]:
        """The assigned themes of each text, as lists of names."""
        return [list(self.classes_[row]) for row in self._decide(self.predict_proba(X))]

    def predict_frame(self, X: Any) -> pd.DataFrame:
        """The public output columns ``themes`` and ``theme_scores`` (theme -> probability)."""
        proba = self.predict_proba(X)
        return themes_frame(self.classes_, self._decide(proba), proba)


class ThemeClassifier(ThemePredictions, ClassifierMixin, TextEstimatorMixin):
    """Tag each comment with the themes it talks about (zero, one or many).

    Parameters
    ----------
    backend : str, default="cxml.tfidf_linear.v1"
        Backend name in :data:`cxml.catalog.backends`.
    params : dict, default=None
        Backend parameters; None means the backend's defaults.
    threshold : float or "tuned", default="tuned"
        Probability a theme needs to be assigned. ``"tuned"`` picks, per theme, the cut-off that
        maximises F1 on out-of-fold predictions of the training data (or on the slice a backend
        such as ``cxml.finetune.v1`` held out for early stopping).
    threshold_folds : int, default=3
        Folds used to tune the thresholds.
    random_state : int, default=None
        Seed for the folds and for backends that draw random numbers.

    Attributes
    ----------
    classes_ : ndarray of shape (n_themes,)
        Theme names, sorted; the columns of :meth:`predict_proba` and :meth:`predict`.
    thresholds_ : ndarray of shape (n_themes,)
        Cut-off per theme.
    at_least_one_ : bool
        True when every training comment had a theme; then a comment whose themes all fall below
        their cut-offs still gets its most likely theme.
    backend_ : estimator
        The fitted backend.

    Examples
    --------
    >>> clf = ThemeClassifier(params={"min_df": 1}, threshold=0.4).fit(
    ...     ["late parcel", "rude staff", "parcel late and staff rude", "kind staff"] * 3,
    ...     [["delivery"], ["staff"], ["delivery", "staff"], ["staff"]] * 3)
    >>> clf.predict_themes(["the parcel was late"])
    [['delivery']]
    """

    def __init__(
        self,
        *,
        backend: str = "cxml.tfidf_linear.v1",
        params: dict[str, Any] | None = None,
        threshold: float | str = "tuned",
        threshold_folds: int = 3,
        random_state: int | None = None,
    ) -> None:
        self.backend = backend
        self.params = params
        self.threshold = threshold
        self.threshold_folds = threshold_folds
        self.random_state = random_state

    def _new_backend(self) -> Any:
        return backends.get(self.backend).build(self.params, random_state=self.random_state)

    def fit(self, X: Any, y: Any) -> ThemeClassifier:
        """Fit on texts ``X`` and ``y``, a list of theme lists (an empty list: no theme)."""
        tuned = self.threshold == "tuned"
        if not tuned and not (isinstance(self.threshold, int | float) and 0 < self.threshold < 1):
            raise ValueError(
                "The 'threshold' parameter of ThemeClassifier must be 'tuned' or a float in "
                f"(0, 1). Got {self.threshold!r} instead."
            )
        texts = as_texts(X)
        theme_lists = [list(t) if isinstance(t, list | tuple | set | np.ndarray) else t for t in y]
        if len(theme_lists) != len(texts):
            raise ValueError(f"X has {len(texts)} texts but y has {len(theme_lists)} theme lists")
        bad = [i for i, t in enumerate(theme_lists) if not isinstance(t, list)]
        if bad:
            raise ValueError(
                f"y must hold a list of themes per text; position {bad[0]} holds "
                f"{theme_lists[bad[0]]!r}"
            )
        binarizer = MultiLabelBinarizer()
        Y = binarizer.fit_transform(theme_lists)
        if Y.shape[1] == 0:
            raise ValueError("ThemeClassifier needs at least one theme in y to learn.")
        self.classes_ = np.asarray(binarizer.classes_, dtype=object)
        self.at_least_one_ = bool(Y.sum(axis=1).min() > 0)
        self.backend_ = self._new_backend().fit(texts, Y)
        if not tuned:
            self.thresholds_ = np.full(Y.shape[1], float(self.threshold))
        elif hasattr(self.backend_, "holdout_"):  # the backend held data out already
            index, proba = self.backend_.holdout_
            self.thresholds_ = tune_thresholds(Y[index], proba)
        else:
            self.thresholds_ = tune_thresholds(Y, self._out_of_fold(texts, Y))
        return self

    def _out_of_fold(self, texts: np.ndarray, Y: np.ndarray) -> np.ndarray:
        proba = np.zeros(Y.shape, dtype=float)
        folds = KFold(self.threshold_folds, shuffle=True, random_state=self.random_state or 0)
        for train, test in folds.split(texts):
            model = clone(self._new_backend()).fit(texts[train], Y[train])
            proba[test] = model.predict_proba(texts[test])
        return proba

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probability of each theme, shape (n_samples, n_themes), columns follow ``classes_``."""
        check_is_fitted(self)
        return np.asarray(self.backend_.predict_proba(as_texts(X)), dtype=np.float64)

    def _decide(self, proba: np.ndarray) -> np.ndarray:
        chosen = proba >= self.thresholds_
        if self.at_least_one_:
            empty = ~chosen.any(axis=1)
            chosen[empty, proba[empty].argmax(axis=1)] = True
        return chosen
