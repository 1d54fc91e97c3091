"""The ``monitor`` task of ``run.py``: the monitor on weekly ticket streams, judged by the ratings.

With ``--train REF.csv --test STREAM.csv`` (canonical ticket schema): the default ticket model is
trained on REF as ``cxml train csat`` trains it (in a throw-away MLflow store), STREAM is scored
without its ratings and post-survey columns, the way batch scoring does, and its rows are put in
the prediction log's form, each scored at its ``created_at``. The monitor runs on them alone
(weekly, ``alpha`` 0.01): its alerts and estimates never see a rating. The realized weekly bad
rate and ROC-AUC come afterwards from the stream's rated tickets. Week 0 is the week (Monday to
Sunday, UTC) of the stream's first ``created_at``. Keys: ``weeks`` (0, 1, ... up to the last
week), ``alert_weeks``, the per-week lists ``estimated_bad_rate``, ``realized_bad_rate``,
``estimated_roc_auc``, ``realized_roc_auc`` (null where a week has no rated ticket, or none of
one class), ``monitor_seconds`` (the monitor call alone), and flat figures: ``bad_rate_mae``,
``roc_auc_mae`` (over the weeks with both figures), ``train_seconds``,
``predict_rows_per_second`` (model and watched inputs), ``rows``, ``rated``.

Without files it generates its data (``make_tickets``, mixed English / Korean, no built-in
spike): a reference of 16 weeks x 1,000 tickets, and streams of 16 weeks x 1,000 that follow it,
:data:`NO_CHANGE_SEEDS` without a change and one per kind of :data:`cxml.data.synth.DRIFT_KINDS`
changing at week :data:`CHANGE_WEEK`, and reports flat figures over them (:func:`summary`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from cxml.config import CsatConfig, DataConfig, load_config
from cxml.contracts.fields import POST_SURVEY_FIELDS, TICKETS
from cxml.contracts.ratings import is_bad
from cxml.contracts.tickets import ticket_inputs
from cxml.data import read_valid
from cxml.data.synth import DRIFT_KINDS, Drift, make_tickets
from cxml.monitoring.inputs import drift_inputs
from cxml.monitoring.log import log_frame
from cxml.monitoring.monitor import monitor, period_starts
from cxml.monitoring.profile import ReferenceProfile, load_profile
from cxml.tracking import LoadedModel, load_model
from cxml.training.csat import train_csat

WEEKS, PER_WEEK, CHANGE_WEEK = 16, 1_000, 8
#: Both windows start on a Monday; the streams follow the reference.
REFERENCE_START, STREAM_START = "2025-09-01", "2025-12-22"
REFERENCE_SEED = 1
#: Seeds of the streams without a change; the first one is also the seed of the changed streams,
#: whose weeks before the change are therefore exactly its weeks.
NO_CHANGE_SEEDS = (2, 3, 4, 5)
#: The generated streams: name, seed and change.
SCENARIOS: list[tuple[str, int, Drift | None]] = [
    *((f"no_change_seed{seed}", seed, None) for seed in NO_CHANGE_SEEDS),
    *((kind, NO_CHANGE_SEEDS[0], Drift(kind, week=CHANGE_WEEK)) for kind in DRIFT_KINDS),
]
MODEL_URI = "models:/cxml-csat@champion"


@contextlib.contextmanager
def own_store(folder: Path) -> Iterator[None]:
    """Train and load models in a throw-away MLflow store in ``folder``: the caller's store and
    working folder are untouched (the store's artifacts go to ``folder/mlruns``)."""
    import mlflow

    before = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{folder / 'mlflow.db'}"
    try:
        with contextlib.chdir(folder):
            yield
    finally:
        mlflow.set_tracking_uri(before)  # type: ignore[arg-type]  # None: MLflow's default
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        if before is not None:
            os.environ["MLFLOW_TRACKING_URI"] = before


def generated(path: Path, seed: int, start: str, drift: Drift | None = None) -> Path:
    """Write 16 weeks x 1,000 generated tickets from Monday ``start`` to ``path``."""
    frame = make_tickets(
        WEEKS * PER_WEEK,
        lang="mixed",
        seed=seed,
        start=start,
        days=7 * WEEKS,
        spike=False,
        drift=drift,
    )
    frame.to_csv(path, index=False)
    return path


def train(reference: Path, config: CsatConfig) -> tuple[LoadedModel, ReferenceProfile, float]:
    """Train and register the ticket model on ``reference`` as ``cxml train csat`` does; the
    champion, its reference profile and the training time."""
    started = time.perf_counter()
    train_csat(config, data=reference)
    seconds = time.perf_counter() - started
    return load_model(MODEL_URI, tasks=("csat",)), load_profile(MODEL_URI), seconds


def read_stream(path: Path) -> pd.DataFrame:
    """The stream's tickets through the data contract (rated or not)."""
    rejects = Path(tempfile.gettempdir()) / f"cxml-bench-{path.stem}.rejects.csv"
    frame, summary, _ = read_valid(path, TICKETS, config=DataConfig(), rejects=rejects)
    if summary.rejected:
        print(f"note: {path}: {summary.describe()}")
    return frame.reset_index(drop=True)


def export_moment(frame: pd.DataFrame) -> pd.Timestamp:
    """The latest time in the stream: the moment its open tickets are scored as of."""
    times = [
        pd.to_datetime(frame[c], utc=True)
        for c in ("created_at", "first_response_at", "solved_at")
        if c in frame
    ]
    return max(t.max() for t in times if t.notna().any())


def scored_rows(model: LoadedModel, stream: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """The stream scored without its ratings, in the prediction log's form (each row scored at
    its ``created_at``), and the seconds the model and the watched inputs took."""
    unrated = stream.drop(columns=[c for c in POST_SURVEY_FIELDS if c in stream])
    started = time.perf_counter()
    inputs = ticket_inputs(unrated, as_of=export_moment(unrated))
    outputs = model.predict(inputs)
    drift = drift_inputs("csat", model.estimator, inputs)
    seconds = time.perf_counter() - started
    ids = unrated["ticket_id"].tolist()
    return log_frame("csat", outputs, ids, drift, unrated["created_at"]), seconds


def weekly(values: pd.Series, weeks: int) -> list[float | None]:
    """``values`` indexed by week as a list over weeks ``0 .. weeks - 1`` (None where absent)."""
    full = values.reindex(range(weeks))
    return [None if pd.isna(v) else float(v) for v in full]


def realized(
    bad: np.ndarray, p: np.ndarray, week: np.ndarray, weeks: int
) -> tuple[list[float | None], list[float | None]]:
    """Weekly bad rate and ROC-AUC of the rated tickets (None without both classes)."""
    frame = pd.DataFrame({"bad": bad, "p": p, "week": week})
    rates, aucs = {}, {}
    for w, rows in frame.groupby("week"):
        rates[w] = rows["bad"].mean()
        if rows["bad"].nunique() == 2:
            aucs[w] = roc_auc_score(rows["bad"], rows["p"])
    return weekly(pd.Series(rates, dtype=float), weeks), weekly(pd.Series(aucs, dtype=float), weeks)


def mae(estimated: list[float | None], actual: list[float | None]) -> float | None:
    """Mean absolute error over the weeks that have both figures."""
    errors = [
        abs(e - a)
        for e, a in zip(estimated, actual, strict=True)
        if e is not None and a is not None
    ]
    return float(np.mean(errors)) if errors else None


def stream_figures(
    model: LoadedModel,
    profile: ReferenceProfile,
    stream: pd.DataFrame,
    bad_ratings: list[int | str],
) -> dict[str, Any]:
    """Monitor ``stream`` without its ratings; the weekly estimates beside the realized figures."""
    rows, predict_seconds = scored_rows(model, stream)
    started = time.perf_counter()
    result = monitor(rows, profile, model_version=model.version)
    monitor_seconds = time.perf_counter() - started
    starts = period_starts(rows["scored_at"], "W")
    week = ((starts - starts.min()).dt.days // 7).to_numpy()
    weeks = int(week.max()) + 1
    periods = result.periods.set_index(
        (pd.to_datetime(result.periods["period"], utc=True) - starts.min()).dt.days // 7
    )
    rated = stream["rating"].notna().to_numpy()
    bad = is_bad(stream["rating"][rated], bad_ratings).astype(int)
    p = rows["bad_rating_probability"].to_numpy(dtype=np.float64)
    realized_bad_rate, realized_roc_auc = realized(bad, p[rated], week[rated], weeks)
    figures: dict[str, Any] = {
        "weeks": list(range(weeks)),
        "alert_weeks": [int(w) for w in periods.index[periods["alerts"] > 0]],
        "estimated_bad_rate": weekly(periods["estimated_bad_rate"], weeks),
        "realized_bad_rate": realized_bad_rate,
        "estimated_roc_auc": weekly(periods["estimated_roc_auc"], weeks),
        "realized_roc_auc": realized_roc_auc,
        "monitor_seconds": monitor_seconds,
    }
    figures["bad_rate_mae"] = mae(figures["estimated_bad_rate"], realized_bad_rate)
    figures["roc_auc_mae"] = mae(figures["estimated_roc_auc"], realized_roc_auc)
    figures["predict_rows_per_second"] = len(stream) / predict_seconds
    figures["rows"] = float(len(stream))
    figures["rated"] = float(rated.sum())
    return figures


def delay(alert_weeks: list[int]) -> float | None:
    """Weeks from the change to the first alert: -1 for an alert before it, None for none."""
    if not alert_weeks:
        return None
    return float(max(alert_weeks[0] - CHANGE_WEEK, -1))


def summary(no_change: list[dict[str, Any]], changed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Flat figures over the generated streams: alert weeks without a change (all streams
    together), each change's detection delay, how many changes were found in their first two
    weeks, the mean and worst weekly errors of the estimates, the slowest monitor run."""
    streams = [*no_change, *changed.values()]
    figures: dict[str, Any] = {
        "false_alert_weeks": float(sum(len(s["alert_weeks"]) for s in no_change)),
        "no_change_weeks": float(sum(len(s["weeks"]) for s in no_change)),
    }
    delays = {kind: delay(s["alert_weeks"]) for kind, s in changed.items()}
    figures |= {f"delay_weeks_{kind}": value for kind, value in delays.items()}
    figures["changes_detected"] = float(sum(d in (0.0, 1.0) for d in delays.values()))
    for key in ("bad_rate_mae", "roc_auc_mae"):
        values = [s[key] for s in streams if s[key] is not None]
        figures[key] = float(np.mean(values))
        figures[f"{key}_max"] = float(np.max(values))
    figures["monitor_seconds"] = max(s["monitor_seconds"] for s in streams)
    figures["predict_rows_per_second"] = float(
        np.median([s["predict_rows_per_second"] for s in streams])
    )
    return figures


def task_monitor(args: argparse.Namespace) -> dict[str, Any]:
    """Alerts and estimated performance of the monitor, against the stream's ratings."""
    config = load_config(CsatConfig, getattr(args, "csat_config", None), args.set or [])
    given = {k: Path(v).resolve() for k, v in (("train", args.train), ("test", args.test)) if v}
    with tempfile.TemporaryDirectory() as tmp, own_store(Path(tmp)):
        folder = Path(tmp)
        reference = given.get("train") or generated(
            folder / "reference.csv", REFERENCE_SEED, REFERENCE_START
        )
        model, profile, train_seconds = train(reference, config)
        bad_ratings = config.labels.bad_ratings
        if given:
            stream = given.get("test") or generated(
                folder / "stream.csv", NO_CHANGE_SEEDS[0], STREAM_START
            )
            figures = stream_figures(model, profile, read_stream(stream), bad_ratings)
            return figures | {"train_seconds": train_seconds}
        no_change: list[dict[str, Any]] = []
        changed: dict[str, dict[str, Any]] = {}
        for name, seed, change in SCENARIOS:
            path = generated(folder / f"{name}.csv", seed, STREAM_START, change)
            found = stream_figures(model, profile, read_stream(path), bad_ratings)
            if change is None:
                no_change.append(found)
            else:
                changed[change.kind] = found
            print(
                f"{name}: alert weeks {found['alert_weeks']}, bad-rate MAE "
                f"{found['bad_rate_mae']:.4f}, ROC-AUC MAE {found['roc_auc_mae']:.4f}, "
                f"monitor {found['monitor_seconds']:.1f} s"
            )
    return summary(no_change, changed) | {"train_seconds": train_seconds}
