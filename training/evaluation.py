"""Evaluation of classifiers: metrics, per-label tables and plots logged with each run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
)

__all__ = [
    "classification_metrics",
    "confusion_figure",
    "per_label_table",
    "reliability_figure",
]


def classification_metrics(y_true: Any, proba: np.ndarray, classes: np.ndarray) -> dict[str, float]:
    """Accuracy, macro-F1, weighted-F1 and log loss of ``proba`` (columns follow ``classes``)."""
    y_true = np.asarray(y_true, dtype=object)
    y_pred = classes[proba.argmax(axis=1)]
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(y_true, y_pred, average="weighted", zero_division=0)),
        "log_loss": float(log_loss(y_true, np.clip(proba, 1e-12, 1), labels=list(classes))),
    }


def per_label_table(y_true: Any, y_pred: Any, labels: list[str]) -> pd.DataFrame:
    """Precision, recall, F1 and support per label."""
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return pd.DataFrame(
        {"label": labels, "precision": p, "recall": r, "f1": f, "support": s}
    ).round(4)


def confusion_figure(y_true: Any, y_pred: Any, labels: list[str]) -> Figure:
    """Confusion matrix with counts, rows = truth, columns = prediction."""
    matrix = confusion_matrix(y_true, y_pred, labels=labels)
    fig = Figure(figsize=(1.2 * len(labels) + 2.5, 1.2 * len(labels) + 2))
    ax = fig.subplots()
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = matrix.max() or 1
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(
            j,
            i,
            f"{value}",
            ha="center",
            va="center",
            color="white" if value > top / 2 else "black",
        )
    ax.set_title("Confusion matrix (validation)")
    fig.tight_layout()
    return fig


def reliability_figure(
    hits: np.ndarray, proba: np.ndarray, names: Any, *, bins: int = 10, title: str = "Calibration"
) -> Figure:
    """Reliability curve per column: predicted probability against observed rate.

    ``hits`` is the 0/1 truth with the shape of ``proba`` (one-vs-rest for a multi-class model,
    the indicator matrix for a multi-label one); ``names`` labels the columns.
    """
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    edges = np.linspace(0, 1, bins + 1)
    for k, label in enumerate(names):
        p = proba[:, k]
        hit = np.asarray(hits)[:, k].astype(float)
        which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
        xs, ys = [], []
        for b in range(bins):
            mask = which == b
            if mask.sum() >= 5:
                xs.append(p[mask].mean())
                ys.append(hit[mask].mean())
        ax.plot(xs, ys, marker="o", label=str(label))
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_title(f"{title} (validation)")
    ax.legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    return fig
