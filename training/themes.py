"""``cxml train themes``: read -> validate -> split -> fit themes (+ theme sentiment) -> evaluate
-> log -> register ``cxml-themes``."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, multilabel_confusion_matrix, precision_recall_fscore_support
from sklearn.model_selection import KFold, train_test_split

from cxml.comments import (
    ThemeClassifier,
    ThemeModel,
    ThemeSentimentClassifier,
    ZeroShotThemeClassifier,
    load_taxonomy,
    theme_pairs,
)
from cxml.config import ThemesConfig
from cxml.contracts.fields import COMMENTS
from cxml.data import ReadSummary
from cxml.tracking import training_run

from .common import TrainResult, check_counts, log_and_register
from .evaluation import confusion_figure, per_label_table, reliability_figure
from .pipeline import Evaluation, Labelled, TrainingPipeline

__all__ = [
    "ThemesPipeline",
    "fit_theme_model",
    "theme_metrics",
    "train_themes",
    "zero_shot_themes",
]


def theme_metrics(Y: np.ndarray, predicted: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Per theme: precision, recall, F1, support and the confusion counts (tp, fp, fn, tn)."""
    p, r, f, s = precision_recall_fscore_support(Y, predicted, zero_division=0)
    cm = multilabel_confusion_matrix(Y, predicted)
    return pd.DataFrame(
        {
            "theme": names,
            "precision": p,
            "recall": r,
            "f1": f,
            "support": s,
            "tp": cm[:, 1, 1],
            "fp": cm[:, 0, 1],
            "fn": cm[:, 1, 0],
            "tn": cm[:, 0, 0],
        }
    ).round(4)


def _split(frame: pd.DataFrame, config: ThemesConfig) -> list[tuple[np.ndarray, np.ndarray]]:
    index = np.arange(len(frame))
    if config.split.strategy == "holdout":
        train, val = train_test_split(
            index, test_size=config.split.validation_fraction, random_state=config.split.seed
        )
        return [(train, val)]
    folds = KFold(config.split.folds, shuffle=True, random_state=config.split.seed)
    return list(folds.split(index))


def fit_theme_model(frame: pd.DataFrame, config: ThemesConfig, with_sentiment: bool) -> ThemeModel:
    """Fit the theme classifier (and theme sentiment) of ``config`` on labelled ``frame``.

    With ``config.taxonomy`` the themes are the taxonomy's, refined by the labelled rows.
    """
    texts, labels = frame["text"].to_numpy(dtype=object), frame["themes"].tolist()
    themes: ThemeClassifier | ZeroShotThemeClassifier
    if config.taxonomy is not None:
        themes = ZeroShotThemeClassifier(taxonomy=str(config.taxonomy)).fit(texts, labels)
    else:
        themes = ThemeClassifier(
            backend=config.model.backend,
            params=config.model.params,
            threshold=config.model.threshold,
            random_state=config.split.seed,
        ).fit(texts, labels)
    sentiment = None
    if with_sentiment:
        pairs = theme_pairs(frame["text"], frame["theme_sentiment"])
        sentiment = ThemeSentimentClassifier(
            backend=config.theme_sentiment.backend,
            params=config.theme_sentiment.params,
            random_state=config.split.seed,
        ).fit(pairs, pairs["polarity"])
    return ThemeModel(themes=themes, sentiment=sentiment)


def _with_sentiment(frame: pd.DataFrame, config: ThemesConfig) -> bool:
    """Whether theme sentiment is trained: enabled, and some row has ``theme_sentiment`` labels."""
    has_pairs = "theme_sentiment" in frame and frame["theme_sentiment"].map(bool).any()
    return bool(config.theme_sentiment.enabled and has_pairs)


