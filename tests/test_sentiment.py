"""SentimentClassifier: the scikit-learn contract and learning from generated comments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils.validation import NotFittedError

from cxml.comments import SentimentClassifier
from cxml.data.synth import make_comments
from cxml.errors import ConfigError


@pytest.fixture(scope="module")
def comments() -> pd.DataFrame:
    return make_comments(1500, lang="mixed", seed=3)


@pytest.mark.slow
def test_learns_english_and_korean_sentiment(comments: pd.DataFrame) -> None:
    train, test = comments.iloc[:1200], comments.iloc[1200:]
    clf = SentimentClassifier(random_state=0).fit(train["text"], train["sentiment"])
    assert list(clf.classes_) == ["negative", "neutral", "positive"]
    proba = clf.predict_proba(test["text"])
    assert proba.shape == (300, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    for lang in ("en", "ko"):
        rows = test["lang"] == lang
        accuracy = (clf.predict(test.loc[rows, "text"]) == test.loc[rows, "sentiment"]).mean()
        assert accuracy > 0.75, (lang, accuracy)


def test_score_and_output_frame(comments: pd.DataFrame) -> None:
    clf = SentimentClassifier().fit(comments["text"][:600], comments["sentiment"][:600])
    out = clf.predict_frame(pd.DataFrame({"text": comments["text"][600:650]}))
    assert list(out.columns) == ["sentiment", "sentiment_score"]
    assert out["sentiment_score"].between(-1, 1).all()
    neg = out["sentiment"] == "negative"
    assert (out.loc[neg, "sentiment_score"] < 0).all()


def test_binary_labels_work() -> None:
    texts = ["love it", "great stuff", "awful", "terrible, slow"] * 5
    labels = ["positive", "positive", "negative", "negative"] * 5
    clf = SentimentClassifier(params={"min_df": 1}).fit(texts, labels)
    assert list(clf.classes_) == ["negative", "positive"]
    assert clf.predict_frame(["love it"])["sentiment_score"][0] > 0


@pytest.mark.slow
def test_sklearn_contract(comments: pd.DataFrame) -> None:
    clf = SentimentClassifier(params={"C": 2.0}, random_state=1)
    assert clone(clf).get_params() == clf.get_params()
    with pytest.raises(NotFittedError):
        clf.predict(["hello"])
    search = GridSearchCV(clf, {"params": [{"C": 0.5}, {"C": 4.0}]}, cv=2, n_jobs=1)
    search.fit(comments["text"][:400], comments["sentiment"][:400])
    assert search.best_params_["params"]["C"] in (0.5, 4.0)
    assert clf.__sklearn_tags__().input_tags.string


def test_bad_labels_inputs_and_params_are_named() -> None:
    with pytest.raises(ValueError, match=r"must be in \['negative', 'neutral', 'positive'\]"):
        SentimentClassifier().fit(["a", "b"], ["good", "bad"])
    with pytest.raises(ValueError, match="at least two different labels"):
        SentimentClassifier().fit(["a", "b"], ["positive", "positive"])
    with pytest.raises(ValueError, match="expected strings"):
        SentimentClassifier().fit(["a", None], ["positive", "negative"])
    with pytest.raises(ConfigError, match="max_iterations"):
        SentimentClassifier(params={"max_iterations": 5}).fit(["a", "b"], ["positive", "negative"])


def test_kfold_training_reports_out_of_fold_figures() -> None:
    """Regression: k-fold training failed (cross_val_predict encoded the labels as integers)."""
    from cxml.config import SentimentConfig
    from cxml.data import write_table
    from cxml.training.sentiment import train_sentiment

    data = write_table(make_comments(400, lang="mixed", seed=8), "train.jsonl")
    config = SentimentConfig.model_validate({"split": {"strategy": "kfold", "folds": 3}})
    result = train_sentiment(config, data=data)
    assert 0.5 < result.metrics["val_accuracy"] <= 1.0
    assert set(result.per_label["label"]) == {"negative", "neutral", "positive"}
