"""The fine-tuning recipe's parts: the pair's second sentence, class weights and focal loss."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.utils.class_weight import compute_class_weight

from cxml.comments import theme_pairs
from cxml.comments.backends._losses import balanced_weights, imbalance_loss
from cxml.comments.backends._pairs import QUESTION, aspect_sentence, check_template
from cxml.comments.backends.finetune import FineTuned
from cxml.data.synth import make_comments


@pytest.mark.parametrize(
    ("aspect", "template", "sentence"),
    [
        ("food", "{aspect}", "food"),
        (
            "anecdotes/miscellaneous",
            QUESTION,
            "what do you think of the anecdotes or miscellaneous of it?",
        ),
        ("RESTAURANT#GENERAL", "{words}", "restaurant general"),
        ("delivery_speed", "the {words} ({aspect})", "the delivery speed (delivery_speed)"),
        ("배송", QUESTION, "what do you think of the 배송 of it?"),
    ],
)
def test_the_second_sentence_of_a_pair(aspect: str, template: str, sentence: str) -> None:
    assert aspect_sentence(aspect, template) == sentence


@pytest.mark.parametrize("template", ["", "no field", "{theme}", "{aspect} {0}", "{aspect"])
def test_templates_name_the_aspect_and_nothing_else(template: str) -> None:
    with pytest.raises(ValueError, match="pair template"):
        check_template(template)


def test_balanced_weights_are_scikit_learns() -> None:
    codes = np.array([0] * 50 + [1] * 30 + [2] * 5 + [3] * 1)
    expected = compute_class_weight("balanced", classes=np.arange(4), y=codes)
    np.testing.assert_allclose(balanced_weights(codes, 4), expected)
    assert balanced_weights(np.array([0, 0, 2]), 3)[1] == 1.0  # a class never seen


class _Out(dict):
    @property
    def logits(self) -> torch.Tensor:
        return self["logits"]


def test_weighted_loss_is_pytorchs_weighted_cross_entropy() -> None:
    torch.manual_seed(0)
    logits, labels = torch.randn(12, 4), torch.randint(0, 4, (12,))
    weights = np.array([0.5, 1.0, 3.0, 8.0])
    plain = imbalance_loss(None, 0.0, multilabel=False)(_Out(logits=logits), labels)
    torch.testing.assert_close(plain, torch.nn.functional.cross_entropy(logits, labels))
    weighted = imbalance_loss(weights, 0.0, multilabel=False)(_Out(logits=logits), labels)
    expected = torch.nn.functional.cross_entropy(
        logits, labels, weight=torch.as_tensor(weights, dtype=torch.float32)
    )
    torch.testing.assert_close(weighted, expected)


def test_focal_loss_discounts_rows_already_right() -> None:
    logits = torch.tensor([[4.0, 0.0, 0.0], [0.0, 4.0, 0.0]])
    labels = torch.tensor([0, 0])  # the first row right and sure, the second wrong
    per_row = [
        imbalance_loss(None, 2.0, multilabel=False)(
            _Out(logits=logits[k : k + 1]), labels[k : k + 1]
        )
        for k in range(2)
    ]
    ce = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    p = torch.softmax(logits, dim=-1)[:, 0]
    torch.testing.assert_close(torch.stack(per_row), ce * (1 - p) ** 2)
    assert per_row[0] / ce[0] < 0.01 < 0.9 < per_row[1] / ce[1]


def test_multilabel_loss_weights_each_labels_positives() -> None:
    torch.manual_seed(1)
    logits, labels = torch.randn(10, 3), (torch.rand(10, 3) > 0.7).float()
    weights = balanced_weights(labels.numpy(), 3)
    loss = imbalance_loss(weights, 0.0, multilabel=True)(_Out(logits=logits), labels)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="none")
    scale = torch.where(labels > 0, torch.as_tensor(weights, dtype=torch.float32), 1.0)
    torch.testing.assert_close(loss, (bce * scale).sum() / scale.sum())
    plain = imbalance_loss(None, 0.0, multilabel=True)(_Out(logits=logits), labels)
    torch.testing.assert_close(plain, bce.mean())


@pytest.mark.slow
def test_a_weighted_focal_question_pair_model_trains_and_reloads(
    tiny_transformer: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = make_comments(160, lang="en", seed=6)
    pairs = theme_pairs(frame["text"], frame["theme_sentiment"]).rename(columns={"theme": "aspect"})
    model = FineTuned(
        model=str(tiny_transformer),
        epochs=2,
        learning_rate=1e-3,
        pair_template=QUESTION,
        class_weight="balanced",
        focal_gamma=2.0,
        random_state=0,
    )
    seen: list[Any] = []
    original = FineTuned._loss

    def spy(self: FineTuned, targets: np.ndarray) -> Any:
        seen.append(original(self, targets))
        return seen[-1]

    monkeypatch.setattr(FineTuned, "_loss", spy)
    model.fit(pairs[["text", "aspect"]], pairs["polarity"].to_numpy(dtype=object))
    monkeypatch.undo()
    assert seen and seen[0] is not None  # the trainer got the weighted focal loss
    # the question reaches the tokenizer at prediction, as in training
    held = pd.DataFrame({"text": ["the courier was late"], "aspect": ["delivery"]})
    asked: list[Any] = []
    tokenizer = model.tokenizer_

    def spy_tokenizer(texts: Any, second: Any, **kwargs: Any) -> Any:
        asked.append(second)
        return tokenizer(texts, second, **kwargs)

    model.tokenizer_ = spy_tokenizer
    proba = model.predict_proba(held)
    assert asked == [["what do you think of the delivery of it?"]]
    model.tokenizer_ = tokenizer
    again = pickle.loads(pickle.dumps(model))
    assert (again.pair_template, again.class_weight, again.focal_gamma) == (
        QUESTION,
        "balanced",
        2.0,
    )
    np.testing.assert_allclose(again.predict_proba(held), proba, atol=1e-6)


@pytest.mark.slow
def test_an_eval_set_is_evaluated_each_epoch_and_all_rows_are_trained_on(
    tiny_transformer: Path,
) -> None:
    frame = make_comments(120, lang="en", seed=7)
    pairs = theme_pairs(frame["text"], frame["theme_sentiment"]).rename(columns={"theme": "aspect"})
    train, held = pairs.iloc[: len(pairs) // 2], pairs.iloc[len(pairs) // 2 :]
    held = held[held["polarity"].isin(set(train["polarity"]))]
    model = FineTuned(model=str(tiny_transformer), epochs=3, patience=3, learning_rate=1e-3)
    model.fit(
        train[["text", "aspect"]],
        train["polarity"].to_numpy(dtype=object),
        eval_set=(held[["text", "aspect"]], held["polarity"].to_numpy(dtype=object)),
    )
    assert not hasattr(model, "holdout_")  # nothing of the training rows was held out
    assert [round(h["epoch"]) for h in model.history_] == [1, 2, 3]
    best = min(model.history_, key=lambda h: h["loss"])  # the epoch whose weights were kept
    predicted = model.classes_[model.predict_proba(held[["text", "aspect"]]).argmax(1)]
    assert best["accuracy"] == pytest.approx((predicted == held["polarity"]).mean())
    unseen = (held[["text", "aspect"]].head(1), np.array(["furious"], dtype=object))
    with pytest.raises(ValueError, match="furious"):
        model.fit(train[["text", "aspect"]], train["polarity"].to_numpy(dtype=object), unseen)


@pytest.mark.slow
def test_fine_tuning_goes_on_from_a_fine_tuned_folder(
    tiny_transformer: Path, tmp_path: Path
) -> None:
    frame = make_comments(80, lang="en", seed=9)
    first = FineTuned(model=str(tiny_transformer), epochs=1, learning_rate=1e-3)
    first.fit(frame["text"], frame["sentiment"])
    first.model_.save_pretrained(tmp_path / "stage")
    first.tokenizer_.save_pretrained(tmp_path / "stage")
    assert first.model_.config.id2label == dict(enumerate(first.classes_))  # self-describing
    texts = frame["text"].head(5).to_numpy(dtype=object)
    again = FineTuned(model=str(tmp_path / "stage"), epochs=1, learning_rate=1e-12)
    again.fit(frame["text"], frame["sentiment"])  # the same labels: the head carries on
    np.testing.assert_allclose(again.predict_proba(texts), first.predict_proba(texts), atol=1e-4)
    themes = (frame["themes"].str.len() > 1).map({True: "many", False: "one"})
    other = FineTuned(model=str(tmp_path / "stage"), epochs=1).fit(frame["text"], themes)
    assert other.predict_proba(texts).shape == (5, 2)  # another number of labels: a fresh head
