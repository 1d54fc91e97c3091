"""Quality and speed of cxml's recommended configurations on real data.

    python benchmarks/run.py TASK [--train FILE] [--test FILE] [--out FILE.json]
    python -m benchmarks.run TASK [...]        # the same, from the repository root

This module holds the tasks and :func:`main`; ``benchmarks/run.py`` is the command.

Without ``--train``/``--test`` the files under ``$CXML_DATA_DIR`` (default ``../shared/data``)
are used, with a fixed, stratified validation split of the training file. Prints a short table
and writes one flat JSON object of numbers to ``--out``. A run on the default data also records
its figures in ``benchmarks/results.json`` and re-renders ``benchmarks/RESULTS.md`` from it, beside
the targets and the plain baselines; a run on files given with ``--train``/``--test`` records
nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MultiLabelBinarizer

from benchmarks import ticket_tasks
from benchmarks.discovery_task import discovery_task
from benchmarks.emerging_task import task_emerging
from benchmarks.flipkart_task import flipkart_figures
from benchmarks.label_noise_task import label_noise_figures, theme_noise_figures
from benchmarks.monitor_task import task_monitor
from benchmarks.scoring_tasks import scoring_task
from cxml.comments import SentimentClassifier, theme_pairs
from cxml.config import DataConfig, SentimentConfig, ThemesConfig, load_config
from cxml.contracts.fields import COMMENTS
from cxml.data import read_valid
from cxml.training.themes import fit_theme_model

ROOT = Path(__file__).resolve().parents[1]
SPLIT_SEED = 13
VALIDATION_FRACTION = 0.2
RESULTS_JSON = ROOT / "benchmarks" / "results.json"
RESULTS_MD = ROOT / "benchmarks" / "RESULTS.md"

#: Per task and key: (target, plain baseline measured here), from the issues and ARCHITECTURE.md.
REFERENCES: dict[str, dict[str, tuple[float | None, str]]] = {
    "semeval14": {
        "theme_micro_f1": (
            0.90,
            "on the official test set, TF-IDF + SVM 0.84, + USE 0.87, 2014 winner ~0.89, "
            "BERT ~0.92",
        ),
        "theme_sentiment_accuracy_4way": (
            0.86,
            "on the official test set, TF-IDF + SVM 0.77, 2014 winner ~0.83, BERT ~0.86",
        ),
    },
    "nsmc": {"sentiment_accuracy": (0.90, "on the NSMC test set, KoBERT 0.901, KcELECTRA 0.917")},
    "airline": {
        "sentiment_macro_f1": (0.80, "held-out baseline 0.76"),
        "theme_macro_f1": (0.60, "held-out baseline 0.52"),
    },
    "womens": {
        "bad_rating_roc_auc": (0.95, "TF-IDF + logistic regression on text only 0.932"),
        "bad_rating_average_precision": (0.66, "TF-IDF + logistic regression on text only 0.607"),
    },
    "scoring": {
        "batch_rows_per_second": (1000.0, "default comment models, end to end"),
        "batch_overhead_ratio": (0.15, "pipeline time over the bare models' time"),
        "service_p99_ms_c10": (25.0, "one ticket a request, 10 concurrent clients"),
    },
    "csat": {
        "roc_auc_share_of_oracle": (0.97, "share of the ROC-AUC of the true probabilities"),
        "ece": (0.02, "expected calibration error, 15 equal-width bins"),
        "single_ticket_ms": (5.0, "median time to score one ticket in process"),
    },
    "flipkart": {
        "roc_auc": (
            0.663,
            "plain gradient boosting on response time, hour, channel, category, sub-category, "
            "tenure and shift, 5-fold cross-validated (not time-ordered), text unused "
            "(../shared/data/flipkart_csat_sample/README.md); hgb_roc_auc is scikit-learn's plain "
            "gradient boosting on these time-ordered folds",
        ),
    },
    "emerging": {
        "first_alert_period": (9.0, "the theme is planted in week planted_period"),
        "false_alerts": (
            0.1,
            "alerting weeks before the plant, a stream (4 weeks judged, at alpha 0.01 a week); "
            "the emerging alert rule was set on seeds 0-2, seeds 3-5 are unseen",
        ),
        "false_alerts_without_new_theme": (0.1, "alerting weeks of 8, a stream"),
    },
    "label_noise": {
        "label_error_precision": (0.5, "share of the flagged rows whose label the task broke"),
        "label_error_recall": (0.5, "share of the broken rows flagged"),
        "theme_label_error_precision": (0.5, ""),
        "theme_label_error_recall": (0.5, ""),
    },
    "monitor": {
        "false_alert_weeks": (
            0.0,
            "with their defaults, on 96 generated weeks without a change, evidently flagged 1 "
            "week and nannyml's drift 26 (docs/monitoring-libraries.md)",
        ),
        "changes_detected": (4.0, ""),
        "delay_weeks_category_surge": (1.0, ""),
        "delay_weeks_slow_queues": (1.0, ""),
        "delay_weeks_language_mix": (1.0, ""),
        "delay_weeks_new_theme": (1.0, ""),
        "bad_rate_mae": (0.02, ""),
        "roc_auc_mae": (
            0.03,
            "nannyml's CBPE 0.010-0.013 on such streams, with a calibrator it refits on a rated "
            "reference",
        ),
        "monitor_seconds": (30.0, "evidently's 16 weekly drift reports alone 20-38 s"),
    },
}

#: Keys whose target is a maximum.
LOWER_IS_BETTER = {"ece", "brier", "single_ticket_ms", "batch_overhead_ratio", "service_p99_ms_c10"}
LOWER_IS_BETTER |= {"false_alert_weeks", "bad_rate_mae", "roc_auc_mae", "monitor_seconds"}
LOWER_IS_BETTER |= {key for key in REFERENCES["monitor"] if key.startswith("delay_weeks_")}
LOWER_IS_BETTER |= {"first_alert_period", "false_alerts", "false_alerts_without_new_theme"}


def data_dir() -> Path:
    return Path(os.environ.get("CXML_DATA_DIR", ROOT.parent / "shared" / "data"))


def load(path: Path, require: list[str]) -> pd.DataFrame:
    """Read a benchmark file through the data contract (rejects go to a temporary folder)."""
    rejects = Path(os.environ.get("TMPDIR", "/tmp")) / f"cxml-bench-{path.stem}.rejects.csv"
    frame, summary, _ = read_valid(
        path, COMMENTS, config=DataConfig(max_text_chars=20_000), require=require, rejects=rejects
    )
    if summary.rejected:
        print(f"note: {path}: {summary.describe()}", file=sys.stderr)
    return frame


def split(
    args: argparse.Namespace, default: Path, require: list[str], stratify: str | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``--train``/``--test`` when given, else a fixed validation split of ``default``."""
    train = load(Path(args.train) if args.train else default, require)
    if args.test:
        return train, load(Path(args.test), require)
    labels = train[stratify] if stratify else None
    tr, te = train_test_split(
        train, test_size=VALIDATION_FRACTION, random_state=SPLIT_SEED, stratify=labels
    )
    return tr.reset_index(drop=True), te.reset_index(drop=True)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def sentiment_figures(
    train: pd.DataFrame,
    test: pd.DataFrame,
    config: SentimentConfig,
    keep: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Train ``config``'s sentiment model; accuracy, macro-F1 and speed on ``test`` (the model
    and its predictions kept in ``keep["model"]`` and ``keep["sentiment"]`` when given)."""
    model = SentimentClassifier(
        backend=config.model.backend, params=config.model.params, random_state=config.split.seed
    )
    texts = train["text"].to_numpy(dtype=object)
    _, train_seconds = _timed(lambda: model.fit(texts, train["sentiment"].to_numpy(dtype=object)))
    out, predict_seconds = _timed(lambda: model.predict_frame(test[["text"]]))
    truth = test["sentiment"].to_numpy(dtype=object)
    if keep is not None:
        keep.update(model=model, sentiment=out["sentiment"].to_numpy(dtype=object))
    return {
        "sentiment_accuracy": float(accuracy_score(truth, out["sentiment"])),
        "sentiment_macro_f1": float(f1_score(truth, out["sentiment"], average="macro")),
        "train_seconds": train_seconds,
        "predict_rows_per_second": len(test) / predict_seconds,
        "train_rows": float(len(train)),
        "test_rows": float(len(test)),
    }


def theme_figures(
    train: pd.DataFrame, test: pd.DataFrame, config: ThemesConfig, *, with_sentiment: bool
) -> dict[str, float]:
    """Train ``config``'s theme model (and theme sentiment); F1 and pair accuracy on ``test``.

    Theme-level sentiment is judged on the gold themes of ``test``, as in SemEval's subtask.
    """
    model, train_seconds = _timed(lambda: fit_theme_model(train, config, with_sentiment))
    out, predict_seconds = _timed(lambda: model.predict_frame(test["text"]))
    names = list(model.themes.classes_)
    truth = MultiLabelBinarizer(classes=names).fit_transform(test["themes"])
    predicted = MultiLabelBinarizer(classes=names).fit_transform(out["themes"])
    figures = {
        "theme_micro_f1": float(f1_score(truth, predicted, average="micro", zero_division=0)),
        "theme_macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
    }
    if model.sentiment is not None:
        pairs = theme_pairs(test["text"], test["theme_sentiment"].map(lambda d: d or {}))
        hit = model.sentiment.predict(pairs) == pairs["polarity"].to_numpy(dtype=object)
        plain = (pairs["polarity"] != "conflict").to_numpy()
        figures["theme_sentiment_accuracy_4way"] = float(hit.mean())
        figures["theme_sentiment_accuracy_3way"] = float(hit[plain].mean())
    return figures | {
        "train_seconds": train_seconds,
        "predict_rows_per_second": len(test) / predict_seconds,
        "train_rows": float(len(train)),
        "test_rows": float(len(test)),
    }


def _themes_config(args: argparse.Namespace) -> ThemesConfig:
    return load_config(ThemesConfig, args.themes_config, args.set or [])


def _sentiment_config(args: argparse.Namespace) -> SentimentConfig:
    return load_config(SentimentConfig, args.sentiment_config, args.set or [])


def _absa(args: argparse.Namespace, folder: str) -> dict[str, float]:
    train, test = split(args, data_dir() / folder / "train.jsonl", ["themes"], None)
    return theme_figures(train, test, _themes_config(args), with_sentiment=True)


def task_semeval14(args: argparse.Namespace) -> dict[str, float]:
    """SemEval-2014 restaurants: 5 themes, 4 polarities."""
    return _absa(args, "semeval14_restaurants")


def pair_keys(task: str, figures: dict[str, float]) -> dict[str, float]:
    """SemEval-2016 and MAMS report one theme-sentiment accuracy (all polarities)."""
    if task in ("semeval16", "mams") and "theme_sentiment_accuracy_4way" in figures:
        figures["theme_sentiment_accuracy"] = figures.pop("theme_sentiment_accuracy_4way")
    return figures


def task_semeval16(args: argparse.Namespace) -> dict[str, float]:
    """SemEval-2016 restaurants: 12 ENTITY#ATTRIBUTE themes."""
    return pair_keys("semeval16", _absa(args, "semeval16_restaurants"))


