"""Reference profiles: their statistics on known cases, the JSON round trip, and the profile each
training pipeline stores with its model (read back from every kind of model URI)."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from helpers import in_folder
from mlflow import MlflowClient

from cxml.config import CsatConfig, SentimentConfig, ThemesConfig, load_config
from cxml.contracts.labels import SENTIMENTS, THEME_POLARITIES
from cxml.data.synth import make_comments, make_tickets
from cxml.errors import ModelLoadError
from cxml.monitoring import estimate, profile
from cxml.monitoring.inputs import DriftInputs, token_hashes
from cxml.monitoring.profile import (
    PROFILE_FILE,
    ReferenceProfile,
    build_profile,
    category_part,
    load_profile,
    number_part,
)
from cxml.tracking import load_model, log_model, register
from cxml.training.csat import train_csat
from cxml.training.sentiment import train_sentiment
from cxml.training.themes import train_themes

TICKETS = 1200
COMMENTS = 600


def _inputs(n: int, seed: int = 0) -> DriftInputs:
    rng = np.random.default_rng(seed)
    numbers = pd.DataFrame({"hours": rng.exponential(5.0, n), "flat": np.zeros(n)})
    numbers.loc[::10, "hours"] = np.nan
    lang = rng.choice(np.array(["en", "ko", None]), size=n, p=[0.6, 0.3, 0.1])
    categories = pd.DataFrame({"lang": lang}, dtype=object)
    words = np.array(["".join(w) for w in itertools.product("abcdefgh", repeat=3)])
    zipf = 1 / np.arange(1, len(words) + 1)
    texts = [" ".join(rng.choice(words, 6, p=zipf / zipf.sum())) for _ in range(n)]
    return DriftInputs(numbers, categories, token_hashes(texts))


# --- statistics on known cases ------------------------------------------------------------------


def test_number_part_is_numpys_percentiles_of_the_present_values() -> None:
    exact = number_part(np.arange(101.0))
    assert exact["quantiles"] == pytest.approx(np.arange(101.0), rel=1e-12)
    assert (exact["median"], exact["iqr"], exact["mean"]) == (50.0, 50.0, 50.0)
    assert exact["std"] == pytest.approx(np.std(np.arange(101.0)))
    values = np.random.default_rng(1).lognormal(size=333)
    values[:33] = np.nan
    part = number_part(values)
    present = values[33:]
    assert part["quantiles"] == pytest.approx(np.percentile(present, np.arange(101)), rel=1e-12)
    assert part["missing_share"] == pytest.approx(33 / 333)
    assert part["rows"] == 333
    assert part["iqr"] == pytest.approx(np.subtract(*np.percentile(present, [75, 25])))
    empty = number_part([math.nan, math.nan])
    assert empty["quantiles"] == [] and empty["median"] is None and empty["missing_share"] == 1.0


def test_category_part_keeps_the_top_30_and_folds_the_rest() -> None:
    # category k appears 45 - k times (k = 0..39), plus 10 missing: 1,030 rows
    values = [f"c{k:02d}" for k in range(40) for _ in range(45 - k)] + [None] * 10
    part = category_part(values)
    shares = part["shares"]
    assert part["rows"] == len(values) == 1030
    assert set(shares) == {f"c{k:02d}" for k in range(30)} | {"(other)", "(missing)"}
    assert shares["c00"] == 45 / 1030
    assert shares["(other)"] == pytest.approx(sum(45 - k for k in range(30, 40)) / 1030)
    assert shares["(missing)"] == 10 / 1030
    assert sum(shares.values()) == pytest.approx(1.0)
    assert list(shares.values()) == sorted(shares.values(), reverse=True)


def test_vocabulary_keeps_tokens_of_two_rows_and_caps_by_frequency(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tokens = [[5, 1], [1, 2], [2, 1], [9], [7, 5]]
    assert profile._vocabulary(tokens).tolist() == [1, 2, 5]
    monkeypatch.setattr(profile, "MAX_VOCABULARY", 2)
    assert profile._vocabulary(tokens).tolist() == [1, 2]  # 1 (3 rows), then 2 before 5 (ties)


def test_new_word_baseline_on_known_cases() -> None:
    same = [[1, 2, 3]] * 40
    vocabulary, oov = profile._vocabulary_and_oov(same, seed=0)
    assert vocabulary == [1, 2, 3] and oov is not None and oov["mean"] == 0.0
    unique = [[i] for i in range(40)]  # no word is seen twice: every word is new
    vocabulary, oov = profile._vocabulary_and_oov(unique, seed=0)
    assert vocabulary == [] and oov is not None and oov["mean"] == 1.0 and oov["rows"] == 20
    assert profile._vocabulary_and_oov([[], []], seed=0) == (None, None)


# --- build, JSON ---------------------------------------------------------------------------------


def test_build_profile_and_its_json_round_trip(tmp_path: Path) -> None:
    inputs = _inputs(500)
    p = np.random.default_rng(2).beta(2, 8, 500)
    outputs = pd.DataFrame(
        {"bad_rating_probability": p, "at_risk": p >= 0.4, "reasons": [["slow"]] * 500}
    )
    policy = {"threshold": 0.4, "expected_precision": 0.5, "expected_recall": 0.3}
    built = build_profile(
        "csat", inputs, outputs, {"val_roc_auc": 0.8, "val_nan": math.nan}, policy=policy
    )
    assert built.rows == 500 and built.task == "csat"
    assert set(built.numbers) == {"hours", "flat"} and set(built.categories) == {"lang"}
    assert built.numbers["hours"]["missing_share"] == pytest.approx(0.1)
    assert built.numbers["flat"]["iqr"] == 0.0
    assert sum(built.categories["lang"]["shares"].values()) == pytest.approx(1.0)
    assert set(built.predictions) == {"bad_rating_probability", "at_risk"}  # reasons not watched
    assert built.predictions["at_risk"]["shares"]["true"] == pytest.approx(np.mean(p >= 0.4))
    assert built.predictions["bad_rating_probability"]["mean"] == pytest.approx(p.mean())
    assert built.expected_roc_auc == estimate.expected_roc_auc(p)
    assert built.performance == {"val_roc_auc": 0.8}  # NaN left out: the JSON stays strict
    assert built.vocabulary is not None and built.vocabulary == sorted(set(built.vocabulary))
    assert built.oov is not None and 0 <= built.oov["mean"] < 0.5
    path = built.save(tmp_path / PROFILE_FILE)
    assert ReferenceProfile.load(path) == built
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == 1
    assert set(data) == {
        "format", "task", "rows", "created", "cxml_version", "categories", "numbers",
        "predictions", "vocabulary", "oov", "performance", "policy", "expected_roc_auc",
    }  # fmt: skip
    with pytest.raises(ValueError, match="format"):
        ReferenceProfile.from_dict({**data, "format": 99})


# --- stored by training --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A csat (refitted), a sentiment and a themes model trained on generated data, and
    ``old``: a sentiment model logged without a profile, as before profiles."""
    folder = tmp_path_factory.mktemp("profiles")
    with in_folder(folder):
        make_tickets(TICKETS, seed=41, open_share=0.05).to_csv("tickets.csv", index=False)
        comments = make_comments(COMMENTS, lang="mixed", seed=42)
        comments.to_json("comments.jsonl", orient="records", lines=True, force_ascii=False)
        train_csat(CsatConfig(), data="tickets.csv")
        sentiment = train_sentiment(SentimentConfig(), data="comments.jsonl")
        train_themes(ThemesConfig(), data="comments.jsonl")
        estimator = load_model(sentiment.model_uri).estimator
        with mlflow.start_run():
            uri = log_model(estimator, task="sentiment", input_example=comments[["text"]].head(2))
        register(uri, "old")
    return folder


