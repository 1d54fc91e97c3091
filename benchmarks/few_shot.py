"""Few labels: SetFit-style contrastive tuning against a head on frozen vectors and TF-IDF, at 8,
32 and 128 labelled texts per class (per theme) and on the full training split.

    python -m benchmarks.few_shot [--tasks airline themes] [--sizes 8 32 128 full]

``airline``: 3-way sentiment of the airline tweets (accuracy, macro-F1). ``themes``: SemEval-14's
five themes, many per text (micro average precision and macro ROC-AUC: threshold-free, since a
head fitted on 40 texts has no calibrated 0.5). Training rows come from the benchmark's fixed 80 %
split: n per class, or for themes the first n texts of a shuffled order that carry each theme (a
text counts for all its themes). Each size is drawn ``--draws`` times (3 at 8, 2 at 32, else 1)
and the figures averaged. Judged on a fixed 1,000 rows of the other 20 %. All backends use
MiniLM where they use an encoder, without the vector cache (rows/s is then a speed). Recorded as
``few_shot_<task> (<backend>)``.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score
from sklearn.preprocessing import MultiLabelBinarizer

from benchmarks.tasks import data_dir, record, rounded, split
from cxml.catalog import backends

BACKENDS: dict[str, tuple[str, dict[str, Any]]] = {
    "tfidf": ("cxml.tfidf_linear.v1", {}),
    "frozen minilm": ("cxml.encoder_linear.v1", {"encoder": "minilm", "cache": False}),
    "contrastive": ("cxml.contrastive.v1", {}),
}
DRAWS = {"8": 3, "32": 2}
JUDGED = 1000


def draw(train: pd.DataFrame, task: str, size: str, seed: int) -> pd.DataFrame:
    """The labelled rows of one draw: ``size`` per class (per theme), or all of ``train``."""
    if size == "full":
        return train
    n = int(size)
    if task == "airline":
        return train.groupby("sentiment").sample(n, random_state=seed, replace=False)
    order = train.sample(frac=1.0, random_state=seed)
    chosen: set[int] = set()
    for theme in sorted({t for ts in train["themes"] for t in ts}):
        carrying = order.index[order["themes"].map(lambda ts, t=theme: t in ts)]
        chosen.update(carrying[:n].tolist())
    return train.loc[sorted(chosen)]


def score(task: str, model: Any, rows: pd.DataFrame, test: pd.DataFrame, mlb: Any) -> dict:
    texts = test["text"].to_numpy(dtype=object)
    started = time.perf_counter()
    proba = model.predict_proba(texts)
    per_second = len(texts) / (time.perf_counter() - started)
    if task == "airline":
        predicted = model.classes_[proba.argmax(1)]
        truth = test["sentiment"].to_numpy(dtype=object)
        return {
            "accuracy": float((predicted == truth).mean()),
            "macro_f1": float(f1_score(truth, predicted, average="macro")),
            "rows_per_second": per_second,
        }
    truth = mlb.transform(test["themes"])
    return {
        "micro_ap": float(average_precision_score(truth, proba, average="micro")),
        "macro_auc": float(roc_auc_score(truth, proba, average="macro")),
        "rows_per_second": per_second,
    }


def run(task: str, sizes: list[str], names: list[str]) -> None:
    args = argparse.Namespace(train=None, test=None)
    if task == "airline":
        default, need, stratify = (
            data_dir() / "airline_tweets" / "train.jsonl",
            "sentiment",
            "sentiment",
        )
    else:
        default, need, stratify = (
            data_dir() / "semeval14_restaurants" / "train.jsonl",
            "themes",
            None,
        )
    train, test = split(args, default, [need], stratify)
    test = test.sample(min(JUDGED, len(test)), random_state=0).reset_index(drop=True)
    mlb = MultiLabelBinarizer().fit(train["themes"]) if task == "themes" else None
    for name in names:
        backend, params = BACKENDS[name]
        figures: dict[str, float] = {}
        for size in sizes:
            runs = []
            for seed in range(DRAWS.get(size, 1)):
                rows = draw(train, task, size, seed)
                labels = rows["sentiment"] if mlb is None else mlb.transform(rows["themes"])
                model = backends.get(backend).build(params, random_state=seed)
                started = time.perf_counter()
                model.fit(rows["text"].to_numpy(dtype=object), np.asarray(labels))
                fitted = time.perf_counter() - started
                runs.append(score(task, model, rows, test, mlb) | {"train_seconds": fitted})
                runs[-1]["train_rows"] = float(len(rows))
            for key in runs[0]:
                figures[f"n{size}_{key}"] = float(np.mean([r[key] for r in runs]))
            if len(runs) > 1:
                main = "macro_f1" if task == "airline" else "micro_ap"
                figures[f"n{size}_{main}_sd"] = float(np.std([r[main] for r in runs], ddof=1))
            print(
                task,
                name,
                size,
                json.dumps(
                    {k: rounded(v) for k, v in figures.items() if k.startswith(f"n{size}_")}
                ),
                flush=True,
            )
        record(f"few_shot_{task} ({name})", {k: rounded(v) for k, v in figures.items()})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=["airline", "themes"])
    parser.add_argument("--sizes", nargs="+", default=["8", "32", "128", "full"])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=list(BACKENDS))
    args = parser.parse_args(argv)
    for task in args.tasks:
        run(task, args.sizes, args.backends)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