def task_mams(args: argparse.Namespace) -> dict[str, float]:
    """MAMS: every sentence has two or more themes with different polarities."""
    return pair_keys("mams", _absa(args, "mams_acsa"))


def task_nsmc(args: argparse.Namespace) -> dict[str, float]:
    """NSMC, Korean binary sentiment."""
    train, test = split(args, data_dir() / "nsmc" / "train.jsonl", ["sentiment"], "sentiment")
    return sentiment_figures(train, test, _sentiment_config(args))


def task_scoring(args: argparse.Namespace) -> dict[str, float]:
    """Batch throughput, overhead, memory, resume identity, Spark, service latency."""
    return scoring_task()


def task_discovery(args: argparse.Namespace) -> dict[str, float]:
    """Theme discovery scored against gold themes, beside BERTopic on the same vectors."""
    train = Path(args.train) if args.train else None
    test = Path(args.test) if args.test else None
    return discovery_task(train, test, data_dir())


def task_womens(args: argparse.Namespace) -> dict[str, float]:
    """Women's clothing reviews through the ticket model's pipeline (bad = rating 1-2)."""
    default = data_dir() / "womens_clothing" / "train.jsonl"
    train, test = split(args, default, ["rating"], "rating")
    return ticket_tasks.womens_figures(train, test, args)


