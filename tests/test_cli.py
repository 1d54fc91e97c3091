"""The command line end to end, as a user runs it: outputs, summaries and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from helpers import run_cli


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with synthetic data and a registered cxml-sentiment, made through the CLI."""
    folder = tmp_path_factory.mktemp("cli")
    import os

    old = Path.cwd()
    os.chdir(folder)
    try:
        done = run_cli(
            "data", "synth", "comments", "--n", "800", "--lang", "mixed", "--out", "train.jsonl"
        )
        assert done.returncode == 0, done.stderr
        assert "wrote 800 synthetic comments (mixed) to train.jsonl" in done.stdout
        done = run_cli("train", "sentiment", "--data", "train.jsonl", "--set", "split.seed=3")
        assert done.returncode == 0, done.stderr
        assert "registered cxml-sentiment v1 ['challenger', 'champion']" in done.stdout
    finally:
        os.chdir(old)
    return folder


@pytest.mark.slow
def test_analyze_maps_columns_writes_outputs_and_rejects(
    trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(trained)
    frame = pd.DataFrame(
        {
            "Ticket": ["a", "b", "c", "a"],
            "Customer Remarks": [
                "The courier was rude and late",
                "",
                "배송이 빨라서 좋았어요",
                "dup",
            ],
            "Region": ["north", "south", "east", "west"],
        }
    )
    frame.to_csv("remarks.csv", index=False, encoding="cp949")
    done = run_cli(
        "analyze",
        "comments",
        "remarks.csv",
        "--out",
        "scored.parquet",
        "--column",
        "text=Customer Remarks",
        "--column",
        "id=Ticket",
    )
    assert done.returncode == 0, done.stderr
    assert "scored 2 comments with cxml-sentiment/1" in done.stdout
    assert "2 rejects in scored.parquet.rejects.csv" in done.stdout
    scored = pd.read_parquet("scored.parquet")
    assert scored["id"].tolist() == ["a", "c"]
    assert scored["Region"].tolist() == ["north", "east"]
    assert scored["lang"].tolist() == ["en", "ko"]
    assert {"sentiment", "sentiment_score", "model_name", "model_version"} <= set(scored.columns)
    assert (scored["model_name"] == "cxml-sentiment").all() and (
        scored["model_version"] == "1"
    ).all()
    rejects = pd.read_csv("scored.parquet.rejects.csv")
    assert rejects["_row"].tolist() == [2, 4]
    assert rejects["_reason"].tolist() == [
        "text: empty text",
        "id: duplicate id, first seen on row 1",
    ]


@pytest.mark.slow
def test_labels_in_the_input_are_kept_beside_predictions(
    trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(trained)
    done = run_cli("-q", "analyze", "comments", "train.jsonl", "--out", "again.jsonl")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    first = json.loads(Path("again.jsonl").read_text().splitlines()[0])
    assert {"sentiment_input", "sentiment", "themes"} <= set(first)


@pytest.mark.slow
def test_models_list_and_promote(trained: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(trained)
    done = run_cli("models", "list")
    assert done.returncode == 0
    assert done.stdout.split("\n")[1].split()[:4] == [
        "cxml-sentiment",
        "1",
        "challenger,",
        "champion",
    ]
    done = run_cli("promote", "cxml-sentiment", "--version", "9")
    assert done.returncode == 2 and "cannot promote cxml-sentiment version 9" in done.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["train", "sentiment", "--data", "missing.csv"], 2, "missing.csv: no such file"),
        (
            ["train", "sentiment", "--set", "split.sead=1", "--data", "x.csv"],
            2,
            "split.sead: unknown key",
        ),
        (["train", "sentiment"], 2, "No training data"),
        (
            ["analyze", "comments", "x.csv", "--out", "o.csv", "--model", "nope"],
            2,
            "cannot load model 'nope': no MLflow store at ",
        ),
        (
            ["analyze", "comments", "x.csv", "--out", "o.csv", "--column", "text"],
            2,
            "expected FIELD=COLUMN",
        ),
        (["data", "synth", "reviews", "--out", "x.csv"], 2, "Invalid value"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(args: list[str], code: int, message: str) -> None:
    Path("x.csv").write_text("id,text\n1,hello\n")
    done = run_cli(*args)
    assert done.returncode == code, done.stderr
    assert message in done.stderr


def test_unknown_config_key_in_a_file(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("model:\n  backend: cxml.tfidf_linear.v1\n  parms: {}\n")
    done = run_cli("train", "sentiment", "--config", "c.yaml", "--data", "x.csv")
    assert done.returncode == 2
    assert "c.yaml" in done.stderr and "model.parms: unknown key" in done.stderr


@pytest.mark.slow
def test_too_little_data_exits_3() -> None:
    assert run_cli("data", "synth", "comments", "--n", "20", "--out", "few.csv").returncode == 0
    done = run_cli("train", "sentiment", "--data", "few.csv")
    assert done.returncode == 3
    assert "Too few examples" in done.stderr


def test_validate_reports_counts() -> None:
    Path("v.csv").write_text("id,text\n1,hello\n2,\n")
    done = run_cli("data", "validate", "v.csv", "--rejects", "r.csv")
    assert done.returncode == 0
    assert "2 rows: 1 good, 1 rejected (text: 1); rejects in r.csv" in done.stdout


def test_version_and_help() -> None:
    assert run_cli("--version").stdout.startswith("cxml ")
    done = run_cli("--help")
    assert done.returncode == 0 and "demo" in done.stdout and "analyze" in done.stdout


@pytest.mark.slow
def test_demo_runs_in_the_current_folder_only(tmp_path: Path) -> None:
    done = run_cli("demo", "--rows", "1500", timeout=600)
    assert done.returncode == 0, done.stderr
    assert "mlflow ui --backend-store-uri sqlite:///mlflow.db" in done.stderr
    written = sorted(p.name for p in tmp_path.iterdir() if p.name != ".cache")  # the test's cache
    assert written == ["cxml-demo", "mlflow.db", "mlruns"]
    scored = pd.read_csv(tmp_path / "cxml-demo" / "new_comments.scored.csv")
    assert len(scored) >= 200 and scored["model_version"].eq("1+1").all()
    assert scored["model_name"].eq("cxml-sentiment+cxml-themes").all()
    assert {"sentiment", "themes", "theme_scores", "theme_sentiment"} <= set(scored.columns)
    at_risk = pd.read_csv(tmp_path / "cxml-demo" / "open_tickets.scored.csv")
    assert at_risk["bad_rating_probability"].between(0, 1).all() and at_risk["at_risk"].any()
    assert (tmp_path / "cxml-demo" / "discovered" / "taxonomy.yaml").is_file()
    report = (tmp_path / "cxml-demo" / "report" / "report.html").read_text(encoding="utf-8")
    assert "Drivers" in report and "http://" not in report
    done = run_cli("models", "list")
    assert "cxml-sentiment  1        challenger, champion" in done.stdout
    assert "cxml-themes     1        challenger, champion" in done.stdout
    assert "cxml-csat       1        challenger, champion" in done.stdout
