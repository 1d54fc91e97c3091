"""Quality and speed of cxml's recommended configurations on real data.

    python benchmarks/run.py TASK [--train FILE] [--test FILE] [--out FILE.json]

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

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cxml.comments import SentimentClassifier  # noqa: E402
from cxml.config import DataConfig, SentimentConfig  # noqa: E402
from cxml.data import COMMENTS, read_valid  # noqa: E402

SPLIT_SEED = 13
VALIDATION_FRACTION = 0.2
RESULTS_JSON = ROOT / "benchmarks" / "results.json"
RESULTS_MD = ROOT / "benchmarks" / "RESULTS.md"

#: Per task and key: (target, plain baseline measured here), from the issues and ARCHITECTURE.md.
REFERENCES: dict[str, dict[str, tuple[float | None, str]]] = {
    "nsmc": {"sentiment_accuracy": (0.90, "0.872 TF-IDF + linear SVM")},
    "airline": {
        "sentiment_accuracy": (None, ""),
        "sentiment_macro_f1": (0.80, "0.76"),
        "theme_macro_f1": (0.60, "0.52"),
    },
}


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


def sentiment_figures(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, float]:
    """Train the recommended sentiment model; accuracy, macro-F1 and speed on ``test``."""
    config = SentimentConfig()
    model = SentimentClassifier(
        backend=config.model.backend, params=config.model.params, random_state=config.split.seed
    )
    started = time.perf_counter()
    model.fit(train["text"].to_numpy(dtype=object), train["sentiment"].to_numpy(dtype=object))
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    predicted = model.predict_frame(test[["text"]])["sentiment"]
    predict_seconds = time.perf_counter() - started
    truth = test["sentiment"].to_numpy(dtype=object)
    return {
        "sentiment_accuracy": float(accuracy_score(truth, predicted)),
        "sentiment_macro_f1": float(f1_score(truth, predicted, average="macro")),
        "train_seconds": train_seconds,
        "predict_rows_per_second": len(test) / predict_seconds,
        "train_rows": float(len(train)),
        "test_rows": float(len(test)),
    }


def task_nsmc(args: argparse.Namespace) -> dict[str, float]:
    """NSMC, Korean binary sentiment."""
    train, test = split(args, data_dir() / "nsmc" / "train.jsonl", ["sentiment"], "sentiment")
    return sentiment_figures(train, test)


def task_airline(args: argparse.Namespace) -> dict[str, float]:
    """Airline tweets, 3-way sentiment."""
    default = data_dir() / "airline_tweets" / "train.jsonl"
    train, test = split(args, default, ["sentiment"], "sentiment")
    return sentiment_figures(train, test)


TASKS: dict[str, Callable[[argparse.Namespace], dict[str, float]]] = {
    "nsmc": task_nsmc,
    "airline": task_airline,
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
    lines = [
        "# Benchmark results",
        "",
        "Written by `python benchmarks/run.py TASK` on the default data under `$CXML_DATA_DIR`",
        "(a fixed, stratified 20 % validation split of each training file; the held-out test sets",
        "are not here). Do not edit by hand: the figures come from `results.json`.",
        "",
    ]
    for name in sorted(results):
        entry = results[name]
        refs = REFERENCES.get(name, {})
        lines += [
            f"## {name}",
            "",
            f"{entry['date']}, {entry['machine']}",
            "",
            "| key | value | target | plain baseline |",
            "| --- | ---: | ---: | --- |",
        ]
        for key, value in sorted(entry["figures"].items()):
            target, baseline = refs.get(key, (None, ""))
            mark = "" if target is None else (" (met)" if value >= target else " (not met)")
            shown = "" if target is None else f">= {target}{mark}"
            lines.append(f"| {key} | {value:,.4f} | {shown} | {baseline} |")
        lines.append("")
    RESULTS_MD.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("task", choices=sorted(TASKS))
    parser.add_argument("--train", help="training file (default: the task's file in the data dir)")
    parser.add_argument("--test", help="test file (default: a fixed split of the training file)")
    parser.add_argument("--out", help="write the figures here as one flat JSON object")
    args = parser.parse_args(argv)
    figures = TASKS[args.task](args)
    figures = {k: round(float(v), 4) for k, v in figures.items() if np.isfinite(v)}
    print(f"{args.task} on {platform.node()} ({os.cpu_count()} cores)")
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"  {key:<{width}}  {value:>12,.4f}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(figures, indent=2) + "\n")
    if not (args.train or args.test):
        record(args.task, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
