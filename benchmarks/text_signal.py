"""The ticket model's text signal on its own: quality and speed of each text backend a CSAT
config can name, on the women's reviews (bad = rating 1-2).

    python -m benchmarks.text_signal [--only NAME ...]

For each candidate the text model is fitted on the benchmark's fixed 80 % split (text -> bad) and
judged on the other 20 %: ROC-AUC and average precision of its probability, batch rows/s, and the
milliseconds one text costs alone, as the service pays it (``predict_proba`` of one text under
``skip_parameter_validation``, as :class:`~cxml.tickets.features.TicketFeaturizer` calls it; median
and 99th percentile over 300 texts). Issue 15's bound: >= 1,000 rows/s, <= 3 ms one text.
Recorded as ``text_signal_womens (NAME)``.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np
from sklearn import config_context
from sklearn.metrics import average_precision_score, roc_auc_score

from benchmarks.distillation import one_text_ms
from benchmarks.tasks import data_dir, record, rounded, split
from cxml.catalog import backends

#: configs/csat_reviews.yaml's text model.
REVIEWS = {
    "backend": "cxml.encoder_linear.v1",
    "params": {"encoder": "use", "with_tfidf": True, "C": 2.0},
}
#: A student on word n-grams only (the character n-grams are most of TF-IDF's time).
WORDS_STUDENT = {"backend": "cxml.tfidf_linear.v1", "params": {"char_ngrams": None, "C": 64.0}}
CANDIDATES: dict[str, dict[str, Any]] = {
    "tfidf words (csat.yaml)": {
        "backend": "cxml.tfidf_linear.v1",
        "params": {"char_ngrams": None, "max_features": 50000},
    },
    "tfidf words+chars": {"backend": "cxml.tfidf_linear.v1", "params": {}},
    "use+tfidf (csat_reviews.yaml)": REVIEWS,
    "distilled use+tfidf": {"backend": "cxml.distilled.v1", "params": {"teacher": REVIEWS}},
    "distilled use+tfidf -> words": {
        "backend": "cxml.distilled.v1",
        "params": {"teacher": REVIEWS, "student": WORDS_STUDENT},
    },
}


def measure(spec: dict[str, Any], train: Any, test: Any) -> dict[str, float]:
    bad = train["rating"].astype(int).le(2).to_numpy()
    truth = test["rating"].astype(int).le(2).to_numpy()
    model = backends.get(spec["backend"]).build(spec["params"], random_state=0)
    started = time.perf_counter()
    model.fit(train["text"].to_numpy(dtype=object), bad)
    train_seconds = time.perf_counter() - started
    texts = test["text"].tolist()
    with config_context(assume_finite=True, skip_parameter_validation=True):
        started = time.perf_counter()
        proba = model.predict_proba(np.array(texts, dtype=object))[:, 1]
        rows_per_second = len(texts) / (time.perf_counter() - started)
        p50, p99 = one_text_ms(model, texts)
    return {
        "roc_auc": float(roc_auc_score(truth, proba)),
        "average_precision": float(average_precision_score(truth, proba)),
        "train_seconds": train_seconds,
        "rows_per_second": rows_per_second,
        "one_text_ms_p50": p50,
        "one_text_ms_p99": p99,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=list(CANDIDATES), default=list(CANDIDATES))
    args = parser.parse_args(argv)
    default = data_dir() / "womens_clothing" / "train.jsonl"
    train, test = split(argparse.Namespace(train=None, test=None), default, ["rating"], "rating")
    for name in args.only:
        figures = {k: rounded(v) for k, v in measure(CANDIDATES[name], train, test).items()}
        print(name, json.dumps(figures), flush=True)
        record(f"text_signal_womens ({name})", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