def _metrics(run_id: str) -> dict[str, float]:
    return MlflowClient().get_run(run_id).data.metrics


def _valid(run_id: str) -> float:
    metrics = _metrics(run_id)
    return metrics["data.rows_read"] - metrics["data.rows_rejected"]


def _parts(part: dict[str, dict[str, object]]) -> None:
    for name, value in part.items():
        if "shares" in value:
            assert sum(value["shares"].values()) == pytest.approx(1.0), name  # type: ignore[attr-defined]
        else:
            q = np.asarray(value["quantiles"])
            assert len(q) == 101 and (np.diff(q) >= 0).all(), name


def test_csat_profile_is_the_newest_tickets_under_the_registered_policy(store: Path) -> None:
    with in_folder(store):
        loaded = load_profile("models:/cxml-csat@champion")
        model = load_model("models:/cxml-csat@champion")
        run_id = model.pyfunc.metadata.run_id
        metrics = _metrics(run_id)
        rated = _valid(run_id) - metrics["data.unrated_skipped"]
    assert loaded.task == "csat"
    newest = rated - round(0.8 * rated)  # the newest 20 %, cut to whole weeks
    assert newest / 2 < loaded.rows < newest
    assert {"channel", "category", "priority", "customer_tier", "lang"} <= set(loaded.categories)
    assert {"first_response_hours", "replies", "text_score"} <= set(loaded.numbers)
    _parts(loaded.categories)
    _parts(loaded.numbers)
    _parts(loaded.predictions)
    policy = model.estimator.flag_policy  # the refitted model's, not the evaluated one's
    assert loaded.policy == {
        "threshold": policy.threshold,
        "expected_precision": policy.expected_precision,
        "expected_recall": policy.expected_recall,
        "expected_flag_share": policy.expected_flag_share,
    }
    for key in ("val_roc_auc", "val_average_precision", "val_ece", "val_bad_rate"):
        assert loaded.performance[key] == pytest.approx(metrics[key])
    assert "train_seconds" not in loaded.performance
    mean = loaded.predictions["bad_rating_probability"]["mean"]
    assert mean == pytest.approx(loaded.performance["val_bad_rate"], abs=0.06)  # calibrated
    assert loaded.expected_roc_auc is not None
    assert abs(loaded.expected_roc_auc - loaded.performance["val_roc_auc"]) < 0.1
    assert loaded.vocabulary and loaded.oov is not None


