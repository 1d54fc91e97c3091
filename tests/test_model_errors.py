"""Broken, missing and wrong models: a clear error naming the URI as given, never a new store."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import mlflow
import pytest
from helpers import in_folder, run_cli

from cxml.config import SentimentConfig, load_config
from cxml.data import write_table
from cxml.data.synth import make_comments
from cxml.errors import BadInputError, ModelLoadError, ModelNotFoundError
from cxml.scoring.batch import load_comment_models, load_ticket_model
from cxml.scoring.holder import ModelHolder
from cxml.tracking import list_models, load_model, promote
from cxml.training.sentiment import train_sentiment

#: A small, fast sentiment model (no Korean morphemes, no character n-grams).
FAST = ["model.params.morphemes=false", "model.params.char_ngrams=null"]


def _train(folder: Path) -> str:
    """Train and register a fast model in ``folder``'s store; returns its logged URI."""
    data = write_table(make_comments(300, lang="mixed", seed=7), folder / "train.jsonl")
    return train_sentiment(load_config(SentimentConfig, None, FAST), data=data).model_uri


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A registered sentiment model, downloaded to a local folder (trained once)."""
    folder = tmp_path_factory.mktemp("model")
    with in_folder(folder):
        uri = _train(folder)
        yield Path(mlflow.artifacts.download_artifacts(uri, dst_path=str(folder / "model")))


@pytest.fixture
def broken(model_folder: Path, tmp_path: Path) -> Path:
    """A copy of the model in ``./broken``, for a test to damage."""
    return Path(shutil.copytree(model_folder, tmp_path / "broken"))


def _truncate(path: Path, size: int) -> None:
    with path.open("r+b") as handle:
        handle.truncate(size)


@pytest.mark.parametrize("size", [0, 1000])
def test_a_truncated_estimator_is_named_as_such(broken: Path, size: int) -> None:
    """Where the cut falls decides what pickle raises (EOFError, or UnpicklingError inside a
    frame); either way the file is named as truncated, with pickle's own error."""
    _truncate(broken / "artifacts" / "estimator.joblib", size)
    with pytest.raises(ModelLoadError) as caught:
        load_model("broken")
    assert re.match(
        r"cannot load model 'broken': estimator\.joblib is truncated or corrupt "
        r"\((EOFError|UnpicklingError)",
        str(caught.value),
    )
    assert caught.value.reason == "estimator file is truncated or corrupt"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("flavors: [python_function\n", "its MLmodel file is not valid YAML (YAML error at line"),
        ("- just\n- a list\n", "its MLmodel file is not an MLflow model description"),
    ],
)
def test_a_garbage_mlmodel_is_bad_input(broken: Path, content: str, problem: str) -> None:
    (broken / "MLmodel").write_text(content)
    with pytest.raises(ModelLoadError) as caught:
        load_model("broken")
    assert str(caught.value).startswith(f"cannot load model 'broken': {problem}")
    assert caught.value.reason == "MLmodel file is corrupt"


def test_missing_folders_keep_the_path_as_typed(tmp_path: Path) -> None:
    for typed in (str(tmp_path / "nowhere"), "models/nowhere", "~/cxml-no-such-model"):
        with pytest.raises(ModelNotFoundError) as caught:
            load_model(typed)
        assert str(caught.value) == f"cannot load model {typed!r}: no such folder"
    assert not Path("mlflow.db").exists()


def test_a_lookup_never_creates_a_store() -> None:
    for uri in ("cxml-sentiment", "models:/cxml-sentiment/1", "runs:/0123abcd/model"):
        with pytest.raises(ModelNotFoundError, match=f"'{uri}': no MLflow store at .*mlflow.db"):
            load_model(uri)
    with pytest.raises(ModelNotFoundError, match="cannot promote 'cxml-sentiment': no MLflow"):
        promote("cxml-sentiment")
    assert list_models() == []
    with pytest.raises(BadInputError, match="no comment model is registered"):
        load_comment_models()
    assert sorted(p.name for p in Path.cwd().iterdir()) == []


def test_a_model_of_another_task_is_refused(model_folder: Path) -> None:
    with pytest.raises(ModelLoadError) as caught:
        load_ticket_model(str(model_folder))
    assert str(caught.value).endswith("it is a 'sentiment' model, not a 'csat' one")
    assert caught.value.reason == "it is a 'sentiment' model, not a 'csat' one"


def test_the_service_records_a_short_reason_without_paths(broken: Path, tmp_path: Path) -> None:
    _truncate(broken / "artifacts" / "estimator.joblib", 1000)
    (tmp_path / "garbage").mkdir()
    (tmp_path / "garbage" / "MLmodel").write_text("flavors: [\n")
    uris = {"sentiment": str(broken), "themes": str(tmp_path / "garbage"), "csat": "nothing/here"}
    holder = ModelHolder(uris)
    assert holder.refresh() == []
    errors = {task: status.error for task, status in holder.status.items()}
    assert errors == {
        "sentiment": "estimator file is truncated or corrupt",
        "themes": "MLmodel file is corrupt",
        "csat": "no such folder",
    }


@pytest.mark.slow
def test_a_broken_champion_is_reported_not_skipped(tmp_path: Path) -> None:
    _train(tmp_path)
    (estimator,) = Path("mlruns").glob("*/models/*/artifacts/artifacts/estimator.joblib")
    _truncate(estimator, 1000)
    with pytest.raises(ModelLoadError, match=r"@champion': estimator\.joblib is truncated"):
        load_comment_models()  # not skipped as if it were not registered


@pytest.mark.slow
def test_the_cli_exits_2_with_the_reason(broken: Path) -> None:
    _truncate(broken / "artifacts" / "estimator.joblib", 0)
    Path("s.csv").write_text("text\nThe parcel was late.\n")
    (Path("garbage")).mkdir()
    Path("garbage/MLmodel").write_text("flavors: [\n")
    for model, problem in [
        ("broken", "estimator.joblib is truncated or corrupt (EOFError)"),
        ("garbage", "its MLmodel file is not valid YAML"),
        ("/tmp/cxml-no-such-model", "no such folder"),
    ]:
        done = run_cli("-v", "analyze", "comments", "s.csv", "--model", model, "--out", "o.csv")
        assert done.returncode == 2, done.stderr
        assert f"error: cannot load model '{model}': {problem}" in done.stderr
        assert "Aborted" not in done.stderr and "unexpected failure" not in done.stderr
    assert not Path("mlflow.db").exists()
