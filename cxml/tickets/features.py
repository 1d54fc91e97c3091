"""Ticket features known while the ticket is open, computed "as of" a moment.

Only columns declared in :class:`~cxml.config.TicketFeaturesConfig` are read. Durations come
from timestamps as of the scoring moment: a row's ``as_of`` column when present (a ticket solved
before it is seen as of its solving), else ``solved_at`` for a solved ticket and now for an open
one. A reply or solve stamped after the moment has not happened yet. Times are read by the rule
of :mod:`cxml.contracts.times`; missing values, broken timestamps and times outside the range pandas
represents become missing features, never errors, and so do durations that would be negative (a
reply or solve before creation, a creation after the scoring moment).

The text signal is a comment-model backend (:mod:`cxml.comments.backends`) trained on the
ticket texts to predict a bad rating. Like :class:`sklearn.preprocessing.TargetEncoder`,
:meth:`TicketFeaturizer.fit_transform` returns out-of-fold text scores, so the booster never
learns from a text score fitted on its own label.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn import config_context
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.model_selection import StratifiedKFold
from sklearn.utils.validation import check_is_fitted

from cxml._numeric import logit
from cxml.catalog import backends
from cxml.config import TicketFeaturesConfig
from cxml.contracts.times import utc_ns

__all__ = ["TEXT_SCORE", "TicketFeaturizer"]

#: Name of the text-signal feature (the log-odds of a bad rating from the ticket text).
TEXT_SCORE = "text_score"
_MAX_CATEGORIES = 50
_MIN_CATEGORY_COUNT = 5


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame:
        return frame[name]
    return pd.Series(np.nan, index=frame.index, dtype=object)


class TicketFeaturizer(TransformerMixin, BaseEstimator):
    """Turn ticket rows into the bad-rating model's feature frame.

    Parameters
    ----------
    config : TicketFeaturesConfig, default=None
        What to read; None means the defaults.
    folds : int, default=5
        Folds of the out-of-fold text scores in :meth:`fit_transform`.
    random_state : int, default=None
        Seed of the text model and its folds.

    Attributes
    ----------
    counts_ : list of str
        The declared count columns the training data fills (an absent or empty one is left
        out). Ping-pong is ``group_stations >= ping_pong_hops`` where given, else
        ``reassignments >= ping_pong_hops``.
    categories_ : dict of str to list of str
        Known levels of each categorical column (rare levels are left out: missing).
    level_codes_ : dict of str to dict of str to float
        The code of each level (its position in ``categories_``).
    text_model_ : estimator or None
        The fitted text backend.
    feature_names_out_ : list of str
        Columns of the frame :meth:`transform` returns.
    """

    def __init__(
        self,
        config: TicketFeaturesConfig | None = None,
        *,
        folds: int = 5,
        random_state: int | None = None,
    ) -> None:
        self.config = config
        self.folds = folds
        self.random_state = random_state

    @property
    def _config(self) -> TicketFeaturesConfig:
        return self.config or TicketFeaturesConfig()

    def fit(self, X: pd.DataFrame, y: Any) -> TicketFeaturizer:
        """Learn category levels and fit the text model on ``X`` with bad-rating labels ``y``."""
        self._fit(X, y)
        return self

    def fit_transform(self, X: pd.DataFrame, y: Any = None, **fit_params: Any) -> pd.DataFrame:
        """Fit, and return the features with out-of-fold text scores."""
        if y is None:
            raise ValueError("TicketFeaturizer.fit_transform needs the bad-rating labels y")
        labels = np.asarray(y, dtype=int)
        self._fit(X, labels)
        scores = None
        if self.text_model_ is not None:
            folds = StratifiedKFold(
                min(self.folds, int(np.bincount(labels).min())),
                shuffle=True,
                random_state=self.random_state,
            )
            texts = np.asarray(_texts(X), dtype=object)
            proba = np.empty(len(texts))
            for train, held in folds.split(texts, labels):
                model = clone(self.text_model_).fit(list(texts[train]), labels[train])
                proba[held] = model.predict_proba(list(texts[held]))[:, 1]
            scores = logit(proba)
        return self._frame(self._columns(X, scores)[0], X.index)

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """The feature frame of ``X``, one row per ticket, columns :attr:`feature_names_out_`."""
        check_is_fitted(self, "feature_names_out_")
        return self._frame(self._columns(X)[0], X.index)

    def encode(self, X: pd.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Features as one float matrix (categories as level codes, missing as NaN) and the
        ``replied`` / ``solved`` status of each ticket as of its scoring moment.

        The fast path of scoring: no DataFrame is built.
        """
        check_is_fitted(self, "feature_names_out_")
        columns, status = self._columns(X)
        return np.column_stack([columns[name] for name in self.feature_names_out_]), status

    def matrix(self, features: pd.DataFrame) -> np.ndarray:
        """The float matrix of a frame from :meth:`transform` or :meth:`fit_transform`."""
        return np.column_stack(
            [
                _codes(features[name]) if name in self.categories_ else features[name]
                for name in self.feature_names_out_
            ]
        ).astype(np.float64)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return np.asarray(self.feature_names_out_, dtype=object)

    def _fit(self, X: pd.DataFrame, y: Any) -> None:
        config = self._config
        self.counts_ = [n for n in config.counts if not np.isnan(_numbers(_column(X, n))).all()]
        self.categories_: dict[str, list[str]] = {}
        for name in config.categorical:
            counts = _column(X, name).dropna().astype(str).value_counts()
            kept = counts[counts >= _MIN_CATEGORY_COUNT].index[:_MAX_CATEGORIES]
            self.categories_[name] = sorted(kept)
        self.level_codes_ = {
            name: {v: float(i) for i, v in enumerate(levels)}
            for name, levels in self.categories_.items()
        }
        self.text_model_ = None
        if config.text is not None:
            self.text_model_ = backends.get(config.text.backend).build(
                config.text.params, random_state=self.random_state
            )
            self.text_model_.fit(_texts(X), np.asarray(y, dtype=int))
        self.feature_names_out_ = list(self._columns(X.iloc[:0], np.empty(0))[0])

    def _frame(self, columns: dict[str, np.ndarray], index: pd.Index) -> pd.DataFrame:
        out: dict[str, Any] = dict(columns)
        for name, levels in self.categories_.items():
            codes = np.nan_to_num(columns[name], nan=-1).astype(int)
            out[name] = pd.Categorical.from_codes(codes, categories=pd.Index(levels))
        return pd.DataFrame(out, index=index)

    def _columns(
        self, X: pd.DataFrame, text_scores: np.ndarray | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Every feature as a float array (categories as codes), and the ticket status."""
        config = self._config
        out: dict[str, np.ndarray] = {}
        created, replied, solved, as_of = _stamps_of(
            [_column(X, name) for name in ("created_at", "first_response_at", "solved_at", "as_of")]
        )
        unset = np.isnat(as_of)
        if unset.any():  # a solved ticket is seen as of its solving, an open one as of now
            now = np.datetime64(pd.Timestamp.now(tz="UTC").tz_localize(None))
            as_of[unset] = np.where(np.isnat(solved[unset]), now, solved[unset])
        moment = np.where(solved < as_of, solved, as_of)
        replied[replied > moment] = np.datetime64("NaT")
        status = {"replied": ~np.isnat(replied), "solved": ~np.isnat(solved) & (solved <= moment)}
        if config.durations:
            waited_until = np.where(np.isnat(replied), moment, replied)
            out["first_response_hours"] = _hours(waited_until - created)
            out["hours_open"] = _hours(moment - created)
        if config.calendar:
            start, end = config.business_hours
            days = created.astype("datetime64[D]")
            hour = ((created - days) / np.timedelta64(1, "h")).astype(np.float64) // 1
            weekday = ((days.astype(np.int64) + 3) % 7).astype(np.float64)  # 1970-01-01: Thu
            missing = np.isnat(created)
            hour[missing] = weekday[missing] = np.nan
            inside = np.isin(weekday, config.business_days) & (hour >= start) & (hour < end)
            out["created_hour"] = hour
            out["created_weekday"] = weekday
            out["out_of_hours"] = np.where(missing, np.nan, (~inside).astype(np.float64))
        for name in self.counts_:
            out[name] = np.clip(_numbers(_column(X, name)), 0, None)
        if "group_stations" in out or "reassignments" in out:  # groups where given, else hops
            absent = np.full(len(created), np.nan)
            groups = out.get("group_stations", absent)
            hops = np.where(np.isnan(groups), out.get("reassignments", absent), groups)
            out["ping_pong"] = np.where(
                np.isnan(hops), np.nan, (hops >= config.ping_pong_hops).astype(np.float64)
            )
        for name in config.numeric:
            out[name] = _numbers(_column(X, name))
        for name, levels in self.level_codes_.items():
            values = _column(X, name).tolist()
            out[name] = np.array(
                [levels.get(str(v), np.nan) if v is not None else np.nan for v in values],
                dtype=np.float64,
            )
        if self.text_model_ is not None:
            if text_scores is None:
                # without sklearn's checks of its own steps' output (finite by construction):
                # they cost a fifth of scoring one ticket
                with config_context(assume_finite=True, skip_parameter_validation=True):
                    proba = self.text_model_.predict_proba(_texts(X))
                text_scores = logit(proba[:, 1])
            out[TEXT_SCORE] = text_scores
        return out, status


def _codes(values: pd.Series) -> np.ndarray:
    codes = np.asarray(values.cat.codes, dtype=np.float64)
    codes[codes < 0] = np.nan
    return codes


def _texts(X: pd.DataFrame) -> list[str]:
    return [t if isinstance(t, str) else "" for t in _column(X, "text").tolist()]


def _stamps_of(columns: list[pd.Series]) -> list[np.ndarray]:
    """:func:`~cxml.contracts.times.utc_ns` of each column; columns of text are parsed in one call
    (scoring one ticket would otherwise parse four times, for most of the featurizing time)."""
    if not all(c.dtype == object or isinstance(c.dtype, pd.StringDtype) for c in columns):
        return [utc_ns(c) for c in columns]
    values = np.concatenate([c.to_numpy(dtype=object) for c in columns])
    return np.split(utc_ns(pd.Series(values, dtype=object)), len(columns))


def _numbers(values: pd.Series) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values.dtype):  # read already (to_numeric: 0.25 ms a call)
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _hours(delta: np.ndarray) -> np.ndarray:
    hours = (delta / np.timedelta64(1, "h")).astype(np.float64)
    hours[~(hours >= 0)] = np.nan
    return hours
