"""The ``flipkart`` task of ``run.py``: a real support export through the generic column mapping.

``$CXML_DATA_DIR/flipkart_csat_sample/tickets.csv`` (or ``--train FILE`` in the same shape) is read
as a user reads an export of their own: ``data.columns`` maps its column names onto the ticket
fields (:data:`COLUMNS`) and its dates are day first (``01/08/2023 11:13``). The model is the
recommended one (``configs/csat.yaml``) with ``Sub-category``, ``Tenure Bucket`` and ``Agent
Shift`` as more categories (known while a ticket is open, as in the 0.663 reference) and no
text: the export has no customer message.

``Customer Remarks`` is not the text. It is the comment the customer wrote in the survey, with the
score (filled on 35 % of rows): a ticket that is still open has none, so a model that reads it
learns the answer from the answer. Mapped as the text it trains, lifts the ROC-AUC, and is
useless on open tickets; the ``remarks_*`` keys measure that, and what the leakage audit of
``cxml train csat`` (:mod:`cxml.training.leakage`) says about it. Every row of the sample is
rated, so the audit cannot compare presence on rated and unrated tickets.

Without ``--test``: 5 expanding-window folds by ``created_at`` (the same folds as the audit,
:func:`cxml.training.leakage.time_folds`); each block is scored by a model fitted on the older
blocks only, and the figures pool those out-of-fold scores. With ``--test FILE``: fitted on the
training file, scored on the test file. Keys: ``roc_auc``, ``average_precision``, ``ece``,
``brier``, ``rows`` (rated rows read), ``roc_auc_newest`` (the newest block), ``hgb_roc_auc``
(plain scikit-learn gradient boosting on the same features and folds),
``roc_auc_shuffled_folds`` (the model on 5 shuffled, stratified folds, the protocol of the
0.663 reference; without ``--test``), ``train_seconds`` (the time-ordered fits),
``predict_rows_per_second``, and ``remarks_roc_auc`` (the model with the remarks as its text),
``remarks_text_auc`` (the remarks alone, as the audit measures them), ``remarks_refused`` (1
when the audit stops training on them).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline

from cxml.config import CsatConfig, load_config
from cxml.contracts.fields import TICKETS
from cxml.data import read_valid
from cxml.tickets import TicketFeaturizer
from cxml.training.csat import bad_labels, build_model
from cxml.training.evaluation import risk_metrics
from cxml.training.leakage import audit_leakage, time_folds

ROOT = Path(__file__).resolve().parents[1]
#: Ticket field -> the export's column (``category`` has its own name already).
COLUMNS = {
    "ticket_id": "Unique id",
    "channel": "channel_name",
    "created_at": "Issue_reported at",
    "first_response_at": "issue_responded",
    "rating": "CSAT Score",
}
#: More columns known while a ticket is open, read as categories.
CATEGORICAL = ["channel", "category", "Sub-category", "Tenure Bucket", "Agent Shift"]
#: The survey's own comment (not the ticket's text).
REMARKS = "Customer Remarks"
FOLDS = 5


def flipkart_config(args: argparse.Namespace, *, remarks: bool = False) -> CsatConfig:
    """The recommended ticket config with the export's mapping; ``remarks``: its remarks mapped as
    the text (and allowed past the leakage audit)."""
    columns = {**COLUMNS, "text": REMARKS} if remarks else COLUMNS
    overrides = [f"data.columns.{k}={json.dumps(v)}" for k, v in columns.items()]
    overrides += ["data.dayfirst=true", f"features.categorical={json.dumps(CATEGORICAL)}"]
    overrides += ["features.allow_leaks=[text]"] if remarks else ["features.text=null"]
    path = getattr(args, "csat_config", None) or ROOT / "configs" / "csat.yaml"
    return load_config(CsatConfig, path, [*overrides, *(args.set or [])])


def _rated(path: Path, config: CsatConfig) -> tuple[pd.DataFrame, np.ndarray]:
    """The export's valid rows (rated and not) and which are rated."""
    rejects = Path(tempfile.gettempdir()) / f"cxml-bench-{path.stem}.rejects.csv"
    frame, summary, _ = read_valid(path, TICKETS, config=config.data, rejects=rejects)
    if summary.rejected:
        print(f"note: {path}: {summary.describe()}")
    return frame, frame["rating"].notna().to_numpy()


