"""Champion against challenger: ``cxml evaluate``, ``cxml promote --if-better``, ``cxml retrain``.

Two sentiment models of known unequal quality (150 against 1,500 training comments) are compared
on comments neither saw; the paired figures are checked against scikit-learn and scipy.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from helpers import in_folder, run_cli
from mlflow import MlflowClient
from scipy.stats import binomtest, chi2
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

from cxml.config import CsatConfig, SentimentConfig, load_config
from cxml.contracts.tickets import ticket_inputs
from cxml.data.synth import make_comments, make_tickets
from cxml.tracking import configure, load_model
from cxml.training.compare import (
    DEFAULT_MARGIN,
    GATE_EXPERIMENT,
    Comparison,
    PairedTest,
    Scored,
    compare_models,
)
from cxml.training.retrain import DEFAULT_HOLDOUT, retrain
from cxml.training.sentiment import train_sentiment

NAME = "cxml-sentiment"
#: The weak model's 150 comments have few of some labels.
FEW = ["labels.min_examples=3"]


def _comments(path: str, n: int, seed: int) -> pd.DataFrame:
    frame = make_comments(n, lang="en", seed=seed)
    frame.to_json(path, orient="records", lines=True, force_ascii=False)
    return frame


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``cxml-sentiment`` v1 (weak, 150 comments) and v2 (strong, 1,500), and ``fresh.jsonl``:
    800 labelled comments neither saw, plus two rows that are rejected (no text)."""
    folder = tmp_path_factory.mktemp("gate")
    with in_folder(folder):
        _comments("small.jsonl", 150, seed=2)
        _comments("big.jsonl", 1500, seed=1)
        fresh = make_comments(800, lang="en", seed=3)
        fresh = pd.concat([fresh, fresh.head(2).assign(text="  ")], ignore_index=True)
        fresh.to_json("fresh.jsonl", orient="records", lines=True, force_ascii=False)
        train_sentiment(load_config(SentimentConfig, None, FEW), data="small.jsonl")
        train_sentiment(SentimentConfig(), data="big.jsonl")
    return folder


def _aliases(champion: str, challenger: str) -> MlflowClient:
    configure()
    client = MlflowClient()
    client.set_registered_model_alias(NAME, "champion", champion)
    client.set_registered_model_alias(NAME, "challenger", challenger)
    return client


def _champion(client: MlflowClient) -> str:
    return str(client.get_model_version_by_alias(NAME, "champion").version)


def _gate_run(run_id: str) -> pd.Series:
    runs = mlflow.search_runs(experiment_names=[GATE_EXPERIMENT])
    assert isinstance(runs, pd.DataFrame)
    run = runs.set_index("run_id").loc[run_id]
    assert isinstance(run, pd.Series)
    return run


def test_the_decision_is_non_inferiority_by_the_margin() -> None:
    one = Scored("models:/m/1", "m", "1", {})

    def decide(ci_low: float, margin: float = DEFAULT_MARGIN) -> bool:
        test = PairedTest("roc_auc", "DeLong", 0.8, 0.79, -0.01, ci_low, 0.01, 0.3)
        return Comparison("csat", "f", 10, 0, 10, one, one, (test,)).decide(margin).promote

    assert decide(-DEFAULT_MARGIN)  # exactly the margin worse at worst: not worse than allowed
    assert not decide(-DEFAULT_MARGIN - 1e-9)
    assert decide(-0.04, margin=0.05) and not decide(-0.04, margin=0.03)
    assert not decide(float("nan"))  # no interval, no evidence