def task_flipkart(args: argparse.Namespace) -> dict[str, float]:
    """A real support export (day-first dates, its own column names) through the column mapping,
    time-ordered cross-validation (:mod:`benchmarks.flipkart_task`)."""
    default = data_dir() / "flipkart_csat_sample" / "tickets.csv"
    train = Path(args.train) if args.train else default
    return flipkart_figures(train, Path(args.test) if args.test else None, args)


def task_airline(args: argparse.Namespace) -> dict[str, float]:
    """Airline tweets: 3-way sentiment, and complaint reasons as themes over all tweets."""
    default = data_dir() / "airline_tweets" / "train.jsonl"
    train, test = split(args, default, ["sentiment"], "sentiment")
    figures = sentiment_figures(train, test, _sentiment_config(args))
    for frame in (train, test):
        frame["themes"] = frame["themes"].map(lambda t: list(t) if isinstance(t, list) else [])
    themes = theme_figures(train, test, _themes_config(args), with_sentiment=False)
    figures["theme_macro_f1"] = themes["theme_macro_f1"]
    figures["theme_micro_f1"] = themes["theme_micro_f1"]
    figures["train_seconds"] += themes["train_seconds"]
    figures["predict_rows_per_second"] = 1 / (
        1 / figures["predict_rows_per_second"] + 1 / themes["predict_rows_per_second"]
    )
    return figures


