"""Evaluation of classifiers: metrics, per-label tables and plots logged with each run."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.calibration import CalibrationDisplay
from sklearn.metrics import (
    PrecisionRecallDisplay,
    RocCurveDisplay,
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

__all__ = [
    "classification_metrics",
    "confusion_figure",
    "expected_calibration_error",
    "lift_table",
    "per_label_table",
    "reliability_figure",
    "risk_figures",
    "risk_metrics",
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


def expected_calibration_error(y: Any, p: Any, *, bins: int = 15) -> float:
    """Mean |observed rate - mean probability| over ``bins`` equal-width bins, weighted by size."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    if not len(p):
        return float("nan")
    which = np.minimum((p * bins).astype(int), bins - 1)
    gap = np.abs(np.bincount(which, y, bins) - np.bincount(which, p, bins))
    return float(gap.sum() / len(p))


def risk_metrics(y: Any, p: Any, flagged: Any) -> dict[str, float]:
    """ROC-AUC, average precision, Brier, ECE (15 bins) and precision / recall of ``flagged``."""
    y, p, flagged = np.asarray(y, dtype=int), np.asarray(p, dtype=float), np.asarray(flagged)
    hits = int((flagged & (y == 1)).sum())
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "average_precision": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "ece": expected_calibration_error(y, p),
        "precision_at_policy": hits / max(int(flagged.sum()), 1),
        "recall_at_policy": hits / max(int(y.sum()), 1),
        "flagged_share": float(flagged.mean()),
        "bad_rate": float(y.mean()),
    }


def lift_table(y: Any, p: Any, *, groups: int = 10) -> pd.DataFrame:
    """Tickets ranked by risk in ``groups`` equal parts: bad rate, lift and cumulative recall."""
    y, p = np.asarray(y, dtype=int), np.asarray(p, dtype=float)
    order = np.argsort(-p, kind="stable")
    part = np.arange(len(p)) * groups // max(len(p), 1)
    rows = []
    for g in range(groups):
        members = order[part == g]
        rows.append(
            {
                "decile": g + 1,
                "tickets": len(members),
                "min_probability": float(p[members].min()) if len(members) else np.nan,
                "bad_rate": float(y[members].mean()) if len(members) else np.nan,
                "bad": int(y[members].sum()),
            }
        )
    table = pd.DataFrame(rows)
    table["lift"] = table["bad_rate"] / max(y.mean(), 1e-12)
    table["cumulative_recall"] = table["bad"].cumsum() / max(int(y.sum()), 1)
    return table


def risk_figures(y: Any, p: Any) -> dict[str, Figure]:
    """ROC, precision-recall, calibration and cumulative-gains plots of a bad-rating model."""
    y, p = np.asarray(y, dtype=int), np.asarray(p, dtype=float)
    figures = {}
    for name, draw in (
        ("roc", RocCurveDisplay.from_predictions),
        ("precision_recall", PrecisionRecallDisplay.from_predictions),
    ):
        fig = Figure(figsize=(5, 5))
        draw(y, p, ax=fig.subplots(), name="bad rating", plot_chance_level=True)
        fig.tight_layout()
        figures[name] = fig
    fig = Figure(figsize=(5, 5))
    CalibrationDisplay.from_predictions(y, p, n_bins=15, strategy="quantile", ax=fig.subplots())
    fig.tight_layout()
    figures["calibration"] = fig
    table = lift_table(y, p)
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    shares = np.r_[0, table["tickets"].cumsum() / len(y)]
    ax.plot(shares, np.r_[0, table["cumulative_recall"]], marker="o", label="model")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="random")
    ax.set_xlabel("share of tickets flagged (highest risk first)")
    ax.set_ylabel("share of bad ratings caught")
    ax.set_title("Cumulative gains (validation)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    figures["gains"] = fig
    return figures
