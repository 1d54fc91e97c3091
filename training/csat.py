"""``cxml train csat``: the ticket bad-rating model.

read -> keep rated tickets -> audit the features for leakage (:mod:`.leakage`) -> time-ordered
split (evaluate on the newest) -> fit -> evaluate beside a logistic regression and the majority
baseline -> log -> refit on every rated ticket -> register.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from cxml.config import CsatConfig
from cxml.contracts.fields import TICKETS
from cxml.contracts.ratings import is_bad
from cxml.contracts.tickets import ticket_inputs
from cxml.contracts.times import utc_ns
from cxml.data.synth import make_tickets
from cxml.errors import BadInputError
from cxml.tickets import TicketFeaturizer, TicketRiskModel, check_ticket_counts
from cxml.tickets.model import time_split

from .common import TrainResult
from .evaluation import lift_table, risk_figures, risk_metrics
from .leakage import AUDIT_ARTIFACT, audit_leakage
from .pipeline import Evaluation, Labelled, TrainingPipeline

__all__ = [
    "TICKET_EXAMPLE",
    "CsatPipeline",
    "bad_labels",
    "build_model",
    "linear_baseline",
    "train_csat",
]

#: Input example stored with every ticket model: generated tickets, never a customer's, in the
#: form every scoring path passes them (:func:`cxml.contracts.tickets.ticket_inputs`).
TICKET_EXAMPLE = ticket_inputs(
    make_tickets(2, seed=7, lang="mixed", open_share=0.5), pd.Timestamp("2026-07-01", tz="UTC")
)
#: Only ``ticket_id`` and ``created_at`` are required when scoring.
OPTIONAL_INPUTS = tuple(c for c in TICKET_EXAMPLE.columns if c not in ("ticket_id", "created_at"))


def bad_labels(rating: pd.Series, bad_ratings: Sequence[int | str]) -> np.ndarray:
    """1 where the rating (1-5 or good / bad) is one of ``bad_ratings``, else 0
    (:func:`cxml.contracts.ratings.is_bad`)."""
    return is_bad(rating, bad_ratings).astype(int)


def build_model(config: CsatConfig) -> TicketRiskModel:
    """The configured, unfitted :class:`TicketRiskModel`."""
    return TicketRiskModel(
        features=config.features,
        model=config.model,
        policy=config.policy,
        reasons=config.reasons,
        min_rated=config.labels.min_rated,
        min_bad=config.labels.min_bad,
        random_state=config.split.seed,
    )


def linear_baseline(config: CsatConfig) -> Pipeline:
    """Logistic regression on the same features (one-hot categories, scaled numbers)."""
    columns = ColumnTransformer(
        [
            (
                "numbers",
                make_pipeline(SimpleImputer(add_indicator=True), StandardScaler()),
                make_column_selector(dtype_include="number"),
            ),
            (
                "categories",
                OneHotEncoder(handle_unknown="ignore"),
                make_column_selector(dtype_include="category"),
            ),
        ]
    )
    return make_pipeline(
        TicketFeaturizer(config.features, random_state=config.split.seed),
        columns,
        LogisticRegression(max_iter=2000),
    )


def _whole_weeks(created: pd.Series) -> np.ndarray:
    """Which tickets fall in the whole weeks counted back from the newest one (all of them when
    they span less than a week, or have no times).

    >>> times = pd.Series(pd.date_range("2026-03-01", periods=10, freq="D", tz="UTC"))
    >>> _whole_weeks(times).tolist()
    [False, False, False, True, True, True, True, True, True, True]
    """
    stamps = utc_ns(created)
    known = ~np.isnat(stamps)
    if not known.any():
        return np.ones(len(stamps), dtype=bool)
    newest = stamps[known].max()
    weeks = (newest - stamps[known].min()) // np.timedelta64(7, "D")
    if weeks < 1:
        return np.ones(len(stamps), dtype=bool)
    return known & (stamps > newest - weeks * np.timedelta64(7, "D"))


def _rated(data: Labelled) -> tuple[pd.DataFrame, np.ndarray]:
    """The rated tickets without their label, and the label (1 = bad)."""
    return data.frame.drop(columns=data.label), data.frame[data.label].to_numpy()


class CsatPipeline(TrainingPipeline[CsatConfig]):
    """The ticket bad-rating model: evaluated on the newest tickets, refitted on all (``refit``)."""

    task = "csat"
    schema = TICKETS
    rows = "tickets"
    input_example = TICKET_EXAMPLE
    optional_inputs = OPTIONAL_INPUTS

    def prepare(self, frame: pd.DataFrame, path: Path) -> Labelled:
        labels = self.config.labels
        if "rating" not in frame:
            raise BadInputError(
                f"{path}: no rating column; map it with data.columns.rating=<column>"
            )
        rated = frame[frame["rating"].notna()].reset_index(drop=True)
        bad = bad_labels(rated["rating"], labels.bad_ratings)
        check_ticket_counts(bad, min_rated=labels.min_rated, min_bad=labels.min_bad)
        self.on_step("auditing the features for leakage")
        audit = audit_leakage(
            frame,
            frame["rating"].notna().to_numpy(),
            bad,
            features=self.config.features,
            columns=self.config.data.columns,
            random_state=self.config.split.seed,
        )
        audit.refuse(path)
        return Labelled(
            rated.assign(bad=bad),
            "bad",
            counts={"data.unrated_skipped": len(frame) - len(rated)},
            documents={AUDIT_ARTIFACT: audit.as_dict()},
            tags=audit.tags(),
        )

    def evaluate(self, data: Labelled) -> Evaluation:
        config, on_step = self.config, self.on_step
        rated, bad = _rated(data)
        older, newest = time_split(rated["created_at"], config.split.validation_fraction)
        on_step("fitting on the older tickets")
        started = time.perf_counter()
        model = build_model(config).fit(rated.iloc[older], bad[older])
        fit_seconds = time.perf_counter() - started
        on_step("evaluating on the newest tickets")
        held, y = rated.iloc[newest], bad[newest]
        scored = time.perf_counter()
        p = model.predict_proba(held)[:, 1]
        predict_seconds = time.perf_counter() - scored
        flagged = model.flag_policy.flag(p)
        metrics = {f"val_{k}": v for k, v in risk_metrics(y, p, flagged).items()}
        on_step("fitting the logistic-regression baseline")
        linear = linear_baseline(config).fit(rated.iloc[older], bad[older])
        metrics["val_logistic_roc_auc"] = roc_auc_score(y, linear.predict_proba(held)[:, 1])
        metrics["val_majority_brier"] = brier_score_loss(y, np.full(len(y), bad[older].mean()))
        if "true_bad_probability" in held:
            truth = held["true_bad_probability"].to_numpy(dtype=float)
            metrics["val_oracle_roc_auc"] = roc_auc_score(y, truth)
        metrics["train_seconds"] = fit_seconds
        metrics["predict_rows_per_second"] = len(y) / max(predict_seconds, 1e-9)
        policy = model.flag_policy
        metrics.update(
            {
                "policy_threshold": policy.threshold,
                "policy_expected_precision": policy.expected_precision,
                "policy_expected_recall": policy.expected_recall,
            }
        )
        lift = lift_table(y, p)
        figures = {f"evaluation/{name}.png": figure for name, figure in risk_figures(y, p).items()}
        tables = {"evaluation/lift_by_decile.json": lift}
        outputs = pd.DataFrame({"bad_rating_probability": p, "at_risk": flagged})
        return Evaluation(
            model, metrics, lift, tables=tables, figures=figures, held_out=held, outputs=outputs
        )

    def reference_scores(
        self, evaluation: Evaluation, model: TicketRiskModel
    ) -> tuple[pd.DataFrame, Any, pd.DataFrame]:
        """The newest tickets of whole weeks, as the registered model sees them.

        Whole weeks (counted back from the newest ticket): a slice that starts mid-week has
        another weekday mix, and durations follow the weekday. Refitted, the registered model
        learned its booster and text model from the older ``model.calibration_fraction`` split,
        which leaves out the held-out tickets whenever ``split.validation_fraction`` is not
        larger (both 0.2 by default); its probabilities and text scores there are what it gives
        new tickets. Otherwise the evaluated model's view is the reference.
        """
        held, scorer, outputs = super().reference_scores(evaluation, model)
        keep = _whole_weeks(held["created_at"])
        held = held[keep]
        calibration = self.config.model.calibration_fraction
        if model is not evaluation.model and self.config.split.validation_fraction <= calibration:
            return held, model, model.predict_frame(held)
        return held, scorer, outputs[keep].reset_index(drop=True)

    def final_model(self, data: Labelled, evaluation: Evaluation) -> TicketRiskModel:
        """Refit on every rated ticket (``split.refit``); log its feature gains and policy."""
        model: TicketRiskModel = evaluation.model
        if self.config.split.refit:
            self.on_step("refitting on every rated ticket")
            model = build_model(self.config).fit(*_rated(data))
        importance = pd.DataFrame(
            {
                "feature": model.booster_.feature_name_,
                "gain": model.booster_.booster_.feature_importance("gain"),
            }
        ).sort_values("gain", ascending=False)
        mlflow.log_table(importance, "evaluation/feature_importance.json")
        mlflow.log_dict(asdict(model.flag_policy), "policy.json")
        return model

    def policy(self, model: TicketRiskModel) -> dict[str, float]:
        policy = model.flag_policy
        return {
            "threshold": policy.threshold,
            "expected_precision": policy.expected_precision,
            "expected_recall": policy.expected_recall,
            "expected_flag_share": policy.expected_flag_share,
        }


def train_csat(
    config: CsatConfig,
    *,
    data: str | Path | None = None,
    on_step: Callable[[str], None] = lambda step: None,
) -> TrainResult:
    """Train, evaluate, log and (by default) register the ticket bad-rating model.

    Only rated tickets are used; unrated (open) ones are counted and skipped. Post-survey
    columns in the file are never read; before fitting, the fields the model reads are audited
    on every row (:func:`~cxml.training.leakage.audit_leakage`), and a suspected leak not in
    ``features.allow_leaks`` stops training with a
    :class:`~cxml.training.leakage.LeakageError`. ``true_bad_probability`` (generated data) is
    used for the ``oracle_roc_auc`` figure only.
    """
    return CsatPipeline(config, on_step=on_step).run(data)