def task_label_noise(args: argparse.Namespace) -> dict[str, float]:
    """Labels broken at random found by the label check (:mod:`benchmarks.label_noise_task`):
    sentiment on the airline tweets (or ``--train``/``--test``), and on the default data also
    themes on SemEval-14."""
    default = data_dir() / "airline_tweets" / "train.jsonl"
    train, test = split(args, default, ["sentiment"], "sentiment")
    figures = label_noise_figures(train, test, _sentiment_config(args))
    if not (args.train or args.test):
        default = data_dir() / "semeval14_restaurants" / "train.jsonl"
        train, test = split(args, default, ["themes"], None)
        figures |= theme_noise_figures(train, test, _themes_config(args))
    return figures


TASKS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "semeval14": task_semeval14,
    "semeval16": task_semeval16,
    "mams": task_mams,
    "nsmc": task_nsmc,
    "airline": task_airline,
    "csat": ticket_tasks.task_csat,
    "discovery": task_discovery,
    "emerging": task_emerging,
    "flipkart": task_flipkart,
    "monitor": task_monitor,
    "label_noise": task_label_noise,
    "scoring": task_scoring,
    "womens": task_womens,
}

#: The recommended configuration of each task (what ``run.py TASK`` trains).
RECOMMENDED: dict[str, dict[str, str]] = {
    "semeval14": {"themes": "configs/themes_accurate.yaml"},
    "semeval16": {"themes": "configs/themes_accurate.yaml"},
    "mams": {"themes": "configs/themes_accurate.yaml"},
    "nsmc": {"sentiment": "configs/sentiment_korean.yaml"},
    "airline": {
        "sentiment": "configs/sentiment_accurate.yaml",
        "themes": "configs/themes_accurate.yaml",
    },
}


def record(task: str, figures: dict[str, float]) -> None:
    """Keep ``figures`` as the latest for ``task`` in results.json and re-render RESULTS.md."""
    results = json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    results[task] = {
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, CPU only",
        "figures": figures,
    }
    RESULTS_JSON.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    RESULTS_MD.write_text(render(results))


