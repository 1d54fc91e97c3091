"""The ticket bad-rating model: LightGBM on open-ticket features, calibrated, with a flag policy.

``fit`` orders the tickets by ``created_at`` and holds out the newest
``calibration_fraction`` of them: the booster learns from the older tickets (early stopping on a
random slice of those), and the calibration map and the flagging threshold are learned on the
newer ones, as they will be used on tickets that come after the training data.

LightGBM was chosen over sklearn's HistGradientBoosting for its per-prediction contributions
(TreeSHAP, ``pred_contrib``), which the reasons are made from; ``benchmarks/run.py csat`` reports
both on the same features.
"""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

from cxml.config import FlagPolicyConfig, TicketFeaturesConfig, TicketModelConfig
from cxml.contracts.times import utc_ns
from cxml.errors import BadInputError, InsufficientDataError
from cxml.tickets.features import TicketFeaturizer
from cxml.tickets.policy import FlagPolicy, choose_policy
from cxml.tickets.reasons import top_reasons

__all__ = ["TicketRiskModel", "check_ticket_counts", "time_split"]

_EARLY_STOPPING_ROUNDS = 50
_THREADED_ROWS = 1000


def time_split(created: pd.Series, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the older ``1 - fraction`` and the newest ``fraction`` of the tickets."""
    order = np.argsort(utc_ns(created), kind="stable")
    cut = round(len(order) * (1 - fraction))
    return order[:cut], order[cut:]


def check_ticket_counts(bad: np.ndarray, *, min_rated: int, min_bad: int) -> None:
    """Refuse to train on fewer than ``min_rated`` rated or ``min_bad`` badly rated tickets."""
    n, n_bad = len(bad), int(np.sum(bad))
    if n < min_rated or n_bad < min_bad:
        raise InsufficientDataError(
            f"Too little data to learn bad ratings: {n} rated tickets, {n_bad} rated badly; "
            f"training needs at least {min_rated} rated tickets and {min_bad} bad ones "
            "(labels.min_rated, labels.min_bad). Collect more ratings first."
        )


class TicketRiskModel(ClassifierMixin, BaseEstimator):
    """Predict the probability that a ticket gets a bad CSAT rating, flag and explain it.

    Parameters
    ----------
    features : TicketFeaturesConfig, default=None
        Which columns to read (see :mod:`cxml.tickets.features`); None means the defaults.
    model : TicketModelConfig, default=None
        Booster, calibration and imbalance settings; None means the defaults.
    policy : FlagPolicyConfig, default=None
        How the ``at_risk`` threshold is chosen; None means flag at most 10 %.
    reasons : int, default=3
        Reasons given per ticket by :meth:`predict_frame`.
    min_rated, min_bad : int, default=200, 20
        Fewest rated and badly rated tickets ``fit`` accepts.
    random_state : int, default=None
        Seed of the text model, the folds and the booster.

    Attributes
    ----------
    featurizer_ : TicketFeaturizer
    booster_ : lightgbm.LGBMClassifier
    calibrator_ : IsotonicRegression or LogisticRegression
        Maps the booster's log-odds to probabilities, fitted on the newest tickets.
    policy_ : FlagPolicy
    classes_ : ndarray, ``[0, 1]`` (1 = bad)
    """

    def __init__(
        self,
        *,
        features: TicketFeaturesConfig | None = None,
        model: TicketModelConfig | None = None,
        policy: FlagPolicyConfig | None = None,
        reasons: int = 3,
        min_rated: int = 200,
        min_bad: int = 20,
        random_state: int | None = None,
    ) -> None:
        self.features = features
        self.model = model
        self.policy = policy
        self.reasons = reasons
        self.min_rated = min_rated
        self.min_bad = min_bad
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: Any) -> TicketRiskModel:
        """Fit on ticket rows ``X`` and labels ``y`` (1 = bad rating).

        Without ``created_at`` the rows are taken as already in time order.
        """
        if not isinstance(X, pd.DataFrame):
            raise BadInputError("TicketRiskModel.fit expects a DataFrame of tickets")
        bad = np.asarray(y, dtype=int)
        if len(bad) != len(X):
            raise BadInputError(f"{len(X)} tickets but {len(bad)} labels")
        check_ticket_counts(bad, min_rated=self.min_rated, min_bad=self.min_bad)
        config = self.model or TicketModelConfig()
        created = X["created_at"] if "created_at" in X else pd.Series(pd.NaT, index=X.index)
        older, newer = time_split(created, config.calibration_fraction)
        if min(bad[older].sum(), bad[newer].sum()) < 5:
            raise InsufficientDataError(
                "Too few bad ratings to both fit and calibrate: the older tickets have "
                f"{int(bad[older].sum())}, the newest {int(bad[newer].sum())}; need 5 each"
            )
        self.featurizer_ = TicketFeaturizer(self.features, random_state=self.random_state)
        train = self.featurizer_.matrix(self.featurizer_.fit_transform(X.iloc[older], bad[older]))
        self.booster_ = self._fit_booster(train, bad[older], config)
        logits = self._logits(self.featurizer_.encode(X.iloc[newer])[0])
        if config.calibration == "isotonic":
            self.calibrator_: Any = IsotonicRegression(
                y_min=0.0, y_max=1.0, out_of_bounds="clip"
            ).fit(logits, bad[newer])
        else:
            self.calibrator_ = LogisticRegression(C=1e6).fit(logits[:, None], bad[newer])
        self.classes_ = np.array([0, 1])
        self.policy_ = choose_policy(
            bad[newer], self._calibrate(logits), self.policy or FlagPolicyConfig()
        )
        return self

    def _fit_booster(
        self, features: np.ndarray, bad: np.ndarray, config: TicketModelConfig
    ) -> lgb.LGBMClassifier:
        booster = lgb.LGBMClassifier(
            n_estimators=config.max_trees,
            learning_rate=config.learning_rate,
            num_leaves=config.num_leaves,
            min_child_samples=config.min_child_samples,
            reg_lambda=config.reg_lambda,
            class_weight=config.class_weight,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            random_state=self.random_state,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )
        fit_rows, stop_rows = train_test_split(
            np.arange(len(bad)), test_size=0.15, stratify=bad, random_state=self.random_state
        )
        names = self.featurizer_.feature_names_out_
        booster.fit(
            features[fit_rows],
            bad[fit_rows],
            eval_X=(features[stop_rows],),
            eval_y=(bad[stop_rows],),
            feature_name=names,
            categorical_feature=[names.index(c) for c in self.featurizer_.categories_],
            callbacks=[lgb.early_stopping(_EARLY_STOPPING_ROUNDS, verbose=False)],
        )
        return booster

    def _logits(self, features: np.ndarray, *, contributions: bool = False) -> np.ndarray:
        """The booster's log-odds, or with ``contributions`` its TreeSHAP matrix (+ bias)."""
        kind = {"pred_contrib": True} if contributions else {"raw_score": True}
        threads = 1 if len(features) < _THREADED_ROWS else 0  # threads cost more than one row
        values = self.booster_.booster_.predict(features, num_threads=threads, **kind)
        return np.asarray(values, dtype=np.float64)

    def _calibrate(self, logits: np.ndarray) -> np.ndarray:
        if isinstance(self.calibrator_, IsotonicRegression):
            return np.asarray(self.calibrator_.predict(logits), dtype=np.float64)
        # LogisticRegression.predict_proba(logits[:, None])[:, 1], the same operations without
        # its input checks, which cost more than the rest of calibrating one ticket
        scores = logits[:, None] @ self.calibrator_.coef_.T + self.calibrator_.intercept_
        return np.asarray(expit(scores.reshape(-1)), dtype=np.float64)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated ``[P(not bad), P(bad)]`` per ticket, shape (n_samples, 2)."""
        check_is_fitted(self, "policy_")
        p = self._calibrate(self._logits(self.featurizer_.encode(X)[0]))
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1 where the ticket is ``at_risk`` under the stored policy, else 0."""
        return self.policy_.flag(self.predict_proba(X)[:, 1]).astype(int)

    @property
    def flag_policy(self) -> FlagPolicy:
        """The stored flagging policy (threshold and what it gave on held-out tickets)."""
        check_is_fitted(self, "policy_")
        return self.policy_

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Each feature's push on each ticket's log-odds (TreeSHAP), plus ``bias``."""
        check_is_fitted(self, "policy_")
        values = self._logits(self.featurizer_.encode(X)[0], contributions=True)
        names = self.featurizer_.feature_names_out_
        return pd.DataFrame(values, columns=[*names, "bias"], index=X.index)

    def predict_frame(self, X: pd.DataFrame) -> pd.DataFrame:
        """``bad_rating_probability``, ``at_risk`` and ``reasons`` for each ticket."""
        check_is_fitted(self, "policy_")
        features, status = self.featurizer_.encode(X)
        contributions = self._logits(features, contributions=True)
        probability = self._calibrate(contributions.sum(axis=1))
        reasons = top_reasons(
            self.featurizer_.feature_names_out_,
            features,
            contributions[:, :-1],
            status,
            self.featurizer_.categories_,
            self.reasons,
        )
        return pd.DataFrame(
            {
                "bad_rating_probability": probability,
                "at_risk": self.policy_.flag(probability),
                "reasons": reasons,
            }
        )
