"""``cxml.ensemble.v1``: a stacked combination of other backends.

Each member is trained on most of the data; a held-out slice (``blend_fraction``) is scored by
every member, and a logistic regression learns how to combine their probabilities on it (per
label for multi-label data). So the combination is learned on predictions for rows the members
did not see, and each member is trained once. ``holdout_`` keeps the slice's cross-validated
combined probabilities, so a :class:`~cxml.comments.ThemeClassifier` tunes its thresholds on them
without training again.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict, train_test_split
from sklearn.utils.validation import check_is_fitted

from cxml._numeric import logit
from cxml.catalog import backends, unwrap_config_errors
from cxml.comments.backends._linear import take_rows

__all__ = ["Ensemble", "EnsembleParams", "MemberSpec"]


class MemberSpec(BaseModel):
    """One member: a backend in the catalog and its parameters."""

    model_config = ConfigDict(extra="forbid")

    backend: str
    params: dict[str, Any] = Field(default_factory=dict)

    def validated(self, refused: str, why: str) -> MemberSpec:
        """Itself once its backend is in the catalog and takes its params; the backend
        ``refused`` (the one that would nest itself) is refused with ``why``."""
        if self.backend == refused:
            raise ValueError(why)
        backends.get(self.backend).validate(self.params)
        return self


class EnsembleParams(BaseModel):
    """Parameters of ``cxml.ensemble.v1``."""

    model_config = ConfigDict(extra="forbid")

    members: list[MemberSpec] = Field(
        default_factory=lambda: [
            MemberSpec(backend="cxml.tfidf_linear.v1"),
            MemberSpec(backend="cxml.encoder_linear.v1", params={"encoder": "use"}),
        ],
        min_length=2,
        description="TF-IDF and multilingual sentence vectors by default; "
        "configs/*_accurate.yaml add a fine-tuned transformer",
    )
    blend_fraction: float = Field(default=0.2, gt=0, lt=0.5)
    C: float = Field(default=1.0, gt=0, description="regularisation of the combiner")

    @field_validator("members")
    @classmethod
    def _known(cls, members: list[MemberSpec]) -> list[MemberSpec]:
        why = "an ensemble cannot contain an ensemble"
        return [member.validated("cxml.ensemble.v1", why) for member in members]


_DEFAULTS = EnsembleParams().model_dump()  # the constructor's defaults, written once


@backends.add("cxml.ensemble.v1", params=EnsembleParams)
class Ensemble(ClassifierMixin, BaseEstimator):
    """Members' probabilities combined by a logistic regression learned on a held-out slice.

    Parameters are those of :class:`EnsembleParams` (members as plain dicts), plus
    ``random_state``.
    """

    def __init__(
        self,
        *,
        members: list[dict[str, Any]] = _DEFAULTS["members"],
        blend_fraction: float = _DEFAULTS["blend_fraction"],
        C: float = _DEFAULTS["C"],
        random_state: int | None = None,
    ) -> None:
        self.members = members
        self.blend_fraction = blend_fraction
        self.C = C
        self.random_state = random_state

    def _stack(self, X: Any) -> list[np.ndarray]:
        return [np.asarray(m.predict_proba(X)) for m in self.members_]

    def fit(self, X: Any, y: Any) -> Ensemble:
        with unwrap_config_errors():
            specs = EnsembleParams.model_validate({"members": self.members}).members
        y = np.asarray(y)
        self.multilabel_ = y.ndim == 2
        index = np.arange(len(y))
        stratify = None if self.multilabel_ else y
        fit_idx, blend_idx = train_test_split(
            index, test_size=self.blend_fraction, random_state=self.random_state, stratify=stratify
        )
        self.members_ = [
            backends.get(s.backend)
            .build(s.params, random_state=self.random_state)
            .fit(take_rows(X, fit_idx), y[fit_idx])
            for s in specs
        ]
        parts = self._stack(take_rows(X, blend_idx))
        target = y[blend_idx]
        if self.multilabel_:
            self.classes_ = np.arange(y.shape[1])
            self.combiners_: list[LogisticRegression | None] = []
            holdout = np.zeros(target.shape)
            for k in range(y.shape[1]):
                features = np.column_stack([logit(p[:, k]) for p in parts])
                if len(set(target[:, k].tolist())) < 2:  # a label absent from the slice
                    self.combiners_.append(None)
                    holdout[:, k] = np.mean([p[:, k] for p in parts], axis=0)
                    continue
                combiner = LogisticRegression(C=self.C, max_iter=1000)
                holdout[:, k] = cross_val_predict(
                    combiner, features, target[:, k], cv=3, method="predict_proba"
                )[:, 1]
                self.combiners_.append(combiner.fit(features, target[:, k]))
        else:
            self.classes_ = self.members_[0].classes_
            features = np.hstack([np.log(np.clip(p, 1e-6, 1)) for p in parts])
            combiner = LogisticRegression(C=self.C, max_iter=1000)
            holdout = cross_val_predict(combiner, features, target, cv=3, method="predict_proba")
            self.combiners_ = [combiner.fit(features, target)]
        self.holdout_ = (blend_idx, holdout)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "combiners_")
        parts = self._stack(X)
        if not self.multilabel_:
            features = np.hstack([np.log(np.clip(p, 1e-6, 1)) for p in parts])
            (combiner,) = self.combiners_
            assert combiner is not None
            return np.asarray(combiner.predict_proba(features))
        out = np.zeros((len(parts[0]), len(self.classes_)))
        for k, label_combiner in enumerate(self.combiners_):
            if label_combiner is None:
                out[:, k] = np.mean([p[:, k] for p in parts], axis=0)
            else:
                features = np.column_stack([logit(p[:, k]) for p in parts])
                out[:, k] = label_combiner.predict_proba(features)[:, 1]
        return out