@pytest.mark.slow
def test_evaluate_tests_the_difference_on_the_same_rows(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store)
    config = SentimentConfig()
    comparison = compare_models(
        "sentiment", "fresh.jsonl", f"models:/{NAME}/1", f"models:/{NAME}/2", config=config
    )
    assert (comparison.rows_read, comparison.rows_rejected, comparison.rows_used) == (802, 2, 800)
    fresh = pd.read_json("fresh.jsonl", lines=True).head(800)
    y = fresh["sentiment"].to_numpy(dtype=object)
    predicted = [
        load_model(f"models:/{NAME}/{v}").predict(fresh[["text", "lang"]])["sentiment"].to_numpy()
        for v in ("1", "2")
    ]
    macro, accuracy = comparison.tests
    assert (macro.metric, macro.test) == ("macro_f1", "paired bootstrap")
    assert macro.champion == pytest.approx(f1_score(y, predicted[0], average="macro"))
    assert macro.challenger == pytest.approx(f1_score(y, predicted[1], average="macro"))
    assert macro.diff == pytest.approx(macro.challenger - macro.champion)
    assert 0 < macro.ci_low < macro.diff < macro.ci_high  # ten times the data is better
    assert comparison.champion.metrics["accuracy"] == pytest.approx(accuracy_score(y, predicted[0]))
    right = [p == y for p in predicted]
    b, c = int((right[0] & ~right[1]).sum()), int((~right[0] & right[1]).sum())
    exact = b + c < 25
    p = binomtest(b, b + c).pvalue if exact else chi2.sf((abs(b - c) - 1) ** 2 / (b + c), 1)
    assert (accuracy.metric, accuracy.test) == ("accuracy", "McNemar")
    assert accuracy.p_value == pytest.approx(p) and accuracy.p_value < 0.01
    assert comparison.decide().promote
    swapped = compare_models(
        "sentiment", "fresh.jsonl", f"models:/{NAME}/2", f"models:/{NAME}/1", config=config
    )
    assert swapped.primary.diff == pytest.approx(-macro.diff)
    assert not swapped.decide().promote