def test_comment_profiles_hold_labels_languages_and_themes(store: Path) -> None:
    with in_folder(store):
        sentiment = load_profile("models:/cxml-sentiment/1")
        themes = load_profile("cxml-themes")
        model = load_model("cxml-themes")
        classes = model.estimator.themes.classes_
        valid = _valid(model.pyfunc.metadata.run_id)
    for loaded in (sentiment, themes):
        assert loaded.rows == math.ceil(0.2 * valid)  # the validation split
        assert set(loaded.categories) == {"lang"} and set(loaded.numbers) == {"text_chars"}
        assert {"en", "ko"} <= set(loaded.categories["lang"]["shares"])
        _parts(loaded.categories)
        _parts(loaded.numbers)
        _parts(loaded.predictions)
        assert loaded.policy is None and loaded.expected_roc_auc is None
    assert set(sentiment.predictions["sentiment"]["shares"]) <= set(SENTIMENTS)
    assert sentiment.predictions["sentiment_score"]["quantiles"][0] >= -1
    assert "val_macro_f1" in sentiment.performance
    assert set(themes.predictions["themes"]["shares"]) <= {*classes, "(none)"}
    assert set(themes.predictions["theme_sentiment"]["shares"]) <= set(THEME_POLARITIES)
    assert "val_theme_macro_f1" in themes.performance


def test_every_model_uri_reads_the_same_profile(store: Path, tmp_path: Path) -> None:
    with in_folder(store):
        alias = load_profile("models:/cxml-sentiment@champion")
        model = load_model("models:/cxml-sentiment/1")
        run_id = model.pyfunc.metadata.run_id
        by_run = load_profile(f"runs:/{run_id}/model")
        browse = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=f"monitoring/{PROFILE_FILE}", dst_path=str(tmp_path)
        )
        folder = mlflow.artifacts.download_artifacts(
            "models:/cxml-sentiment/1", dst_path=str(tmp_path / "model")
        )
    assert by_run == alias == ReferenceProfile.load(browse)
    assert load_profile(folder) == alias


def test_a_model_without_a_profile_says_to_retrain(store: Path, tmp_path: Path) -> None:
    with in_folder(store):
        with pytest.raises(ModelLoadError, match=r"^model old version 1 has no reference profile"):
            load_profile("models:/old@champion")
        folder = Path(
            mlflow.artifacts.download_artifacts("models:/old/1", dst_path=str(tmp_path / "old"))
        )
    with pytest.raises(ModelLoadError, match="retrain it") as caught:
        load_profile(str(folder))
    assert caught.value.reason == "model has no reference profile"
    (folder / "artifacts" / PROFILE_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelLoadError, match="unreadable reference profile"):
        load_profile(str(folder))


def test_kfold_sentiment_profiles_every_row_out_of_fold(store: Path) -> None:
    with in_folder(store):
        config = load_config(SentimentConfig, None, ["split.strategy=kfold", "split.folds=3"])
        result = train_sentiment(config, data="comments.jsonl")
        assert result.registered is not None
        loaded = load_profile(result.registered.uri)
        valid = _valid(result.run_id)
    assert loaded.rows == valid
