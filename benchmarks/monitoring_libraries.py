"""Trial of evidently and nannyml on generated ticket streams (``docs/monitoring-libraries.md``).

Neither library is a cxml dependency, so this script is not part of the benchmark command, no
test imports it, and it imports each library inside a guard: a library that is missing or does
not import is reported as such and the rest still runs. Run it in a throw-away environment:

    python3 -m venv /tmp/libtrial
    /tmp/libtrial/bin/pip install evidently nannyml "pandas<3" scikit-learn scipy pyarrow
    PYTHONPATH=. /tmp/libtrial/bin/python -m benchmarks.monitoring_libraries --out R.json

Data (``cxml.data.synth``, mixed English / Korean, no built-in spike): a model is trained on
20,000 tickets, a reference of 16 weeks x 1,000 tickets is scored by it, and so is each stream
of 16 weeks x 1,000 tickets (weeks Monday-Sunday): one without a change, one with a category
surge at week 8 (account 12 % -> 28 %), one with slow queues at week 8 (first replies x3, bad
rate 23 % -> 27 %), and ``--null-streams`` more without a change (other seeds). Features:
channel, category, priority, customer_tier, lang (categorical), replies, reopens,
reassignments, first_response_hours (numeric). Each library runs with its default settings:

- evidently ``Report([DataDriftPreset()])`` once per week against the whole reference; a week
  is flagged when any column drifts (``dataset_drift`` = half of the columns, reported too);
- nannyml ``UnivariateDriftCalculator`` (weekly chunks) fitted on the reference, and ``CBPE``
  (estimated ROC-AUC, weekly) fitted on the scored, rated reference; a week is flagged on any
  alert. CBPE's estimates are compared with the realized weekly ROC-AUC from the ratings.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from cxml.contracts.ratings import is_bad
from cxml.data.synth import Drift, make_tickets

# nannyml sends usage statistics to segment.io unless this is set (evidently only from its UI)
os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")

CATEGORICAL = ["channel", "category", "priority", "customer_tier", "lang"]
NUMERIC = ["replies", "reopens", "reassignments", "first_response_hours"]
WEEKS, PER_WEEK, CHANGE_WEEK = 16, 1000, 8
SCENARIOS: dict[str, Drift | None] = {
    "no_change": None,
    "category_surge": Drift("category_surge", week=CHANGE_WEEK),
    "slow_queues": Drift("slow_queues", week=CHANGE_WEEK),
}


def tickets(n: int, seed: int, start: str, drift: Drift | None = None) -> pd.DataFrame:
    """Rated tickets with the features, ``timestamp``, ``week`` and ``bad``."""
    days = 7 * n // PER_WEEK
    frame = make_tickets(
        n, lang="mixed", seed=seed, start=start, days=days, spike=False, drift=drift
    )
    created = pd.to_datetime(frame["created_at"])
    answered = pd.to_datetime(frame["first_response_at"])
    return pd.DataFrame(
        {
            **{c: frame[c].fillna("(missing)").astype(object) for c in CATEGORICAL},
            **{c: frame[c].astype(float) for c in NUMERIC[:3]},
            "first_response_hours": (answered - created).dt.total_seconds() / 3600,
            "timestamp": created,
            "week": (created - monday(created)).dt.days // 7,
            "bad": is_bad(frame["rating"]).astype(int),
        }
    )


def monday(created: pd.Series) -> pd.Timestamp:
    """The Monday on or before the first time: the start of week 0, as the monitor counts."""
    first = created.min().normalize()
    return first - pd.Timedelta(days=first.weekday())


def design(frame: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """One-hot categories and log1p numbers, aligned to ``columns`` when given."""
    numbers = frame[NUMERIC].clip(lower=0).apply(np.log1p)
    dummies = pd.get_dummies(frame[CATEGORICAL], dtype=float)
    matrix = pd.concat([numbers, dummies], axis=1)
    return matrix if columns is None else matrix.reindex(columns=columns, fill_value=0.0)


def scored(model: LogisticRegression, columns: list[str], frame: pd.DataFrame) -> pd.DataFrame:
    p = model.predict_proba(design(frame, columns))[:, 1]
    return frame.assign(p=p, pred=(p >= 0.5).astype(int))


def run_evidently(reference: pd.DataFrame, stream: pd.DataFrame) -> dict[str, Any]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    columns = CATEGORICAL + NUMERIC
    ref = Dataset.from_pandas(reference[columns], data_definition=definition)
    weeks: list[dict[str, Any]] = []
    began = time.perf_counter()
    for week, rows in stream.groupby("week"):
        cur = Dataset.from_pandas(rows[columns], data_definition=definition)
        metrics = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref).dict()
        drifted, dataset_drift = [], False
        for metric in metrics["metrics"]:
            config = metric["config"]
            if config["type"].endswith("DriftedColumnsCount"):
                dataset_drift = metric["value"]["share"] >= config["drift_share"]
            elif config["type"].endswith("ValueDrift"):
                value, threshold = metric["value"], config["threshold"]
                if value < threshold if "p_value" in config["method"] else value >= threshold:
                    drifted.append(f"{config['column']} ({config['method']} {value:.3g})")
        weeks.append({"week": int(str(week)), "drifted": drifted, "dataset_drift": dataset_drift})
    return {
        "seconds": round(time.perf_counter() - began, 2),
        "alert_weeks": [w["week"] for w in weeks if w["drifted"]],
        "dataset_drift_weeks": [w["week"] for w in weeks if w["dataset_drift"]],
        "weeks": weeks,
    }


def run_nannyml(reference: pd.DataFrame, stream: pd.DataFrame) -> dict[str, Any]:
    import nannyml as nml

    common = {"timestamp_column_name": "timestamp", "chunk_period": "W"}
    began = time.perf_counter()
    drift = nml.UnivariateDriftCalculator(
        column_names=CATEGORICAL + NUMERIC, treat_as_categorical=CATEGORICAL, **common
    )
    drift_table = drift.fit(reference).calculate(stream).filter(period="analysis").to_df()
    drift_seconds = time.perf_counter() - began
    began = time.perf_counter()
    cbpe = nml.CBPE(
        problem_type="classification_binary",
        y_pred_proba="p",
        y_pred="pred",
        y_true="bad",
        metrics=["roc_auc"],
        **common,
    )
    cbpe_table = cbpe.fit(reference).estimate(stream).filter(period="analysis").to_df()
    cbpe_seconds = time.perf_counter() - began

    methods = sorted({str(column[1]) for column in drift_table.columns if column[0] != "chunk"})
    alerts = drift_table.xs("alert", axis=1, level=-1)
    drifted = [
        [str(column[0]) for column, hit in row.items() if bool(hit)] for _, row in alerts.iterrows()
    ]
    realized = [
        float(roc_auc_score(rows["bad"], rows["p"])) if rows["bad"].nunique() == 2 else None
        for _, rows in stream.groupby("week")
    ]
    estimated = cbpe_table[("roc_auc", "value")].astype(float).tolist()
    errors = [abs(e - r) for e, r in zip(estimated, realized, strict=True) if r is not None]
    return {
        "methods": methods,
        "drift_seconds": round(drift_seconds, 2),
        "cbpe_seconds": round(cbpe_seconds, 2),
        "alert_weeks": [i for i, columns in enumerate(drifted) if columns],
        "drifted": drifted,
        "cbpe_alert_weeks": [
            i for i, hit in enumerate(cbpe_table[("roc_auc", "alert")].tolist()) if hit
        ],
        "estimated_roc_auc": [round(v, 4) for v in estimated],
        "realized_roc_auc": [None if v is None else round(v, 4) for v in realized],
        "roc_auc_mae": round(float(np.mean(errors)), 4),
    }


def guarded(name: str, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``run()``, or why it could not run (the library missing, failing to import or to run)."""
    try:
        importlib.import_module(name)
    except Exception as exc:  # an import error, or a library broken by this pandas
        return {"error": f"import {name}: {type(exc).__name__}: {exc}"}
    try:
        return run()
    except Exception as exc:
        return {"error": f"{name}: {type(exc).__name__}: {exc}"}


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in ("evidently", "nannyml", "pandas", "numpy", "sklearn", "scipy"):
        try:
            found[name] = str(importlib.import_module(name).__version__)
        except Exception:
            found[name] = None
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="JSON file for the results")
    parser.add_argument(
        "--null-streams", type=int, default=5, help="more streams without a change (other seeds)"
    )
    args = parser.parse_args(argv)

    train = tickets(20_000, seed=1, start="2025-06-02")
    columns = list(design(train).columns)
    model = LogisticRegression(max_iter=2000).fit(design(train), train["bad"])
    reference = scored(model, columns, tickets(WEEKS * PER_WEEK, seed=2, start="2025-09-08"))
    results: dict[str, Any] = {"versions": versions(), "change_week": CHANGE_WEEK}
    runs = [(name, 3, change) for name, change in SCENARIOS.items()]
    runs += [(f"no_change_seed{seed}", seed, None) for seed in range(10, 10 + args.null_streams)]
    for name, seed, change in runs:
        stream = scored(
            model, columns, tickets(WEEKS * PER_WEEK, seed=seed, start="2026-01-05", drift=change)
        )
        results[name] = {
            "evidently": guarded("evidently", partial(run_evidently, reference, stream)),
            "nannyml": guarded("nannyml", partial(run_nannyml, reference, stream)),
        }
        for library, found in results[name].items():
            shown = {k: v for k, v in found.items() if k not in ("weeks", "drifted")}
            print(f"{name:15s} {library:9s} {json.dumps(shown)}")
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
