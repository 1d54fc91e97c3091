"""Distillation on the airline tweets' sentiment: the teacher, its student, and the fast model
trained on the labels alone (``configs/sentiment.yaml``), each with accuracy, macro-F1 and speed.

    python -m benchmarks.distillation [--teacher-config configs/sentiment_accurate.yaml]

The teacher is the model of ``--teacher-config`` (default: the accurate sentiment preset, TF-IDF
and multilingual USE stacked); the student is ``cxml.distilled.v1`` with its defaults (TF-IDF at
C=64 on the teacher's probabilities over the training tweets and 2 word-dropped copies of each).
All three use the benchmark's fixed 80/20 split of ``airline_tweets/train.jsonl``. ``agreement``
is the share of validation tweets where student and teacher predict the same class;
``one_text_ms`` is the time to predict one tweet alone (what one service request pays). Recorded as
``distillation_airline`` in results.json / RESULTS.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.tasks import ROOT, data_dir, record, rounded, sentiment_figures, split
from cxml.config import SentimentConfig, load_config

KEPT = (
    "sentiment_accuracy",
    "sentiment_macro_f1",
    "train_seconds",
    "predict_rows_per_second",
    "one_text_ms_p50",
    "one_text_ms_p99",
)


def one_text_ms(model: Any, texts: list[str], n: int = 300) -> tuple[float, float]:
    """Median and 99th percentile milliseconds of ``predict_proba`` on one text at a time (what
    one request to the service pays), over ``n`` texts after 20 to warm up."""
    for text in texts[:20]:
        model.predict_proba([text])
    times = []
    for text in texts[20 : 20 + n]:
        started = time.perf_counter()
        model.predict_proba([text])
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times)), float(np.percentile(times, 99))


def _config(backend: str, params: dict[str, Any]) -> SentimentConfig:
    return SentimentConfig.model_validate({"model": {"backend": backend, "params": params}})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--teacher-config", default=str(ROOT / "configs" / "sentiment_accurate.yaml")
    )
    args = parser.parse_args()
    teacher = load_config(SentimentConfig, Path(args.teacher_config), [])
    default = data_dir() / "airline_tweets" / "train.jsonl"
    split_args = argparse.Namespace(train=None, test=None)
    train, test = split(split_args, default, ["sentiment"], "sentiment")
    spec = {"backend": teacher.model.backend, "params": teacher.model.params}
    runs = {
        "teacher": teacher,
        "student": _config("cxml.distilled.v1", {"teacher": spec}),
        "fast model on labels": load_config(SentimentConfig, ROOT / "configs/sentiment.yaml", []),
    }
    figures: dict[str, float] = {}
    kept: dict[str, dict[str, Any]] = {}
    for name, config in runs.items():
        kept[name] = {}
        result = sentiment_figures(train, test, config, kept[name])
        result["one_text_ms_p50"], result["one_text_ms_p99"] = one_text_ms(
            kept[name]["model"], test["text"].tolist()
        )
        for key in KEPT:
            figures[f"{name}: {key}"] = result[key]
        print(name, {k: round(v, 4) for k, v in result.items()}, flush=True)
    agree = kept["teacher"]["sentiment"] == kept["student"]["sentiment"]
    figures["agreement"] = float(np.mean(agree))
    record("distillation_airline", {k: rounded(v) for k, v in figures.items()})
    for key, value in figures.items():
        print(f"  {key:<50} {value:,.4f}")


if __name__ == "__main__":
    main()
