"""The SetFit-style backend's pairs and its use as a distilled student (the backend matrix of
test_backends.py trains, reloads and predicts it)."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from cxml.catalog import backends
from cxml.comments.backends.contrastive import label_pairs
from cxml.comments.backends.distilled import agreement
from cxml.config import SentimentConfig, load_config
from cxml.data import write_table
from cxml.data.synth import make_comments
from cxml.training.sentiment import train_sentiment


@settings(max_examples=200, deadline=None)
@given(
    labels=arrays(np.bool_, st.tuples(st.integers(2, 30), st.integers(1, 5))),
    n_pairs=st.integers(1, 80),
    seed=st.integers(0, 2**16),
)
def test_pairs_target_the_label_overlap(labels: np.ndarray, n_pairs: int, seed: int) -> None:
    left, right, target = label_pairs(labels, n_pairs, np.random.default_rng(seed))
    assert len(left) == len(right) == len(target) == n_pairs
    assert ((left >= 0) & (left < len(labels)) & (right >= 0) & (right < len(labels))).all()
    both = (labels[left] & labels[right]).sum(1)
    either = (labels[left] | labels[right]).sum(1)
    expected = np.where(either > 0, both / np.maximum(either, 1), 1.0)
    np.testing.assert_allclose(target, expected, rtol=1e-6)
    positives = target[0::2]
    labelled = labels[left[0::2]].any(1)
    assert (positives[labelled] > 0).all()  # a labelled row's positive shares a label


def test_one_label_per_row_gives_half_positive_pairs() -> None:
    labels = np.eye(4, dtype=bool)[np.repeat(np.arange(4), 10)]
    _, _, target = label_pairs(labels, 400, np.random.default_rng(0))
    assert set(np.unique(target)) == {0.0, 1.0} and target.mean() == pytest.approx(0.5)


def test_a_contrastive_student_is_tuned_on_its_teachers_decisions(tiny_transformer: Path) -> None:
    frame = make_comments(500, lang="mixed", seed=21)
    texts, labels = frame["text"].to_numpy(dtype=object), frame["sentiment"].to_numpy(dtype=object)
    teacher = {"backend": "cxml.tfidf_linear.v1"}
    student = {
        "backend": "cxml.contrastive.v1",
        "params": {"model": str(tiny_transformer), "learning_rate": 3e-3, "max_pairs": 800},
    }
    spec = {"teacher": teacher, "student": student, "augment": 0}
    model = backends.get("cxml.distilled.v1").build(spec, random_state=0).fit(texts, labels)
    fast = backends.get("cxml.tfidf_linear.v1").build({}, random_state=0).fit(texts, labels)
    proba = model.predict_proba(texts)
    assert proba.shape == (len(texts), 3) and np.allclose(proba.sum(1), 1, atol=1e-5)
    majority = frame["sentiment"].value_counts(normalize=True).max()
    assert agreement(proba, fast.predict_proba(texts), multilabel=False) > majority + 0.1


def test_a_contrastive_model_trains_registers_and_reloads_through_mlflow(
    tiny_transformer: Path, tmp_path: Path
) -> None:
    data = write_table(make_comments(300, lang="mixed", seed=6), tmp_path / "train.jsonl")
    overrides = [
        "model.backend=cxml.contrastive.v1",
        f"model.params.model={tiny_transformer}",
        "model.params.max_pairs=400",
        "model.params.learning_rate=0.003",
    ]
    result = train_sentiment(load_config(SentimentConfig, None, overrides), data=data)
    assert result.registered is not None
    frame = pd.DataFrame({"text": ["The refund arrived quickly.", "배송이 너무 늦어요"]})
    out = mlflow.pyfunc.load_model("models:/cxml-sentiment/1").predict(frame)
    assert len(out) == 2 and set(out["sentiment"]) <= {"negative", "neutral", "positive"}
