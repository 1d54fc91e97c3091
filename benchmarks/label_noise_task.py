"""The ``label_noise`` task: does the label check find labels the benchmark broke on purpose?

10 % of the training rows (seed 0) get a wrong label: sentiment a uniformly drawn other class;
themes (SemEval-14, on the default data) one of the row's themes swapped for a theme it does not
have (a row without themes gains one). The check (:mod:`cxml.training.label_check`, out-of-fold
predictions of the task's model) runs on the broken training file; precision and recall are of the
planted rows. The model is then trained on the broken file as it is (``_without_check``) and
without the flagged rows (``_with_check``) and scored on the test file, whose labels are untouched.
Themes keys carry a ``theme_`` prefix.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score
from sklearn.preprocessing import MultiLabelBinarizer

from cxml.comments import SentimentClassifier
from cxml.config import SentimentConfig, ThemesConfig
from cxml.training.label_check import LabelCheck, check_sentiment, check_themes
from cxml.training.themes import fit_theme_model

__all__ = ["flip_sentiment", "label_noise_figures", "swap_themes", "theme_noise_figures"]

NOISE_SHARE = 0.10
NOISE_SEED = 0


def _planted(n: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(n, size=round(NOISE_SHARE * n), replace=False))


def flip_sentiment(labels: pd.Series, seed: int = NOISE_SEED) -> tuple[pd.Series, np.ndarray]:
    """``labels`` with 10 % of rows given a uniformly drawn other class, and those rows' positions.

    >>> flipped, rows = flip_sentiment(pd.Series(["negative", "positive"] * 10))
    >>> rows.tolist(), int((flipped != pd.Series(["negative", "positive"] * 10)).sum())
    ([12, 16], 2)
    """
    rng = np.random.default_rng(seed)
    rows = _planted(len(labels), rng)
    classes = sorted(set(labels))
    values = labels.to_numpy(dtype=object).copy()
    for i in rows:
        values[i] = rng.choice([c for c in classes if c != values[i]])
    return pd.Series(values, index=labels.index, dtype=object), rows


def swap_themes(themes: pd.Series, seed: int = NOISE_SEED) -> tuple[pd.Series, np.ndarray]:
    """``themes`` (lists) with 10 % of rows having one theme swapped for one they lack.

    >>> swapped, rows = swap_themes(pd.Series([["food"], ["price", "food"]] * 10))
    >>> rows.tolist(), swapped[rows[0]], swapped[rows[1]]
    ([12, 16], ['price'], ['price'])
    """
    rng = np.random.default_rng(seed)
    rows = _planted(len(themes), rng)
    names = sorted({t for row in themes for t in row})
    values = [list(t) for t in themes]
    for i in rows:
        absent = [t for t in names if t not in values[i]]
        if values[i]:
            values[i].pop(int(rng.integers(len(values[i]))))
        values[i].append(str(rng.choice(absent)))
    return pd.Series(values, index=themes.index, dtype=object), rows


def _precision_recall(check: LabelCheck, planted: np.ndarray) -> tuple[float, float, float]:
    """Precision and recall of the flagged rows, and the precision of the ``len(planted)`` rows
    of lowest label quality (R-precision: how well the ranking alone puts the planted rows
    first, whatever number of rows the check flags)."""
    truth = np.zeros(check.rows, dtype=bool)
    truth[planted] = True
    hits = float((check.flagged & truth).sum())
    lowest = np.argsort(check.quality, kind="stable")[: len(planted)]
    return (
        hits / max(int(check.flagged.sum()), 1),
        hits / max(len(planted), 1),
        float(truth[lowest].mean()),
    )


def label_noise_figures(
    train: pd.DataFrame, test: pd.DataFrame, config: SentimentConfig
) -> dict[str, float]:
    """The contract's keys for sentiment (``../shared/BENCHMARKS.md``)."""
    noisy = train.copy()
    noisy["sentiment"], planted = flip_sentiment(train["sentiment"].astype(str))
    started = time.perf_counter()
    check = check_sentiment(noisy, config)
    check_seconds = time.perf_counter() - started
    precision, recall, ranked = _precision_recall(check, planted)
    truth = test["sentiment"].to_numpy(dtype=object)
    figures = {}
    for name, rows in (("without", noisy), ("with", noisy[~check.flagged])):
        model = SentimentClassifier(
            backend=config.model.backend, params=config.model.params, random_state=config.split.seed
        )
        started = time.perf_counter()
        model.fit(rows["text"].to_numpy(dtype=object), rows["sentiment"].to_numpy(dtype=object))
        figures[f"train_seconds_{name}_check"] = time.perf_counter() - started
        started = time.perf_counter()
        predicted = model.predict(test["text"])
        figures["predict_rows_per_second"] = len(test) / (time.perf_counter() - started)
        f1 = f1_score(truth, predicted, average="macro")
        figures[f"sentiment_macro_f1_{name}_check"] = float(f1)
    return figures | {
        "label_error_precision": precision,
        "label_error_recall": recall,
        "label_error_r_precision": ranked,
        "flagged_share": check.share,
        "planted_share": len(planted) / len(noisy),
        "check_seconds": check_seconds,
        "train_seconds": figures.pop("train_seconds_without_check"),
        "train_rows": float(len(train)),
        "test_rows": float(len(test)),
    }


def theme_noise_figures(
    train: pd.DataFrame, test: pd.DataFrame, config: ThemesConfig
) -> dict[str, float]:
    """The same for multi-label themes, keys prefixed ``theme_``; F1 is macro over themes."""
    noisy = train.copy()
    noisy["themes"], planted = swap_themes(train["themes"].map(list))
    started = time.perf_counter()
    check = check_themes(noisy, config)
    check_seconds = time.perf_counter() - started
    precision, recall, ranked = _precision_recall(check, planted)
    figures = {}
    for name, rows in (("without", noisy), ("with", noisy[~check.flagged])):
        model = fit_theme_model(rows, config, with_sentiment=False)
        names = list(model.themes.classes_)
        truth = MultiLabelBinarizer(classes=names).fit_transform(test["themes"])
        predicted = MultiLabelBinarizer(classes=names).fit_transform(
            model.predict_frame(test["text"])["themes"]
        )
        figures[f"theme_macro_f1_{name}_check"] = float(
            f1_score(truth, predicted, average="macro", zero_division=0)
        )
    return figures | {
        "theme_label_error_precision": precision,
        "theme_label_error_recall": recall,
        "theme_label_error_r_precision": ranked,
        "theme_flagged_share": check.share,
        "theme_check_seconds": check_seconds,
    }
