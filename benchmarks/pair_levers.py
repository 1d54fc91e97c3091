"""Theme sentiment on SemEval-14: each lever of the pair fine-tuning recipe, measured alone.

    python -m benchmarks.pair_levers [LEVER ...] [--seed N]   # default: every lever, seed 0

Each lever fine-tunes MiniLM (``cxml.finetune.v1``, the recipe of ``configs/themes_accurate.yaml``
without its ensemble) on the (comment, theme) pairs of the benchmark's fixed 80 % split of
``semeval14_restaurants/train.jsonl`` and is judged on the gold pairs of the other 20 %. Figures
are recorded in results.json / RESULTS.md as ``semeval14_pairs (LEVER)``, or ``(LEVER, seed N)``.

The ``mams`` lever adds the pairs of MAMS's training file, mapped to SemEval-14's five themes
(:data:`MAMS_THEMES`; categories that map to one theme with both polarities become ``conflict``,
as SemEval-14 labels them), less any text also in the validation split; ``mams marked`` adds
them with a domain marker (:data:`MAMS_MARKER`) before each MAMS text, so that the model can
tell the two datasets apart and the SemEval-14 pairs it is judged on carry no marker;
``mams first`` fine-tunes in two stages instead: on the MAMS pairs alone, then from that model on
SemEval-14's (its training time is both stages').
SemEval-16 is left out: 1,098 of its 1,937 training texts are also in SemEval-14's training
file, so it likely holds SemEval-14 test sentences too, and a gain from it could be the test
leaking in. MAMS shares 46 of 3,149 texts with SemEval-14's training file.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import f1_score, recall_score

from benchmarks.tasks import data_dir, load, record, rounded, split
from cxml.comments import ThemeSentimentClassifier, theme_pairs
from cxml.comments.backends._pairs import QUESTION

#: The fine-tuning recipe every lever starts from (configs/themes_accurate.yaml's member).
BASE: dict[str, Any] = {"model": "minilm", "epochs": 8, "learning_rate": 5e-5, "batch_size": 16}
#: Lever name -> parameters changed from :data:`BASE` (``mams`` also adds data).
LEVERS: dict[str, dict[str, Any]] = {
    "baseline": {},
    "question": {"pair_template": QUESTION},
    "balanced": {"class_weight": "balanced"},
    "focal": {"focal_gamma": 2.0},
    "lr 3e-5": {"learning_rate": 3e-5},
    "lr 8e-5": {"learning_rate": 8e-5},
    "mams": {},
    "mams marked": {},
    "mams first": {},
}
#: Written before each MAMS text by the ``mams marked`` lever.
MAMS_MARKER = "[mams] "
#: MAMS's categories as SemEval-14's themes; ``place`` (location and venue) has none.
MAMS_THEMES = {
    "food": "food",
    "menu": "food",
    "staff": "service",
    "service": "service",
    "price": "price",
    "ambience": "ambience",
    "miscellaneous": "anecdotes/miscellaneous",
}


def coarse(labels: dict[str, str]) -> dict[str, str]:
    """MAMS labels on SemEval-14's themes: positive and negative together are ``conflict``,
    neutral gives way to either.

    >>> coarse({"food": "positive", "menu": "negative", "staff": "neutral", "place": "positive"})
    {'food': 'conflict', 'service': 'neutral'}
    """
    found: dict[str, set[str]] = {}
    for name, polarity in labels.items():
        theme = MAMS_THEMES.get(name)
        if theme is not None:
            found.setdefault(theme, set()).add(polarity)
    out = {}
    for theme, seen in found.items():
        if {"positive", "negative"} <= seen or "conflict" in seen:
            out[theme] = "conflict"
        else:
            out[theme] = next(iter(sorted(seen - {"neutral"})), "neutral")
    return out


def extra_pairs(exclude: set[str]) -> pd.DataFrame:
    """MAMS pairs on SemEval-14's themes, none with a text in ``exclude``."""
    rows = load(data_dir() / "mams_acsa" / "train.jsonl", ["theme_sentiment"])
    pairs = theme_pairs(rows["text"], [coarse(d or {}) for d in rows["theme_sentiment"]])
    return pairs[~pairs["text"].str.strip().str.lower().isin(exclude)].reset_index(drop=True)