class ThemesPipeline(TrainingPipeline[ThemesConfig]):
    """Themes (and theme sentiment): out-of-split figures; ``kfold`` refits on all rows."""

    task = "themes"
    schema = COMMENTS
    no_data = (
        "No training data: pass --data FILE, set data.path in the config, or give a "
        "--taxonomy for zero-shot themes"
    )

    def required(self) -> list[str]:
        return ["themes"]

    def prepare(self, frame: pd.DataFrame, path: Path) -> Labelled:
        config = self.config
        frame["themes"] = frame["themes"].map(list)
        if config.taxonomy is None:  # few-shot refinement of a taxonomy takes any number of labels
            check_counts(
                frame["themes"].explode().dropna(), config.labels.min_examples, what="theme"
            )
        if _with_sentiment(frame, config):
            frame["theme_sentiment"] = frame["theme_sentiment"].map(lambda d: d or {})
            polarities = theme_pairs(frame["text"], frame["theme_sentiment"])["polarity"]
            check_counts(polarities, config.labels.min_examples, what="theme polarity")
        return Labelled(frame, "themes")

    def evaluate(self, data: Labelled) -> Evaluation:
        config, frame = self.config, data.frame
        with_sentiment = _with_sentiment(frame, config)
        splits = _split(frame, config)
        proba_parts, truth_parts, pair_parts, held_parts, output_parts = [], [], [], [], []
        started = time.perf_counter()
        model: ThemeModel | None = None
        for k, (train, val) in enumerate(splits, start=1):
            self.on_step(f"fitting split {k} of {len(splits)}")
            model = fit_theme_model(frame.iloc[train], config, with_sentiment)
            held = frame.iloc[val]
            texts = held["text"].to_numpy(dtype=object)
            proba_parts.append(
                pd.DataFrame(
                    model.themes.predict_proba(texts), index=val, columns=model.themes.classes_
                )
            )
            truth_parts.append(held["themes"])
            held_parts.append(held)
            output_parts.append(model.predict_frame(texts))
            if model.sentiment is not None:
                pairs = theme_pairs(held["text"], held["theme_sentiment"])
                pairs["predicted"] = model.sentiment.predict(pairs) if len(pairs) else []
                pair_parts.append(pairs)
        assert model is not None
        fit_seconds = (time.perf_counter() - started) / len(splits)
        if config.split.strategy == "kfold":
            self.on_step("fitting on all data")
            model = fit_theme_model(frame, config, with_sentiment)
        self.on_step("evaluating")
        names = [str(c) for c in model.themes.classes_]
        truth = pd.concat(truth_parts)
        proba = (  # a theme missing from one fold's training part scores 0 in that fold
            pd.concat(proba_parts).reindex(columns=names).fillna(0.0).loc[truth.index].to_numpy()
        )
        Y = np.array([[n in t for n in names] for t in truth], dtype=int)
        predicted = model.themes._decide(proba).astype(int)
        table = theme_metrics(Y, predicted, names)
        table["threshold"] = model.themes.thresholds_
        metrics = {
            "val_theme_micro_f1": float(f1_score(Y, predicted, average="micro", zero_division=0)),
            "val_theme_macro_f1": float(f1_score(Y, predicted, average="macro", zero_division=0)),
            "train_seconds": fit_seconds,
        }
        for name, f1 in zip(table["theme"], table["f1"], strict=True):
            metrics[f"val_f1_{name}"] = float(f1)
        tables = {"evaluation/themes.json": table}
        figures = {
            "evaluation/theme_calibration.png": reliability_figure(
                Y, proba, names, title="Theme calibration"
            )
        }
        if pair_parts:
            pairs = pd.concat(pair_parts, ignore_index=True)
            metrics.update(_pair_metrics(pairs))
            labels = sorted(set(pairs["polarity"]) | set(pairs["predicted"]))
            tables["evaluation/theme_sentiment.json"] = per_label_table(
                pairs["polarity"], pairs["predicted"], labels
            )
            figures["evaluation/theme_sentiment_confusion.png"] = confusion_figure(
                pairs["polarity"], pairs["predicted"], labels
            )
        return Evaluation(
            model,
            metrics,
            table,
            tables=tables,
            figures=figures,
            held_out=pd.concat(held_parts),
            outputs=pd.concat(output_parts, ignore_index=True),
        )


def train_themes(
    config: ThemesConfig,
    *,
    data: str | Path | None = None,
    on_step: Callable[[str], None] = lambda step: None,
) -> TrainResult:
    """Train, evaluate, log and (by default) register a theme model.

    The theme-level sentiment model is trained too when ``theme_sentiment.enabled`` and the data
    has ``theme_sentiment`` labels. Evaluation is on the validation split (or out of fold with
    ``split.strategy: kfold``); the registered model is fitted on the training split (holdout)
    or on all rows (kfold). With a ``taxonomy`` and no data, see :func:`zero_shot_themes`.
    """
    if data is None and config.data.path is None and config.taxonomy is not None:
        return zero_shot_themes(config, on_step=on_step)
    return ThemesPipeline(config, on_step=on_step).run(data)


def zero_shot_themes(
    config: ThemesConfig, *, on_step: Callable[[str], None] = lambda step: None
) -> TrainResult:
    """Log and register themes straight from ``config.taxonomy``, with no labelled data."""
    assert config.taxonomy is not None
    taxonomy = load_taxonomy(config.taxonomy)
    on_step(f"embedding taxonomy {taxonomy.name!r} ({len(taxonomy.themes)} themes)")
    model = ThemeModel(themes=ZeroShotThemeClassifier(taxonomy=str(config.taxonomy)).fit())
    with training_run(config, task="themes", experiment=config.tracking.experiment) as run:
        mlflow.log_artifact(str(config.taxonomy), "taxonomy")
        mlflow.set_tag("cxml.themes", "zero-shot")
        model_uri, registered = log_and_register(
            model, task="themes", registry=config.registry, on_step=on_step
        )
        run_id = run.info.run_id
    empty = ReadSummary(source=f"taxonomy {config.taxonomy}")
    return TrainResult(run_id, model_uri, {}, empty, None, registered)


def _pair_metrics(pairs: pd.DataFrame) -> dict[str, float]:
    """Accuracy of theme-level sentiment on gold themes: 4-way, and 3-way without conflict."""
    hit = pairs["polarity"] == pairs["predicted"]
    plain = pairs["polarity"] != "conflict"
    return {
        "val_theme_sentiment_accuracy": float(hit.mean()),
        "val_theme_sentiment_accuracy_3way": float(hit[plain].mean()) if plain.any() else 0.0,
        "val_theme_sentiment_macro_f1": float(
            f1_score(pairs["polarity"], pairs["predicted"], average="macro", zero_division=0)
        ),
    }
