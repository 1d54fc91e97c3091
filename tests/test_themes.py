"""Themes and theme-level sentiment: estimators, the training pipeline, the CLI and scoring."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import f1_score
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.utils.validation import NotFittedError

from cxml.comments import ThemeClassifier, ThemeModel, ThemeSentimentClassifier, theme_pairs
from cxml.comments.themes import tune_thresholds
from cxml.config import ThemesConfig
from cxml.data import write_table
from cxml.data.synth import make_comments
from cxml.errors import InsufficientDataError
from cxml.tracking import load_model
from cxml.training.themes import train_themes
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def comments() -> pd.DataFrame:
    return make_comments(1500, lang="mixed", seed=21)


@pytest.mark.slow
def test_themes_are_learned_in_english_and_korean(comments: pd.DataFrame) -> None:
    train, test = comments.iloc[:1200], comments.iloc[1200:]
    clf = ThemeClassifier(random_state=0).fit(train["text"], train["themes"])
    assert list(clf.classes_) == sorted({t for ts in train["themes"] for t in ts})
    assert clf.thresholds_.shape == clf.classes_.shape and not clf.at_least_one_
    truth = MultiLabelBinarizer(classes=clf.classes_).fit_transform(test["themes"])
    predicted = clf.predict(test["text"])
    for lang, floor in (("en", 0.85), ("ko", 0.7)):  # Korean: 30 % of 1,200 training rows
        rows = (test["lang"] == lang).to_numpy()
        assert f1_score(truth[rows], predicted[rows], average="micro") > floor, lang
    frame = clf.predict_frame(test["text"])
    assert list(frame.columns) == ["themes", "theme_scores"]
    assert set(frame["theme_scores"].iloc[0]) == set(clf.classes_)


def test_thresholds_and_at_least_one_theme() -> None:
    Y = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
    proba = np.array([[0.3, 0.1], [0.35, 0.2], [0.1, 0.8], [0.2, 0.7]])
    low, high = tune_thresholds(Y, proba)
    assert 0.2 < low <= 0.3 and 0.2 < high <= 0.7 and high > low
    texts = ["late parcel", "rude staff", "kind staff", "parcel lost"] * 5
    themes = [["delivery"], ["staff"], ["staff"], ["delivery"]] * 5
    clf = ThemeClassifier(params={"min_df": 1}, threshold=0.99).fit(texts, themes)
    assert clf.at_least_one_
    assert all(len(t) == 1 for t in clf.predict_themes(["something else entirely"] * 3))


def test_theme_classifier_contract_and_errors() -> None:
    clf = ThemeClassifier(threshold=0.4, params={"C": 2.0})
    assert clone(clf).get_params() == clf.get_params()
    with pytest.raises(NotFittedError):
        clf.predict(["x"])
    with pytest.raises(ValueError, match="'threshold' parameter"):
        ThemeClassifier(threshold=1.5).fit(["a", "b"], [["x"], ["y"]])
    with pytest.raises(ValueError, match="list of themes"):
        ThemeClassifier().fit(["a", "b"], ["x", "y"])
    with pytest.raises(ValueError, match="at least one theme"):
        ThemeClassifier().fit(["a", "b"], [[], []])


@pytest.mark.slow
def test_theme_sentiment_tells_themes_apart_in_one_comment(comments: pd.DataFrame) -> None:
    pairs = theme_pairs(comments["text"], comments["theme_sentiment"])
    clf = ThemeSentimentClassifier().fit(pairs.iloc[:1600], pairs["polarity"].iloc[:1600])
    assert set(clf.classes_) == {"negative", "neutral", "positive", "conflict"}
    held = pairs.iloc[1600:]
    assert (clf.predict(held) == held["polarity"]).mean() > 0.8
    mixed = held.groupby("row")["polarity"].transform("nunique") > 1
    assert (clf.predict(held[mixed]) == held["polarity"][mixed]).mean() > 0.7
    with pytest.raises(ValueError, match="'text' and 'theme'"):
        clf.predict(held["text"])
    with pytest.raises(ValueError, match="must be in"):
        ThemeSentimentClassifier().fit(pairs.iloc[:4], ["good", "bad", "good", "bad"])


@pytest.mark.slow
def test_theme_model_frame(comments: pd.DataFrame) -> None:
    train = comments.iloc[:1200]
    pairs = theme_pairs(train["text"], train["theme_sentiment"])
    model = ThemeModel(
        themes=ThemeClassifier(threshold=0.5).fit(train["text"], train["themes"]),
        sentiment=ThemeSentimentClassifier().fit(pairs, pairs["polarity"]),
    )
    out = model.predict_frame(pd.DataFrame({"text": comments["text"].iloc[1200:1300]}))
    assert list(out.columns) == ["themes", "theme_scores", "theme_sentiment"]
    assert all(set(s) == set(t) for s, t in zip(out["theme_sentiment"], out["themes"], strict=True))
    assert ThemeModel(themes=model.themes).predict_frame(["hello"])["theme_sentiment"][0] == {}


@pytest.mark.slow
def test_train_themes_logs_registers_and_scores(comments: pd.DataFrame, tmp_path: Path) -> None:
    path = write_table(comments, tmp_path / "train.jsonl")
    result = train_themes(ThemesConfig(), data=path)
    assert result.metrics["val_theme_micro_f1"] > 0.85
    assert result.metrics["val_theme_sentiment_accuracy"] > 0.75
    assert {"theme", "precision", "recall", "f1", "threshold", "tp", "fp"} <= set(result.per_label)
    assert result.registered is not None and result.registered.name == "cxml-themes"
    model = load_model("models:/cxml-themes@champion")
    assert model.task == "themes"
    out = model.predict(pd.DataFrame({"text": ["배송이 너무 늦었어요", "The refund came fast"]}))
    assert list(out.columns) == [
        "themes",
        "theme_scores",
        "theme_sentiment",
        "model_name",
        "model_version",
    ]
    assert "delivery" in out["themes"][0] and out["model_name"][0] == "cxml-themes"


@pytest.mark.slow
def test_kfold_and_refusal_of_scarce_themes(tmp_path: Path) -> None:
    frame = make_comments(400, lang="en", seed=2)
    config = ThemesConfig.model_validate({"split": {"strategy": "kfold", "folds": 3}})
    result = train_themes(config, data=write_table(frame, tmp_path / "a.jsonl"))
    assert 0.5 < result.metrics["val_theme_micro_f1"] <= 1
    frame["themes"] = [["delivery"]] * 395 + [["rare"]] * 5
    frame["theme_sentiment"] = [{}] * 400
    with pytest.raises(InsufficientDataError, match="to learn theme 'rare': 5"):
        train_themes(ThemesConfig(), data=write_table(frame, tmp_path / "b.jsonl"))


@pytest.mark.slow
def test_cli_trains_themes_and_analyze_adds_every_output(tmp_path: Path) -> None:
    write_table(make_comments(800, lang="mixed", seed=4), tmp_path / "train.jsonl")
    for task in ("themes", "sentiment"):
        done = run_cli("train", task, "--data", "train.jsonl", "--set", "split.seed=3")
        assert done.returncode == 0, done.stderr
        assert f"{task}: val" in done.stdout
    new = make_comments(50, lang="mixed", seed=5)[["id", "text"]]
    new.loc[3, "text"] = ""
    write_table(new, tmp_path / "new.csv")
    done = run_cli("analyze", "comments", "new.csv", "--out", "out.jsonl")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(rows) == 49
    expected = {"sentiment", "sentiment_score", "themes", "theme_scores", "theme_sentiment"}
    assert expected <= set(rows[0])
    assert rows[0]["model_name"] == "cxml-sentiment+cxml-themes"
    assert (tmp_path / "out.jsonl.rejects.csv").exists()
    done = run_cli("analyze", "comments", "new.csv", "--out", "t.csv", "-m", "cxml-themes")
    assert done.returncode == 0 and "sentiment" not in pd.read_csv(tmp_path / "t.csv")


@pytest.mark.slow
def test_thresholds_come_from_the_backends_own_holdout(
    comments: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_refits(*args: object) -> None:
        raise AssertionError("trained the backend again to tune thresholds")

    monkeypatch.setattr(ThemeClassifier, "_out_of_fold", no_refits)
    members = [{"backend": "cxml.tfidf_linear.v1"}, {"backend": "cxml.spacy_textcat.v1"}]
    clf = ThemeClassifier(backend="cxml.ensemble.v1", params={"members": members})
    clf.fit(comments["text"].iloc[:800], comments["themes"].iloc[:800])
    index, proba = clf.backend_.holdout_
    assert proba.shape == (len(index), len(clf.classes_))
    assert not np.allclose(clf.thresholds_, 0.5)
