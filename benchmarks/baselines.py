"""The plain baseline of ARCHITECTURE.md on the same splits as ``run.py``: TF-IDF (word 1-2 +
char 2-5) and a linear SVM, nothing of cxml's own but the readers.

    python -m benchmarks.baselines TASK      # semeval14, semeval16, mams, nsmc or airline

Records its figures as ``TASK (plain TF-IDF + SVM)`` in RESULTS.md, so each task's table has the
baseline measured on the same validation split beside cxml's figures.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline, make_pipeline, make_union
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.svm import LinearSVC

from benchmarks import tasks  # the same data, split and recording
from cxml.comments import theme_pairs

FOLDERS = {
    "semeval14": "semeval14_restaurants",
    "semeval16": "semeval16_restaurants",
    "mams": "mams_acsa",
    "nsmc": "nsmc",
    "airline": "airline_tweets",
}


def _svm(estimator: LinearSVC | OneVsRestClassifier) -> Pipeline:
    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
    )
    return make_pipeline(features, estimator)


def themes(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, float]:
    binarizer = MultiLabelBinarizer().fit(train["themes"])
    model = _svm(OneVsRestClassifier(LinearSVC())).fit(
        train["text"], binarizer.transform(train["themes"])
    )
    truth, predicted = binarizer.transform(test["themes"]), model.predict(test["text"])
    return {
        "theme_micro_f1": float(f1_score(truth, predicted, average="micro", zero_division=0)),
        "theme_macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
    }


def pairs(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, float]:
    fit = theme_pairs(train["text"], train["theme_sentiment"])
    held = theme_pairs(test["text"], test["theme_sentiment"])
    model = _svm(LinearSVC()).fit(fit["theme"] + " " + fit["text"], fit["polarity"])
    hit = model.predict(held["theme"] + " " + held["text"]) == held["polarity"].to_numpy()
    plain = (held["polarity"] != "conflict").to_numpy()
    return {
        "theme_sentiment_accuracy_4way": float(hit.mean()),
        "theme_sentiment_accuracy_3way": float(hit[plain].mean()),
    }


def sentiment(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, float]:
    model = _svm(LinearSVC()).fit(train["text"], train["sentiment"])
    predicted = model.predict(test["text"])
    return {
        "sentiment_accuracy": float(accuracy_score(test["sentiment"], predicted)),
        "sentiment_macro_f1": float(f1_score(test["sentiment"], predicted, average="macro")),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("task", choices=sorted(FOLDERS))
    args = parser.parse_args(argv)
    args.train = args.test = None
    default = tasks.data_dir() / FOLDERS[args.task] / "train.jsonl"
    if args.task in ("nsmc", "airline"):
        train, test = tasks.split(args, default, ["sentiment"], "sentiment")
        figures = sentiment(train, test)
        if args.task == "airline":
            for frame in (train, test):
                frame["themes"] = frame["themes"].map(lambda t: t if isinstance(t, list) else [])
            figures |= themes(train, test)
    else:
        train, test = tasks.split(args, default, ["themes"], None)
        figures = tasks.pair_keys(args.task, themes(train, test) | pairs(train, test))
    figures = {k: round(v, 4) for k, v in figures.items() if np.isfinite(v)}
    for key, value in figures.items():
        print(f"  {key:<32} {value:.4f}")
    tasks.record(f"{args.task} (plain TF-IDF + SVM)", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