def render(results: dict[str, Any]) -> str:
    """RESULTS.md: per task, one column per configuration run, targets beside."""
    lines = [
        "# Benchmark results",
        "",
        "Written by `python benchmarks/run.py TASK` (the recommended configuration; other columns",
        "come from `--label`ed runs of other configs, and the plain baseline from",
        "`benchmarks/baselines.py`) on the default data under `$CXML_DATA_DIR`: a fixed 20 %",
        "validation split of each training file (stratified for sentiment). The targets are judged",
        "on held-out test sets that are not here, so the marks are estimates. Rows per second is",
        "the trained model's own prediction speed on 2 cores (themes and theme sentiment together",
        "where both run). Do not edit by hand: the figures come from `results.json`.",
        "",
    ]
    tasks = sorted({name.split(" ")[0] for name in results})
    for task in tasks:
        runs = sorted((n for n in results if n.split(" ")[0] == task), key=lambda n: (n != task, n))
        heads = ["recommended" if n == task else n[len(task) + 1 :].strip("()") for n in runs]
        refs = REFERENCES.get(task, {})
        keys = sorted({k for n in runs for k in results[n]["figures"]})
        when = sorted({f"{results[n]['date']}, {results[n]['machine']}" for n in runs})
        lines += [f"## {task}", "", "; ".join(when), ""]
        lines.append("| key | target | " + " | ".join(heads) + " |")
        lines.append("| --- | --- | " + " | ".join("---:" for _ in runs) + " |")
        for key in keys:
            target = refs.get(key, (None, ""))[0]
            cells = []
            for n in runs:
                value = results[n]["figures"].get(key)
                cells.append("" if value is None else f"{value:,.4f}")
            sign = "<=" if key in LOWER_IS_BETTER else ">="
            shown = "" if target is None else f"{sign} {target}"
            lines.append(f"| {key} | {shown} | " + " | ".join(cells) + " |")
        notes = [f"{key}: {ref[1]}" for key, ref in refs.items() if ref[1]]
        if notes:
            lines += ["", "Published or measured elsewhere: " + "; ".join(notes) + "."]
        lines.append("")
    return "\n".join(lines)


def rounded(value: Any) -> Any:
    """A figure to 4 decimals; a list (the ``monitor`` task's weekly figures) element by element,
    integers (week indexes) kept and None for a missing or non-finite element; None stays None.

    >>> rounded([0.123456, None, float("nan")]), rounded([0, 3]), rounded(2), rounded(None)
    ([0.1235, None, None], [0, 3], 2.0, None)
    """
    if isinstance(value, list):
        return [
            v if isinstance(v, int) else None if v is None or not np.isfinite(v) else rounded(v)
            for v in value
        ]
    return None if value is None else round(float(value), 4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("task", choices=sorted(TASKS))
    parser.add_argument("--train", help="training file (default: the task's file in the data dir)")
    parser.add_argument("--test", help="test file (default: a fixed split of the training file)")
    parser.add_argument("--out", help="write the figures here as one flat JSON object")
    parser.add_argument("--themes-config", help="themes config (default: the recommended one)")
    parser.add_argument("--sentiment-config", help="sentiment config (default: recommended)")
    parser.add_argument("--csat-config", help="ticket model config (csat, womens, flipkart)")
    parser.add_argument("--set", action="append", help="override a config key: a.b=value")
    parser.add_argument(
        "--label", help="record as TASK (LABEL) in RESULTS.md, e.g. a backend's name"
    )
    args = parser.parse_args(argv)
    recommended = RECOMMENDED.get(args.task, {})
    for kind in ("themes", "sentiment"):
        default = ROOT / recommended.get(kind, f"configs/{kind}.yaml")
        setattr(args, f"{kind}_config", getattr(args, f"{kind}_config") or default)
    figures = {  # a number that is not finite is left out; None (a missing figure) is kept
        k: rounded(v)
        for k, v in TASKS[args.task](args).items()
        if v is None or isinstance(v, list) or np.isfinite(v)
    }
    print(f"{args.task} on {platform.node()} ({os.cpu_count()} cores)")
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        shown = json.dumps(value) if value is None or isinstance(value, list) else f"{value:,.4f}"
        print(f"  {key:<{width}}  {shown:>12}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(figures, indent=2) + "\n")
    if not (args.train or args.test):
        record(f"{args.task} ({args.label})" if args.label else args.task, figures)
    return 0
