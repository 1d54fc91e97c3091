"""Evidence for each prediction: offsets into the original text, linear weights, occlusion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxml.comments import (
    SentimentClassifier,
    ThemeClassifier,
    ThemeModel,
    ThemeSentimentClassifier,
    theme_pairs,
)
from cxml.comments.evidence import explain, occlusion_weights, token_weights
from cxml.contracts.outputs import EvidenceSpan, evidence_key
from cxml.data.synth import make_comments
from cxml.text.normalize import normalize_text, normalize_with_offsets
from cxml.text.tokenize import has_hangul, token_spans


@pytest.fixture(scope="module")
def models() -> tuple[SentimentClassifier, ThemeModel]:
    train = make_comments(400, lang="mixed", seed=3)
    small = {"max_features": 3000, "char_ngrams": (2, 4)}  # fast; word and char n-grams both
    sentiment = SentimentClassifier(params=small).fit(train["text"], train["sentiment"])
    pairs = theme_pairs(train["text"], train["theme_sentiment"])
    themes = ThemeModel(
        themes=ThemeClassifier(params=small, threshold=0.4).fit(train["text"], train["themes"]),
        sentiment=ThemeSentimentClassifier(params=small).fit(pairs, pairs["polarity"]),
    )
    return sentiment, themes


def _roughen(text: str, data: st.DataObject) -> str:
    """The text as customers type it: odd spaces, full-width letters, upper case, emoji."""
    pieces = text.split(" ")
    for k in range(len(pieces)):
        pieces[k] += data.draw(st.sampled_from([" ", "  ", "\n", "\u200b ", " 👍 ", "\t"]))
    text = "".join(pieces)
    if data.draw(st.booleans()):
        text = text.upper()
    if data.draw(st.booleans()):  # full-width forms, folded back by NFKC
        text = text.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    return data.draw(st.sampled_from(["", " ", "\u00a0"])) + text


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10_000), lang=st.sampled_from(["en", "ko"]), data=st.data())
def test_spans_slice_the_original_text_at_word_boundaries(
    models: tuple[SentimentClassifier, ThemeModel], seed: int, lang: str, data: st.DataObject
) -> None:
    sentiment, themes = models
    texts = [_roughen(t, data) for t in make_comments(4, lang=lang, seed=seed)["text"]]
    found = explain(sentiment, texts, sentiment.predict_frame(texts))
    for i, more in enumerate(explain(themes, texts, themes.predict_frame(texts))):
        found[i].update(more)
    for text, evidence in zip(texts, found, strict=True):
        assert evidence_key("sentiment") in evidence
        for spans in evidence.values():
            assert [s["weight"] for s in spans] == sorted(
                (s["weight"] for s in spans), reverse=True
            )
            for span in spans:
                start, end = span["start"], span["end"]
                assert 0 <= start < end <= len(text) and text[start:end] == span["text"]
                assert span["weight"] > 0 and span["text"] == span["text"].strip()
                assert not any(c.isspace() for c in span["text"])  # inside one word
                if not has_hangul(text):  # English words start and end where letters do
                    if span["text"][0].isalnum():
                        assert start == 0 or not text[start - 1].isalnum(), (text, span)
                    if span["text"][-1].isalnum():
                        assert end == len(text) or not text[end].isalnum(), (text, span)


def _words_in(text: str, span: EvidenceSpan) -> list[str]:
    """The model's tokens (in context: Kiwi restores ``왔`` as ``오`` + ``었``) inside ``span``."""
    aligned = normalize_with_offsets(text)
    assert aligned is not None
    normalized, offsets = aligned
    return [
        token
        for token, s, e in token_spans(normalized)
        if span["start"] <= offsets[s][0] and offsets[e - 1][1] <= span["end"]
    ]


def test_top_theme_span_holds_a_word_with_a_positive_coefficient(
    models: tuple[SentimentClassifier, ThemeModel],
) -> None:
    _, themes = models
    clf = themes.themes
    assert isinstance(clf, ThemeClassifier)
    backend = clf.backend_
    texts = make_comments(60, lang="mixed", seed=8)["text"].tolist()
    outputs = themes.predict_frame(texts)
    checked = 0
    for text, evidence in zip(texts, explain(themes, texts, outputs), strict=True):
        for key, spans in evidence.items():
            if not key.startswith("theme:") or not spans:
                continue
            column = list(clf.classes_).index(key.removeprefix("theme:"))
            coef = backend.head_.estimators_[column].coef_[0]
            ids = [backend.word_.vocabulary_.get(w) for w in _words_in(text, spans[0])]
            assert any(j is not None and coef[j] > 0 for j in ids), (text, key, spans[0])
            checked += 1
    assert checked >= 40


