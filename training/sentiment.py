"""``cxml train sentiment``: read -> validate -> split -> fit -> evaluate -> log -> register."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, train_test_split

from cxml.comments import SentimentClassifier
from cxml.config import SentimentConfig
from cxml.contracts.fields import COMMENTS
from cxml.contracts.labels import SENTIMENTS

from .common import TrainResult, check_counts
from .evaluation import (
    classification_metrics,
    confusion_figure,
    per_label_table,
    reliability_figure,
)
from .pipeline import Evaluation, Labelled, TrainingPipeline

__all__ = ["SentimentPipeline", "labels_from_rating", "train_sentiment"]


def labels_from_rating(rating: pd.Series) -> pd.Series:
    """1-2 -> negative, 3 -> neutral, 4-5 -> positive (missing stays missing)."""
    values = pd.to_numeric(rating, errors="coerce").to_numpy(dtype=float)
    labels = np.select([values <= 2, values == 3, values >= 4], SENTIMENTS, "").astype(object)
    labels[labels == ""] = np.nan
    return pd.Series(labels, index=rating.index, dtype=object)


class SentimentPipeline(TrainingPipeline[SentimentConfig]):
    """Sentiment: a holdout split, or out-of-fold figures and a refit on all rows (``kfold``)."""

    task = "sentiment"
    schema = COMMENTS

    def required(self) -> list[str]:
        return ["rating"] if self.config.labels.from_rating else ["sentiment"]

    def prepare(self, frame: pd.DataFrame, path: Path) -> Labelled:
        if self.config.labels.from_rating:
            frame["sentiment"] = labels_from_rating(frame["rating"])
        check_counts(frame["sentiment"].astype(str), self.config.labels.min_examples)
        return Labelled(frame, "sentiment")

    def evaluate(self, data: Labelled) -> Evaluation:
        config, on_step = self.config, self.on_step
        labels = data.frame["sentiment"].astype(str)
        estimator = SentimentClassifier(
            backend=config.model.backend, params=config.model.params, random_state=config.split.seed
        )
        texts = data.frame["text"].to_numpy(dtype=object)
        started = time.perf_counter()
        if config.split.strategy == "holdout":
            on_step("fitting on the training split")
            x_tr, x_va, y_tr, y_va, _, held = train_test_split(
                texts,
                labels.to_numpy(dtype=object),
                np.arange(len(texts)),
                test_size=config.split.validation_fraction,
                stratify=labels,
                random_state=config.split.seed,
            )
            estimator.fit(x_tr, y_tr)
            fit_seconds = time.perf_counter() - started
            on_step("evaluating on the validation split")
            scored = time.perf_counter()
            proba = estimator.predict_proba(x_va)
            predict_seconds = time.perf_counter() - scored
        else:
            on_step(f"{config.split.folds}-fold cross-validation")
            y_va, held = labels.to_numpy(dtype=object), np.arange(len(texts))
            folds = StratifiedKFold(
                config.split.folds, shuffle=True, random_state=config.split.seed
            )
            fold_classes, proba = _out_of_fold(estimator, texts, y_va, folds)
            on_step("fitting on all data")
            refit = time.perf_counter()
            estimator.fit(texts, y_va)
            fit_seconds = time.perf_counter() - refit
            predict_seconds = float("nan")
            proba = proba[:, [fold_classes.index(c) for c in estimator.classes_]]
        classes = estimator.classes_
        metrics = {f"val_{k}": v for k, v in classification_metrics(y_va, proba, classes).items()}
        metrics["train_seconds"] = fit_seconds
        if np.isfinite(predict_seconds):
            metrics["predict_rows_per_second"] = len(y_va) / max(predict_seconds, 1e-9)
        y_pred = classes[proba.argmax(axis=1)]
        table = per_label_table(y_va, y_pred, list(classes))
        for label, f1 in zip(table["label"], table["f1"], strict=True):
            metrics[f"val_f1_{label}"] = float(f1)
        figures = {
            "evaluation/confusion.png": confusion_figure(y_va, y_pred, list(classes)),
            "evaluation/calibration.png": reliability_figure(
                y_va[:, None] == classes, proba, classes, title="Calibration"
            ),
        }
        tables = {"evaluation/per_label.json": table}
        outputs = pd.DataFrame(
            {"sentiment": y_pred, "sentiment_score": estimator.sentiment_score(proba)}
        )
        return Evaluation(
            estimator,
            metrics,
            table,
            tables=tables,
            figures=figures,
            held_out=data.frame.iloc[held],
            outputs=outputs,
        )


def train_sentiment(
    config: SentimentConfig,
    *,
    data: str | Path | None = None,
    on_step: Callable[[str], None] = lambda step: None,
) -> TrainResult:
    """Train, evaluate, log and (by default) register a sentiment model.

    Parameters
    ----------
    config : SentimentConfig
        The pipeline's config.
    data : str or Path, default=None
        Training file; overrides ``config.data.path``.
    on_step : callable, default=no-op
        Called with a short description as each step starts (the CLI shows it).
    """
    return SentimentPipeline(config, on_step=on_step).run(data)


def _out_of_fold(
    estimator: SentimentClassifier, texts: np.ndarray, labels: np.ndarray, folds: StratifiedKFold
) -> tuple[list[str], np.ndarray]:
    """Out-of-fold probabilities, columns in sorted label order (``cross_val_predict`` would
    encode the labels as integers, which the classifier refuses)."""
    classes = sorted(set(labels))
    proba = np.zeros((len(labels), len(classes)))
    for train, test in folds.split(texts, labels):
        model = clone(estimator).fit(texts[train], labels[train])
        columns = [classes.index(c) for c in model.classes_]
        proba[np.ix_(test, columns)] = model.predict_proba(texts[test])
    return classes, proba
