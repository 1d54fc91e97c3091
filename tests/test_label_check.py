"""The label check (cxml.training.label_check, ``cxml label check``): planted label errors found."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from cxml.config import SentimentConfig, ThemesConfig
from cxml.data.synth import make_comments
from cxml.training.label_check import ISSUE_COLUMNS, check_sentiment, check_themes, label_issues
from cxml.training.sentiment import train_sentiment
from tests.helpers import run_cli

FAST = {"word_ngrams": [1, 2], "char_ngrams": None, "min_df": 1}
SWAP = {"negative": "positive", "positive": "negative", "neutral": "negative"}


def _planted(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).choice(n, size=n // 10, replace=False)


def _precision_recall(flagged: np.ndarray, planted: np.ndarray) -> tuple[float, float]:
    hits = int(flagged[planted].sum())
    return hits / max(int(flagged.sum()), 1), hits / len(planted)


@pytest.fixture(scope="module")
def comments() -> pd.DataFrame:
    return make_comments(1000, seed=3)


def test_quality_is_self_confidence_and_planted_errors_ranked_first() -> None:
    rng = np.random.default_rng(0)
    proba = rng.dirichlet([0.3, 0.3, 0.3], size=300)
    given = proba.argmax(axis=1)
    given[:30] = (given[:30] + 1) % 3
    ranked, quality = label_issues(proba, given)
    # self-confidence (cleanlab's definition): the probability of the row's own label
    np.testing.assert_allclose(quality, proba[np.arange(300), given])
    # ranked lowest quality first; only rows the model disagrees with; mostly planted ones
    assert np.all(np.diff(quality[ranked]) >= 0)
    assert set(ranked) <= set(np.flatnonzero(proba.argmax(axis=1) != given))
    hits = len(set(ranked) & set(range(30)))
    assert hits >= 18
    assert hits >= 0.9 * len(ranked)


def test_planted_sentiment_flips_found(comments: pd.DataFrame) -> None:
    noisy = comments.copy()
    planted = _planted(len(noisy))
    noisy.loc[planted, "sentiment"] = noisy.loc[planted, "sentiment"].map(SWAP)
    config = SentimentConfig.model_validate({"model": {"params": FAST}})
    result = check_sentiment(noisy, config)
    precision, recall = _precision_recall(result.flagged, planted)
    # chance is 0.1 precision at any recall; the generated comments that mix praise and
    # complaint are labelled neutral and look mislabelled even without flips (7 % of rows), and
    # such a comment flipped to negative still looks right: a third of the flips are of these
    assert precision >= 0.45
    assert recall >= 0.4
    assert list(result.issues.columns) == ISSUE_COLUMNS
    assert result.issues["rank"].tolist() == list(range(1, len(result.issues) + 1))
    assert result.issues["quality"].is_monotonic_increasing
    assert result.share == pytest.approx(result.flagged.sum() / len(noisy))
    # the suggestion of a planted row is mostly its true label
    top = result.issues.merge(comments[["id", "sentiment"]], on="id")
    top = top[top["id"].isin(comments["id"].iloc[planted])]
    assert (top["suggested"] == top["sentiment"]).mean() >= 0.7


def test_planted_theme_swaps_found(comments: pd.DataFrame) -> None:
    noisy = comments.copy()
    names = sorted({t for row in comments["themes"] for t in row})
    planted = _planted(len(noisy), seed=1)
    rng = np.random.default_rng(2)
    themes = [list(t) for t in noisy["themes"]]
    for i in planted:
        absent = [t for t in names if t not in themes[i]]
        themes[i] = [*themes[i][1:], str(rng.choice(absent))]
    noisy["themes"] = themes
    config = ThemesConfig.model_validate({"model": {"params": FAST}})
    result = check_themes(noisy, config)
    precision, recall = _precision_recall(result.flagged, planted)
    assert precision >= 0.5
    assert recall >= 0.5
    given = result.issues.set_index("id")["given"]
    first = comments["id"].iloc[planted[0]]
    if first in given.index:
        assert given[first] == "|".join(sorted(themes[planted[0]]))


def test_training_excludes_flagged_rows(comments: pd.DataFrame, tmp_path: Path) -> None:
    noisy = comments.copy()
    planted = _planted(len(noisy))
    noisy.loc[planted, "sentiment"] = "positive"
    path = tmp_path / "noisy.jsonl"
    noisy.to_json(path, orient="records", lines=True)
    config = SentimentConfig.model_validate(
        {"labels": {"check": "exclude"}, "model": {"params": FAST}, "registry": {"enabled": False}}
    )
    result = train_sentiment(config, data=path)
    metrics = mlflow.get_run(result.run_id).data.metrics
    flagged = check_sentiment(noisy, config).flagged
    assert metrics["label_check.flagged"] == flagged.sum() > 0
    issues = mlflow.load_table("data/label_issues.json", run_ids=[result.run_id])
    assert "text" not in issues
    assert sorted(issues["id"]) == sorted(noisy["id"][flagged])


def test_cli_check_writes_ranked_issues_and_counts_rejects(comments: pd.DataFrame) -> None:
    noisy = comments.copy()
    planted = _planted(len(noisy))
    noisy.loc[planted, "sentiment"] = noisy.loc[planted, "sentiment"].map(SWAP)
    rows = noisy.to_dict("records")
    rows[5]["sentiment"] = "furious"  # not a sentiment label: rejected, with the reason
    with open("labelled.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, default=str) + "\n" for r in rows)
    done = run_cli(
        "label", "check", "labelled.jsonl", "--out", "issues.csv", "--set",
        "model.params.char_ngrams=null", "--rejects", "rejects.csv",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    issues = pd.read_csv("issues.csv", dtype={"id": str})
    assert list(issues.columns) == ISSUE_COLUMNS
    assert "999" in done.stderr
    assert f"{len(issues)} of 999 rows" in done.stdout
    assert len(pd.read_csv("rejects.csv")) == 1
    assert issues["id"].isin(noisy["id"].iloc[planted]).mean() >= 0.4

    themes = run_cli("label", "check", "labelled.jsonl", "--task", "themes", "--folds", "3")
    assert themes.returncode == 0, themes.stderr
    assert "(themes; 3-fold" in themes.stdout
    missing = run_cli("label", "check", "nope.jsonl")
    assert missing.returncode == 2
