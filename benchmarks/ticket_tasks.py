"""The bad-rating tasks of ``run.py``: ``csat`` (tickets in the canonical schema) and ``womens``
(real reviews with a rating, through the same ticket pipeline).

``csat`` without ``--train``/``--test`` generates its data: 20,000 rated tickets over six months
and, as the held-out set, the 10,000 of the following three months (a different seed), whose true
bad-rating probabilities are known; with files, it reads them as a user's export (post-survey
columns included: the model never reads them).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline

from cxml.config import CsatConfig, DataConfig, load_config
from cxml.contracts.fields import TICKETS
from cxml.data import read_valid
from cxml.data.synth import make_tickets
from cxml.tickets import TicketFeaturizer
from cxml.training.csat import bad_labels, build_model, linear_baseline
from cxml.training.evaluation import risk_metrics

ROOT = Path(__file__).resolve().parents[1]
SINGLE_TICKET_CALLS = 300


def _rated_tickets(path: Path) -> pd.DataFrame:
    rejects = Path(tempfile.gettempdir()) / f"cxml-bench-{path.stem}.rejects.csv"
    frame, summary, _ = read_valid(path, TICKETS, config=DataConfig(), rejects=rejects)
    if summary.rejected:
        print(f"note: {path}: {summary.describe()}")
    return frame[frame["rating"].notna()].reset_index(drop=True)


def _generated(folder: Path) -> tuple[Path, Path]:
    train, test = folder / "tickets_train.csv", folder / "tickets_test.csv"
    make_tickets(20_000, seed=101, start="2026-01-01", days=182).to_csv(train, index=False)
    make_tickets(10_000, seed=202, start="2026-07-02", days=91).to_csv(test, index=False)
    return train, test


def _single_ticket_ms(model: object, test: pd.DataFrame) -> float:
    """Median wall time of scoring one ticket in process (``predict_frame`` on one row)."""
    rows = [test.iloc[[i % len(test)]] for i in range(SINGLE_TICKET_CALLS)]
    times = []
    for row in rows:
        started = time.perf_counter()
        model.predict_frame(row)  # type: ignore[attr-defined]
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def bad_rating_figures(
    train: pd.DataFrame, test: pd.DataFrame, config: CsatConfig
) -> dict[str, float]:
    """Fit ``config``'s model on ``train``; the ``csat`` keys and speed on ``test``."""
    y_train = bad_labels(train["rating"], config.labels.bad_ratings)
    y = bad_labels(test["rating"], config.labels.bad_ratings)
    started = time.perf_counter()
    model = build_model(config).fit(train, y_train)
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    scored = model.predict_frame(test)
    predict_seconds = time.perf_counter() - started
    p = scored["bad_rating_probability"].to_numpy()
    figures = risk_metrics(y, p, scored["at_risk"].to_numpy())
    figures.update(
        train_seconds=train_seconds,
        predict_rows_per_second=len(test) / predict_seconds,
        single_ticket_ms=_single_ticket_ms(model, test),
        train_rows=float(len(train)),
        test_rows=float(len(test)),
    )
    linear = linear_baseline(config).fit(train, y_train)
    figures["logistic_roc_auc"] = roc_auc_score(y, linear.predict_proba(test)[:, 1])
    hgb = make_pipeline(
        TicketFeaturizer(config.features, random_state=config.split.seed),
        HistGradientBoostingClassifier(
            categorical_features="from_dtype", random_state=config.split.seed
        ),
    )
    started = time.perf_counter()
    hgb.fit(train, y_train)
    figures["sklearn_hgb_train_seconds"] = time.perf_counter() - started
    figures["sklearn_hgb_roc_auc"] = roc_auc_score(y, hgb.predict_proba(test)[:, 1])
    if "true_bad_probability" in test:
        truth = pd.to_numeric(test["true_bad_probability"], errors="coerce").to_numpy()
        if np.isfinite(truth).all():
            figures["oracle_roc_auc"] = roc_auc_score(y, truth)
            figures["roc_auc_share_of_oracle"] = figures["roc_auc"] / figures["oracle_roc_auc"]
    return figures


def _config(args: argparse.Namespace, default: str) -> CsatConfig:
    path = getattr(args, "csat_config", None) or ROOT / default
    return load_config(CsatConfig, path, args.set or [])


def task_csat(args: argparse.Namespace) -> dict[str, float]:
    """Tickets in the canonical schema: calibrated bad-rating probability and the flag policy."""
    with tempfile.TemporaryDirectory() as tmp:
        train_path, test_path = _generated(Path(tmp))
        train = _rated_tickets(Path(args.train) if args.train else train_path)
        test = _rated_tickets(Path(args.test) if args.test else test_path)
    return bad_rating_figures(train, test, _config(args, "configs/csat.yaml"))


def _flatten_meta(frame: pd.DataFrame) -> pd.DataFrame:
    """Reviews with ``meta`` (age, department, class) as columns and ``id`` as ``ticket_id``."""
    meta = frame["meta"].map(lambda m: m if isinstance(m, dict) else {}).tolist()
    columns = pd.DataFrame(meta, index=frame.index).reindex(columns=["age", "department", "class"])
    flat = pd.concat([frame.drop(columns="meta"), columns], axis=1)
    return flat.rename(columns={"id": "ticket_id"})


def womens_figures(
    train: pd.DataFrame, test: pd.DataFrame, args: argparse.Namespace
) -> dict[str, float]:
    """Women's clothing reviews: bad = rating 1-2, from text, age, department and class."""
    config = _config(args, "configs/csat_reviews.yaml")
    figures = bad_rating_figures(_flatten_meta(train), _flatten_meta(test), config)
    figures.pop("single_ticket_ms")
    renamed = {"roc_auc": "bad_rating_roc_auc", "average_precision": "bad_rating_average_precision"}
    return {renamed.get(k, k): v for k, v in figures.items()}
