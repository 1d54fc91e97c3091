"""Training runs, the registry and the one loader, on the embedded store."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient

from cxml.config import SentimentConfig, load_config
from cxml.data import write_table
from cxml.data.synth import make_comments
from cxml.errors import BadInputError, InsufficientDataError
from cxml.tracking import data_fingerprint, load_model, promote
from training.sentiment import train_sentiment


@pytest.fixture
def train_file(tmp_path: Path) -> Path:
    return write_table(make_comments(600, lang="mixed", seed=11), tmp_path / "train.jsonl")


def test_training_logs_everything_and_registers_challenger(train_file: Path) -> None:
    result = train_sentiment(SentimentConfig(), data=train_file)
    assert Path("mlflow.db").exists()
    run = MlflowClient().get_run(result.run_id)
    assert run.data.metrics["val_accuracy"] > 0.7
    assert run.data.params["data.train.rows"] == "600"
    assert run.data.params["model.backend"] == "cxml.tfidf_linear.v1"
    assert run.data.tags["cxml.task"] == "sentiment"
    assert run.data.tags["mlflow.source.git.commit"]
    artifacts = {a.path for a in MlflowClient().list_artifacts(result.run_id)}
    assert {"config.yaml", "environment", "evaluation", "data"} <= artifacts
    evaluation = {a.path for a in MlflowClient().list_artifacts(result.run_id, "evaluation")}
    assert {"evaluation/confusion.png", "evaluation/calibration.png"} <= evaluation
    fingerprint = json.loads(
        Path(
            mlflow.artifacts.download_artifacts(
                f"runs:/{result.run_id}/data/train_fingerprint.json"
            )
        ).read_text()
    )
    assert fingerprint["rows"] == 600 and set(fingerprint["label_counts"]) == {
        "negative",
        "neutral",
        "positive",
    }
    assert result.registered is not None
    assert result.registered.name == "cxml-sentiment"
    assert set(result.registered.aliases) == {"champion", "challenger"}


def test_second_version_is_challenger_until_promoted(train_file: Path) -> None:
    train_sentiment(SentimentConfig(), data=train_file)
    second = train_sentiment(
        load_config(SentimentConfig, None, ["model.params.C=1.0"]), data=train_file
    )
    assert second.registered is not None and second.registered.aliases == ("challenger",)
    assert load_model("cxml-sentiment").version == "1"
    promoted = promote("cxml-sentiment")
    assert promoted.version == "2" and "champion" in promoted.aliases
    assert load_model("models:/cxml-sentiment@champion").version == "2"


def test_every_uri_form_loads_the_same_model(train_file: Path, tmp_path: Path) -> None:
    result = train_sentiment(SentimentConfig(), data=train_file)
    local = mlflow.artifacts.download_artifacts(result.model_uri, dst_path=str(tmp_path / "export"))
    frame = pd.DataFrame({"text": ["The refund arrived quickly, thank you.", "환불이 너무 늦어요"]})
    outputs = {}
    for uri in (
        "cxml-sentiment",
        "models:/cxml-sentiment@challenger",
        "models:/cxml-sentiment/1",
        f"runs:/{result.run_id}/model",
        result.model_uri,
        local,
    ):
        model = load_model(uri)
        assert model.task == "sentiment" and model.name == "cxml-sentiment"
        out = model.predict(frame)
        assert list(out.columns) == ["sentiment", "sentiment_score", "model_name", "model_version"]
        outputs[uri] = out["sentiment_score"].tolist()
    assert len({tuple(v) for v in outputs.values()}) == 1
    assert load_model("models:/cxml-sentiment/1").predict(frame)["model_version"][0] == "1"


def test_logged_model_has_signature_and_generated_example(train_file: Path) -> None:
    result = train_sentiment(SentimentConfig(), data=train_file)
    info = mlflow.models.get_model_info(result.model_uri)
    inputs = {c["name"]: c for c in info.signature.inputs.to_dict()}
    assert inputs["text"]["required"] and not inputs["lang"]["required"]
    outputs = [c["name"] for c in info.signature.outputs.to_dict()]
    assert outputs == ["sentiment", "sentiment_score", "model_name", "model_version"]


def test_missing_models_and_bad_uris_are_clear() -> None:
    with pytest.raises(BadInputError, match="model 'models:/cxml-sentiment@champion' not found"):
        load_model("cxml-sentiment")
    with pytest.raises(BadInputError, match="expected models:/NAME@ALIAS"):
        load_model("s3:/bucket/x")
    Path("empty").mkdir()
    with pytest.raises(BadInputError, match="not an MLflow model folder"):
        load_model("empty")


def test_too_few_examples_are_refused(tmp_path: Path) -> None:
    frame = make_comments(200, seed=2)
    frame.loc[frame["sentiment"] == "neutral", "sentiment"] = "positive"
    frame.loc[frame.index[:3], "sentiment"] = "neutral"
    path = write_table(frame, tmp_path / "few.jsonl")
    with pytest.raises(
        InsufficientDataError, match=r"Too few examples to learn label 'neutral': 3"
    ):
        train_sentiment(SentimentConfig(), data=path)


def test_labels_from_rating(tmp_path: Path) -> None:
    frame = make_comments(400, seed=4).drop(columns=["sentiment"])
    path = write_table(frame, tmp_path / "rated.csv")
    config = load_config(
        SentimentConfig, None, ["labels.from_rating=true", "registry.enabled=false"]
    )
    result = train_sentiment(config, data=path)
    assert result.registered is None
    assert set(result.per_label["label"]) == {"negative", "neutral", "positive"}


def test_fingerprint_is_stable_and_sensitive() -> None:
    frame = make_comments(50, seed=1)
    same = data_fingerprint(frame.copy(), label="sentiment")
    assert data_fingerprint(frame, label="sentiment") == same
    edited = frame.copy()
    edited.loc[3, "text"] = edited.loc[3, "text"] + "!"
    assert data_fingerprint(edited, label="sentiment")["sha256"] != same["sha256"]