def semeval_pairs() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The (text, theme, polarity) pairs of the fixed 80 % split and of the other 20 %."""
    args = argparse.Namespace(train=None, test=None)
    default = data_dir() / "semeval14_restaurants" / "train.jsonl"
    train, test = split(args, default, ["themes"], None)
    return (
        theme_pairs(train["text"], train["theme_sentiment"].map(lambda d: d or {})),
        theme_pairs(test["text"], test["theme_sentiment"].map(lambda d: d or {})),
    )


def _fit(pairs: pd.DataFrame, params: dict[str, Any], seed: int) -> ThemeSentimentClassifier:
    model = ThemeSentimentClassifier(backend="cxml.finetune.v1", params=params, random_state=seed)
    return model.fit(pairs[["text", "theme"]], pairs["polarity"].to_numpy(dtype=object))


def evaluate(
    pairs: pd.DataFrame, held: pd.DataFrame, params: dict[str, Any], seed: int
) -> dict[str, float]:
    """Fine-tune on ``pairs`` and judge on ``held``: accuracy, macro-F1, recalls, time."""
    started = time.perf_counter()
    model = _fit(pairs, params, seed)
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    predicted = model.predict(held[["text", "theme"]])
    predict_seconds = time.perf_counter() - started
    truth = held["polarity"].to_numpy(dtype=object)
    plain = truth != "conflict"
    classes = ["negative", "neutral", "positive", "conflict"]
    recalls = recall_score(truth, predicted, labels=classes, average=None, zero_division=0)
    return {
        "theme_sentiment_accuracy_4way": float((predicted == truth).mean()),
        "theme_sentiment_accuracy_3way": float((predicted[plain] == truth[plain]).mean()),
        "theme_sentiment_macro_f1": float(f1_score(truth, predicted, average="macro")),
        **{f"recall_{c}": float(r) for c, r in zip(classes, recalls, strict=True)},
        "train_pairs": float(len(pairs)),
        "test_pairs": float(len(held)),
        "train_seconds": train_seconds,
        "predict_pairs_per_second": len(held) / predict_seconds,
        "epochs_run": float(getattr(model.backend_, "epochs_run_", np.nan)),
    }


def run(lever: str, seed: int = 0) -> dict[str, float]:
    pairs, held = semeval_pairs()
    params = BASE | LEVERS[lever]
    if not lever.startswith("mams"):
        return evaluate(pairs, held, params, seed)
    added = extra_pairs(set(held["text"].str.strip().str.lower()))
    if lever == "mams marked":
        added["text"] = MAMS_MARKER + added["text"]
    if lever != "mams first":
        figures = evaluate(pd.concat([pairs, added], ignore_index=True), held, params, seed)
        return figures | {"extra_pairs": float(len(added))}
    with tempfile.TemporaryDirectory() as first:
        started = time.perf_counter()
        stage = _fit(added, BASE, seed).backend_
        stage.model_.save_pretrained(first)
        stage.tokenizer_.save_pretrained(first)
        stage_seconds = time.perf_counter() - started
        figures = evaluate(pairs, held, params | {"model": first}, seed)
    figures["train_seconds"] += stage_seconds  # both stages
    return figures | {"extra_pairs": float(len(added)), "first_stage_seconds": stage_seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("levers", nargs="*", help=f"any of {list(LEVERS)} (default: all)")
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="the model's seed (initial head, batch order, early-stopping slice)",
    )
    args = parser.parse_args(argv)
    levers = args.levers or list(LEVERS)
    unknown = sorted(set(levers) - set(LEVERS))
    if unknown:
        parser.error(f"unknown levers {unknown}; known: {list(LEVERS)}")
    for lever in levers:
        figures = {k: rounded(v) for k, v in run(lever, args.seed).items() if np.isfinite(v)}
        name = lever if args.seed == 0 else f"{lever}, seed {args.seed}"
        print(name, json.dumps(figures), flush=True)
        record(f"semeval14_pairs ({name})", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