@pytest.mark.parametrize("word_ngrams", [(1, 1), (1, 2)])
def test_word_weights_and_intercept_add_up_to_the_logit(word_ngrams: tuple[int, int]) -> None:
    train = make_comments(300, lang="mixed", seed=4)
    params = {"char_ngrams": None, "word_ngrams": word_ngrams, "min_df": 1}
    clf = SentimentClassifier(params=params).fit(train["text"], train["sentiment"])
    backend = clf.backend_
    texts = make_comments(20, lang="mixed", seed=9)["text"].tolist()
    logits = backend.head_.decision_function(backend._features(texts))
    relative = logits - logits.mean(axis=1, keepdims=True)  # softmax sees differences only
    intercept = backend.head_.intercept_ - backend.head_.intercept_.mean()
    for column in range(len(clf.classes_)):
        weights = token_weights(backend, texts, [column] * len(texts))
        total = np.array([sum(w for _, _, w in row) for row in weights]) + intercept[column]
        np.testing.assert_allclose(total, relative[:, column], atol=1e-4)


def test_theme_sentiment_weights_use_the_theme_block() -> None:
    train = make_comments(300, lang="en", seed=6)
    pairs = theme_pairs(train["text"], train["theme_sentiment"])
    params = {"char_ngrams": None, "word_ngrams": (1, 1), "min_df": 1}
    clf = ThemeSentimentClassifier(params=params).fit(pairs, pairs["polarity"])
    backend = clf.backend_
    test = pairs.iloc[:15]
    design = backend._design(backend._features(test["text"].tolist()), test["theme"].to_numpy())
    logits = backend.head_.decision_function(design)
    relative = logits - logits.mean(axis=1, keepdims=True)
    intercept = backend.head_.intercept_ - backend.head_.intercept_.mean()
    n = backend._features(["x"]).shape[1]
    coef = backend.head_.coef_ - backend.head_.coef_.mean(axis=0)
    column = 0
    weights = token_weights(backend, test["text"].tolist(), [column] * 15, test["theme"].tolist())
    for row, (theme, found) in enumerate(zip(test["theme"], weights, strict=True)):
        onehot = coef[column, n + n * len(backend.aspects_) + backend.aspects_.index(theme)]
        total = sum(w for _, _, w in found) + intercept[column] + onehot
        assert total == pytest.approx(relative[row, column], abs=1e-4)


def test_occlusion_is_the_drop_in_the_models_own_probability(tiny_transformer: Path) -> None:
    train = make_comments(200, lang="en", seed=2)
    params = {"encoder": str(tiny_transformer)}
    clf = SentimentClassifier(backend="cxml.encoder_linear.v1", params=params).fit(
        train["text"], train["sentiment"]
    )
    texts = make_comments(5, lang="en", seed=12)["text"].tolist()
    outputs = clf.predict_frame(texts)
    found = explain(clf, texts, outputs)
    for text, label, evidence in zip(texts, outputs["sentiment"], found, strict=True):
        column = list(clf.classes_).index(label)
        for span in evidence["sentiment"]:
            assert text[span["start"] : span["end"]] == span["text"]
            left_out = text[: span["start"]] + text[span["end"] :]
            drop = clf.predict_proba([text])[0, column] - clf.predict_proba([left_out])[0, column]
            assert span["weight"] == pytest.approx(drop, abs=1e-5)


def test_occlusion_groups_words_of_long_comments_into_runs() -> None:
    text = " ".join(f"w{k}" for k in range(100))
    seen: list[int] = []

    def proba(texts: list[str], aspects: list[str] | None) -> np.ndarray:
        seen.append(len(texts))
        return np.column_stack([np.zeros(len(texts)), [t.count("w") / 100 for t in texts]])

    (weights,) = occlusion_weights(proba, [text], [1])
    assert seen == [35] and len(weights) == 34  # runs of 3 words: 33 of them and a last one
    assert [text[s:e] for s, e, _ in weights[:2]] == ["w0 w1 w2", "w3 w4 w5"]
    assert [round(w, 6) for _, _, w in weights] == [0.03] * 33 + [0.01]


@settings(max_examples=30, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40))
def test_normalize_with_offsets_agrees_with_normalize_text(text: str) -> None:
    aligned = normalize_with_offsets(text)
    if aligned is None:  # only when piecewise NFKC differs: then no spans, never wrong ones
        return
    normalized, offsets = aligned
    assert normalized == normalize_text(text) and len(offsets) == len(normalized)
    assert all(0 <= s < e <= len(text) for s, e in offsets)
    assert [s for s, _ in offsets] == sorted(s for s, _ in offsets)


def test_unknown_estimator_is_refused() -> None:
    with pytest.raises(ValueError, match="comment models"):
        explain(object(), ["hi"], pd.DataFrame({"themes": [[]]}))
