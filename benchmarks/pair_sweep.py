"""Theme sentiment on SemEval-14: the pair fine-tuning's learning rate and epochs, cross-validated.

    python -m benchmarks.pair_sweep [--rates 3e-5 5e-5 8e-5] [--epochs 4] [--folds 3]

The (comment, theme) pairs of the benchmark's fixed 80 % split are cut into ``--folds`` folds by
comment (the pairs of one comment stay in one fold, and each fold has the polarities' shares).
For each learning rate, :data:`~benchmarks.pair_levers.BASE`'s recipe is fine-tuned on the other
folds for ``--epochs`` epochs with no early stopping, and every epoch is judged on the fold left
out (``FineTuned.history_``). An epoch count is an epoch of that schedule (the learning rate decays
to zero at the last epoch, not at the one judged). Each rate is recorded as
``semeval14_pairs_cv (lr R)``: the folds' mean 4-way accuracy and macro-F1 after each epoch, and
those of the epoch early stopping would have kept (the lowest validation loss).

The (rate, epochs) with the best mean accuracy is then fine-tuned on the whole 80 % split (early
stopping off; of those epochs the one with the lowest loss on the recipe's 10 % slice is kept,
as the backend always does) and judged on the other 20 % like the levers of
:mod:`benchmarks.pair_levers`: ``semeval14_pairs (cv choice: lr R, E epochs)``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from benchmarks.pair_levers import BASE, evaluate, semeval_pairs
from benchmarks.tasks import record, rounded
from cxml.catalog import backends


def cross_validate(pairs: pd.DataFrame, rate: float, epochs: int, folds: int) -> dict[str, float]:
    """Each epoch's mean accuracy and macro-F1 over the folds, and those of the lowest-loss one."""
    cuts = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=0)
    X = pairs[["text", "theme"]].rename(columns={"theme": "aspect"})
    y = pairs["polarity"].to_numpy(dtype=object)
    params = BASE | {"learning_rate": rate, "epochs": epochs, "patience": epochs}
    histories = []
    for fold, (fit_idx, held_idx) in enumerate(cuts.split(X, y, groups=pairs["text"])):
        model = backends.get("cxml.finetune.v1").build(params, random_state=0)
        model.fit(X.iloc[fit_idx], y[fit_idx], eval_set=(X.iloc[held_idx], y[held_idx]))
        histories.append(model.history_)
        print(f"lr {rate:g} fold {fold}:", json.dumps(model.history_), flush=True)
    figures: dict[str, float] = {}
    for epoch in range(epochs):
        for metric in ("accuracy", "macro_f1"):
            figures[f"{metric}_epoch_{epoch + 1}"] = float(
                np.mean([h[epoch][metric] for h in histories])
            )
    kept = [min(h, key=lambda entry: entry["loss"]) for h in histories]
    figures["accuracy_lowest_loss"] = float(np.mean([k["accuracy"] for k in kept]))
    figures["macro_f1_lowest_loss"] = float(np.mean([k["macro_f1"] for k in kept]))
    figures["epoch_lowest_loss"] = float(np.mean([k["epoch"] for k in kept]))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[3e-5, 5e-5, 8e-5])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--folds", type=int, default=3)
    args = parser.parse_args(argv)
    train, test = semeval_pairs()
    best: tuple[float, float, int] = (-1.0, 0.0, 0)
    for rate in args.rates:
        figures = cross_validate(train, rate, args.epochs, args.folds)
        print(f"lr {rate:g}", json.dumps(figures), flush=True)
        record(f"semeval14_pairs_cv (lr {rate:g})", {k: rounded(v) for k, v in figures.items()})
        for epoch in range(1, args.epochs + 1):
            best = max(best, (figures[f"accuracy_epoch_{epoch}"], rate, epoch))
    _, rate, epochs = best
    chosen: dict[str, Any] = {"learning_rate": rate, "epochs": epochs, "patience": epochs}
    figures = evaluate(train, test, BASE | chosen, seed=0)
    name = f"cv choice: lr {rate:g}, {epochs} epochs"
    print(name, json.dumps(figures), flush=True)
    record(f"semeval14_pairs ({name})", {k: rounded(v) for k, v in figures.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