def _splits(
    train: pd.DataFrame, test: pd.DataFrame | None
) -> tuple[pd.DataFrame, list[tuple[np.ndarray, np.ndarray]]]:
    """One frame and its (fit, score) positions: time folds, or the test file after the train."""
    if test is None:
        return train, time_folds(train["created_at"], FOLDS)
    both = pd.concat([train, test], ignore_index=True)
    return both, [(np.arange(len(train)), np.arange(len(train), len(both)))]


def _out_of_fold(
    frame: pd.DataFrame,
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    fit: Callable[[pd.DataFrame, np.ndarray], Any],
) -> tuple[np.ndarray, float, float]:
    """Out-of-fold probabilities (NaN where never scored), fit and predict seconds."""
    p = np.full(len(frame), np.nan)
    fit_seconds = predict_seconds = 0.0
    for older, newer in folds:
        started = time.perf_counter()
        model = fit(frame.iloc[older], y[older])
        fit_seconds += time.perf_counter() - started
        started = time.perf_counter()
        p[newer] = model.predict_proba(frame.iloc[newer])[:, 1]
        predict_seconds += time.perf_counter() - started
    return p, fit_seconds, predict_seconds


def flipkart_figures(
    train_path: Path, test_path: Path | None, args: argparse.Namespace
) -> dict[str, float]:
    """The ``flipkart`` keys for the export at ``train_path`` (and ``test_path``)."""
    config = flipkart_config(args)
    bad = config.labels.bad_ratings
    frames = [_rated(path, config) for path in filter(None, [train_path, test_path])]
    rated = [f[r].reset_index(drop=True) for f, r in frames]
    frame, folds = _splits(rated[0], rated[1] if len(rated) > 1 else None)
    y = bad_labels(frame["rating"], bad)
    scored = np.concatenate([newer for _, newer in folds])
    p, fit_seconds, predict_seconds = _out_of_fold(
        frame, y, folds, lambda X, t: build_model(config).fit(X, t)
    )
    figures = risk_metrics(y[scored], p[scored], np.zeros(len(scored), dtype=bool))
    newest = folds[-1][1]
    hgb = make_pipeline(
        TicketFeaturizer(config.features, random_state=config.split.seed),
        HistGradientBoostingClassifier(
            categorical_features="from_dtype", random_state=config.split.seed
        ),
    )
    plain, _, _ = _out_of_fold(frame, y, folds, lambda X, t: hgb.fit(X, t))
    figures = {k: figures[k] for k in ("roc_auc", "average_precision", "ece", "brier", "bad_rate")}
    figures |= {
        "rows": float(sum(len(r) for r in rated)),
        "roc_auc_newest": float(roc_auc_score(y[newest], p[newest])),
        "hgb_roc_auc": float(roc_auc_score(y[scored], plain[scored])),
        "train_seconds": fit_seconds,
        "predict_rows_per_second": len(scored) / max(predict_seconds, 1e-9),
    }
    if test_path is None:  # the reference's protocol: shuffled, stratified folds
        shuffled = list(StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(frame, y))
        mixed, _, _ = _out_of_fold(frame, y, shuffled, lambda X, t: build_model(config).fit(X, t))
        figures["roc_auc_shuffled_folds"] = float(roc_auc_score(y, mixed))
    return figures | _remarks_figures(train_path, test_path, args)


def _remarks_figures(
    train_path: Path, test_path: Path | None, args: argparse.Namespace
) -> dict[str, float]:
    """With the survey's remarks mapped as the text: the model's ROC-AUC and the audit's view."""
    config = flipkart_config(args, remarks=True)
    whole, is_rated = _rated(train_path, config)
    y_all = bad_labels(whole.loc[is_rated, "rating"], config.labels.bad_ratings)
    audit = audit_leakage(
        whole,
        is_rated,
        y_all,
        features=config.features,
        columns=config.data.columns,
        random_state=config.split.seed,
    )
    frames = [whole[is_rated].reset_index(drop=True)]
    if test_path is not None:
        test, test_rated = _rated(test_path, config)
        frames.append(test[test_rated].reset_index(drop=True))
    frame, folds = _splits(frames[0], frames[1] if len(frames) > 1 else None)
    y = bad_labels(frame["rating"], config.labels.bad_ratings)
    p, _, _ = _out_of_fold(frame, y, folds, lambda X, t: build_model(config).fit(X, t))
    scored = np.concatenate([newer for _, newer in folds])
    return {
        "remarks_roc_auc": float(roc_auc_score(y[scored], p[scored])),
        "remarks_text_auc": float(audit.fields["text"].get("univariate_auc", np.nan)),
        "remarks_refused": float(any(f.field == "text" for f in audit.findings)),
    }
