"""Training runs, the registry and the one loader, on the embedded store."""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from mlflow import MlflowClient
from mlflow.pyfunc import scoring_server
from pydantic import BaseModel

from cxml.config import SentimentConfig, ThemesConfig, load_config
from cxml.data import write_table
from cxml.data.synth import make_comments
from cxml.errors import BadInputError, InsufficientDataError
from cxml.tracking import (
    data_fingerprint,
    list_models,
    load_model,
    promote,
    quiet_mlflow,
    training_run,
)
from cxml.training.sentiment import train_sentiment


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
    assert run.data.params["model.params.C"] == "4.0"  # the defaults, not "model.params: {}"
    assert run.data.params["data.path"] == str(train_file.resolve())  # --data, not None
    assert "model_version" not in run.data.params
    assert run.data.tags["cxml.task"] == "sentiment"
    assert run.data.tags["cxml.registered_name"] == "cxml-sentiment"
    assert run.data.tags["cxml.registered_version"] == "1"
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
    frame = pd.DataFrame({"text": ["The refund arrived quickly."]})
    for uri, version in [
        ("models:/cxml-sentiment/1", "1"),
        ("models:/cxml-sentiment@champion", "2"),
    ]:
        plain = mlflow.pyfunc.load_model(uri).predict(frame)  # no cxml loader in between
        assert (plain["model_name"][0], plain["model_version"][0]) == ("cxml-sentiment", version)


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
    with pytest.raises(BadInputError, match="model 'cxml-sentiment': no MLflow store at "):
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


def _logged_params(config: BaseModel, task: str, data: Path | None = None) -> dict[str, str]:
    with training_run(config, task=task, experiment="params", data=data) as run:
        pass
    return MlflowClient().get_run(run.info.run_id).data.params


def test_runs_log_the_effective_parameters_under_the_same_names(train_file: Path) -> None:
    shipped = Path(__file__).parents[1] / "configs"
    configs = [
        SentimentConfig(),
        load_config(SentimentConfig, shipped / "sentiment.yaml"),
        load_config(SentimentConfig, None, ["model.params.C=4"]),
    ]
    logged = [_logged_params(c, "sentiment", train_file) for c in configs]
    defaults, from_yaml, overridden = logged
    assert defaults["model.params.word_ngrams"] == "[1, 2]" and "model.params" not in defaults
    assert defaults.keys() == from_yaml.keys() == overridden.keys()
    model = [{k: v for k, v in p.items() if k.startswith("model.")} for p in logged]
    assert model[0] == model[1] == model[2]
    assert defaults["data.path"] == str(train_file.resolve())
    stacked = load_config(ThemesConfig, shipped / "themes_accurate.yaml")
    themes = _logged_params(stacked, "themes")
    finetuned, encoder = json.loads(themes["model.params.members"])  # nested defaults too
    assert set(finetuned["params"]) > {"model", "epochs", "learning_rate", "batch_size"}
    assert encoder["params"]["C"] == 4.0
    assert themes["data.path"] == "None"


def test_registered_version_reports_itself_where_mlflow_serves_it(
    train_file: Path, tmp_path: Path
) -> None:
    train_sentiment(SentimentConfig(), data=train_file)
    folder = mlflow.artifacts.download_artifacts(
        "models:/cxml-sentiment@champion", dst_path=str(tmp_path / "served")
    )
    server = scoring_server.init(scoring_server.load_model_with_mlflow_config(folder))
    body = {"dataframe_records": [{"text": "Delivery was late again."}]}
    answer = TestClient(server).post("/invocations", json=body)
    assert answer.status_code == 200, answer.text
    row = answer.json()["predictions"][0]
    assert (row["model_name"], row["model_version"]) == ("cxml-sentiment", "1")
    assert (load_model(folder).name, load_model(folder).version) == ("cxml-sentiment", "1")


def test_mlflow_is_quietened_only_inside_cxml_calls(
    train_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", raising=False)
    train_sentiment(SentimentConfig(), data=train_file)  # every import done: state settles
    mlflow_logger = logging.getLogger("mlflow")
    mlflow_logger.setLevel(logging.DEBUG)  # a user who wants MLflow's chatter in a notebook
    filters, environment = list(warnings.filters), dict(os.environ)
    model = load_model("cxml-sentiment")
    model.predict(pd.DataFrame({"text": ["The refund arrived quickly."]}))
    assert [m.version for m in list_models()] == ["1"]
    assert mlflow_logger.level == logging.DEBUG
    assert warnings.filters == filters and dict(os.environ) == environment
    with quiet_mlflow():
        with quiet_mlflow():  # nested blocks share one quiet period
            assert mlflow_logger.level == logging.WARNING
        assert mlflow_logger.level == logging.WARNING
        assert os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] == "false"
        assert warnings.filters[0][3].pattern == "mlflow"
    assert mlflow_logger.level == logging.DEBUG
    assert warnings.filters == filters and dict(os.environ) == environment


@pytest.mark.slow
def test_a_fine_tuned_models_epochs_are_logged_as_steps(
    tmp_path: Path, tiny_transformer: Path
) -> None:
    data = write_table(make_comments(160, lang="en", seed=12), tmp_path / "en.jsonl")
    params = {"model": str(tiny_transformer), "epochs": 2, "patience": 2, "learning_rate": 1e-3}
    config = SentimentConfig.model_validate(
        {"model": {"backend": "cxml.finetune.v1", "params": params}}
    )
    result = train_sentiment(config, data=data)
    client = MlflowClient()
    logged = client.get_run(result.run_id).data.metrics
    assert {"epoch.backend_.loss", "epoch.backend_.accuracy", "epoch.backend_.macro_f1"} <= set(
        logged
    )
    history = client.get_metric_history(result.run_id, "epoch.backend_.loss")
    assert [m.step for m in history] == [1, 2]
    assert all(m.value > 0 for m in history)