@pytest.mark.slow
def test_evaluate_prints_a_table_or_json_and_exits_0(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store)
    _aliases(champion="1", challenger="2")
    done = run_cli("evaluate", "sentiment", "--data", "fresh.jsonl", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["champion"]["version"] == "1" and result["challenger"]["version"] == "2"
    assert result["rows_used"] == 800 and result["rows_rejected"] == 2
    assert [t["metric"] for t in result["tests"]] == ["macro_f1", "accuracy"]
    assert result["tests"][1]["ci_low"] is None  # McNemar gives no interval
    assert result["decision"]["promote"] is True
    models = ("--model", f"models:/{NAME}/2", "--model", f"models:/{NAME}@champion")
    done = run_cli("evaluate", "sentiment", "--data", "fresh.jsonl", *models)
    assert done.returncode == 0, done.stderr
    assert "challenger v1" in done.stdout and "macro_f1" in done.stdout
    assert "would keep the champion" in done.stdout
    assert run_cli("evaluate", "sentiment", "--data", "fresh.jsonl", "-m", "x").returncode == 2


@pytest.mark.slow
def test_promote_if_better_refuses_a_worse_challenger(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store)
    client = _aliases(champion="2", challenger="1")
    done = run_cli("promote", NAME, "--if-better", "--data", "fresh.jsonl")
    assert done.returncode == 3, done.stderr
    assert "kept champion cxml-sentiment v2" in done.stdout
    assert _champion(client) == "2"
    tags = client.get_model_version(NAME, "1").tags
    assert tags["cxml.gate.decision"] == "keep"
    run = _gate_run(tags["cxml.gate.run_id"])
    assert run["tags.cxml.gate.decision"] == "keep"
    assert run["params.gate.challenger_version"] == "1"
    assert run["params.gate.champion_version"] == "2"
    assert run["metrics.macro_f1.ci_low"] < -DEFAULT_MARGIN
    assert run["metrics.gate.promote"] == 0


@pytest.mark.slow
def test_promote_if_better_moves_the_champion_to_a_better_challenger(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store)
    client = _aliases(champion="1", challenger="2")
    done = run_cli("promote", "sentiment", "--if-better", "--data", "fresh.jsonl", "--margin", "0")
    assert done.returncode == 0, done.stderr
    assert "promoted cxml-sentiment v2 to champion" in done.stdout
    assert _champion(client) == "2"
    tags = client.get_model_version(NAME, "2").tags
    run = _gate_run(tags["cxml.gate.run_id"])
    assert run["tags.cxml.gate.decision"] == "promote" and run["params.gate.margin"] == "0.0"
    assert run["metrics.macro_f1.diff"] > 0 and run["metrics.rows_used"] == 800
    again = run_cli("promote", NAME, "--if-better", "--data", "fresh.jsonl")
    assert again.returncode == 0 and "already champion" in again.stdout


@pytest.mark.slow
def test_promote_options_that_go_with_if_better() -> None:
    done = run_cli("promote", NAME, "--data", "x.csv")
    assert done.returncode == 2 and "--if-better" in done.stderr
    done = run_cli("promote", NAME, "--if-better")
    assert done.returncode == 2 and "--data" in done.stderr
    helps = run_cli("retrain", "--help").stdout + run_cli("promote", "--help").stdout
    assert f"default: {DEFAULT_MARGIN}" in helps and f"default: {DEFAULT_HOLDOUT}" in helps


@pytest.mark.slow
def test_retrain_exit_codes_first_champion_promoted_kept() -> None:
    _comments("small.jsonl", 150, seed=2)
    _comments("big.jsonl", 1500, seed=1)
    _comments("fresh.jsonl", 600, seed=3)
    few = ("--set", FEW[0])
    done = run_cli("retrain", "sentiment", "--data", "small.jsonl", *few)
    assert done.returncode == 0, done.stderr
    assert "no champion yet: cxml-sentiment v1 is now champion" in done.stdout
    done = run_cli("retrain", "sentiment", "--data", "big.jsonl")
    assert done.returncode == 0, done.stderr
    assert "promoted cxml-sentiment v2 to champion" in done.stdout
    assert "the newest 20% of the training data, held out" in done.stderr
    configure()
    client = MlflowClient()
    run = _gate_run(client.get_model_version(NAME, "2").tags["cxml.gate.run_id"])
    assert run["metrics.rows_used"] == 300  # the newest 20 % of 1,500: never trained on
    training = mlflow.get_run(str(client.get_model_version(NAME, "2").run_id)).data
    assert training.metrics["data.held_out_for_gate"] == 300
    assert training.params["data.train.rows"] == "1200"  # what it trained on, fingerprinted
    done = run_cli(
        "retrain", "sentiment", "--data", "small.jsonl", "--eval-data", "fresh.jsonl", *few
    )
    assert done.returncode == 3, done.stderr
    assert "kept champion cxml-sentiment v2" in done.stdout
    assert _champion(client) == "2"
    assert str(client.get_model_version_by_alias(NAME, "challenger").version) == "3"
    done = run_cli("retrain", "sentiment", "--data", "big.jsonl", "--eval-data", "big.jsonl")
    assert done.returncode == 2 and "rows it trained on" in done.stderr
    assert len(client.search_model_versions(f"name='{NAME}'")) == 3  # refused before training


@pytest.mark.slow
def test_retrain_csat_judges_on_the_newest_tickets_by_delong() -> None:
    tickets = make_tickets(1500, seed=5)
    tickets.to_csv("tickets.csv", index=False)
    weak = ["features.text=null", "features.categorical=[]", "features.counts=[]"]
    first = retrain("csat", "tickets.csv", config=load_config(CsatConfig, None, weak))
    assert first.gate is None and first.promoted
    result = retrain("csat", "tickets.csv", config=CsatConfig(), margin=0.5)
    assert result.gate is not None and result.promoted
    comparison = result.gate.comparison
    newest = tickets.sort_values("created_at", kind="stable").tail(300)
    assert comparison.rows_used == 300 == round(1500 * DEFAULT_HOLDOUT)
    y = newest["rating"].isin([1, 2]).to_numpy(dtype=int)
    auc, ap = comparison.tests
    assert (auc.metric, auc.test, ap.metric) == ("roc_auc", "DeLong", "average_precision")
    for version, value in (("1", auc.champion), ("2", auc.challenger)):
        model = load_model(f"models:/cxml-csat/{version}")
        p = model.predict(ticket_inputs(newest))["bad_rating_probability"]
        assert value == pytest.approx(roc_auc_score(y, p))
    assert auc.ci_low < auc.diff < auc.ci_high
    assert np.isfinite(auc.p_value) and 0 <= ap.p_value <= 1


def test_themes_micro_f1_is_tested_on_resampled_rows() -> None:
    from cxml.training.compare import _themes

    truth = pd.Series([["a"], ["a", "b"], ["b"], []] * 10)
    champion = pd.DataFrame({"themes": [["a"], ["a"], [], []] * 10})
    perfect = pd.DataFrame({"themes": truth})
    metrics, (test,) = _themes(truth, champion, perfect, 200)
    # champion: 2 true positives, 0 false, 2 missed of every 4 rows: F1 = 4 / 6
    assert test.champion == pytest.approx(4 / 6) == metrics[0]["micro_f1"]
    assert test.challenger == 1.0 and test.diff == pytest.approx(1 / 3)
    assert test.metric == "micro_f1" and test.ci_low <= test.diff <= test.ci_high
    assert test.ci_low > 0 and test.p_value < 0.05
    _, (same,) = _themes(truth, champion, champion, 200)
    assert (same.diff, same.ci_low, same.ci_high, same.p_value) == (0.0, 0.0, 0.0, 1.0)
