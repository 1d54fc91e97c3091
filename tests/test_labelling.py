"""The labelling loop: uncertainty and diversity sampling, Label Studio / Argilla round trips with
hostile exports, agreement against published values, and the CLI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import entropy
from sklearn.metrics import cohen_kappa_score

from cxml.comments import SentimentClassifier, ThemeClassifier
from cxml.comments.theme_model import ThemeModel
from cxml.comments.theme_sentiment import ThemeSentimentClassifier, theme_pairs
from cxml.contracts.fields import COMMENTS
from cxml.data import read_valid
from cxml.data.synth import make_comments
from cxml.labelling import argilla, label_studio
from cxml.labelling.agreement import cohen_kappa, krippendorff_alpha
from cxml.labelling.annotations import ImportSummary, polarity_name, resolve_items
from cxml.labelling.select import (
    entropy_uncertainty,
    margin_uncertainty,
    pick_diverse,
    select_comments,
    theme_uncertainty,
)
from cxml.tracking.loader import LoadedModel
from cxml.tracking.pyfunc import CxmlModel
from tests.helpers import in_folder, run_cli

# --- uncertainty and diversity ---------------------------------------------------------------


def test_uncertainty_measures_known_values() -> None:
    proba = np.array([[0.6, 0.3, 0.1], [1 / 3, 1 / 3, 1 / 3], [0.0, 1.0, 0.0]])
    assert margin_uncertainty(proba) == pytest.approx([0.7, 1.0, 0.0])
    expected = [entropy(p) / np.log(3) for p in proba]  # scipy's Shannon entropy, normalised
    assert entropy_uncertainty(proba) == pytest.approx(expected)
    # thresholds 0.5 and 0.2: 0.35 is 0.3 of the way from 0.5 to 0 -> 0.7; 0.6 is 0.5 of the way
    # from 0.2 to 1 -> 0.5; a row takes its most doubtful theme
    assert theme_uncertainty(np.array([[0.35, 0.6]]), np.array([0.5, 0.2])) == pytest.approx([0.7])


def test_diverse_picks_cover_the_clusters_and_ignore_row_order() -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(3) * 10
    vectors = np.vstack([c + rng.normal(0, 0.1, (20, 3)) for c in centres])
    uncertainty = np.r_[np.full(20, 0.9), np.full(20, 0.8), np.full(20, 0.7)]
    ids = [f"c{i:03d}" for i in range(60)]
    picked = pick_diverse(uncertainty, vectors, 3, ids=ids, pool_factor=20)
    assert sorted(i // 20 for i in picked) == [0, 1, 2]  # one per cluster
    assert all(i < 20 for i in pick_diverse(uncertainty, vectors, 3, ids=ids))  # pool: 15 of 20
    alone = pick_diverse(uncertainty, vectors, 3, ids=ids, pool_factor=1)
    assert all(i < 20 for i in alone)  # uncertainty alone: the first cluster only
    order = rng.permutation(60)
    again = pick_diverse(
        uncertainty[order], vectors[order], 3, ids=[ids[i] for i in order], pool_factor=20
    )
    assert [ids[order[i]] for i in again] == [ids[i] for i in picked]


# --- models and selection --------------------------------------------------------------------


class _Pyfunc:
    """What :func:`mlflow.pyfunc.load_model` gives for a cxml model, without MLflow."""

    def __init__(self, model: CxmlModel) -> None:
        self.model = model

    def unwrap_python_model(self) -> CxmlModel:
        return self.model

    def predict(self, frame: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        return self.model.predict(None, frame, params)


def _loaded(estimator: Any, task: str) -> LoadedModel:
    name = f"cxml-{task}"
    model = CxmlModel().bind(estimator, {"task": task, "model_name": name, "model_version": "1"})
    return LoadedModel(uri=name, name=name, version="1", task=task, pyfunc=_Pyfunc(model))


@pytest.fixture(scope="module")
def corpus() -> pd.DataFrame:
    return make_comments(500, lang="en", seed=7)


@pytest.fixture(scope="module")
def models(corpus: pd.DataFrame) -> list[LoadedModel]:
    train = corpus.iloc[:300]
    sentiment = SentimentClassifier(random_state=0).fit(train["text"], train["sentiment"])
    pairs = theme_pairs(train["text"], train["theme_sentiment"])
    themes = ThemeModel(
        themes=ThemeClassifier(threshold=0.4, random_state=0).fit(
            train["text"], train["themes"].tolist()
        ),
        sentiment=ThemeSentimentClassifier(random_state=0).fit(pairs, pairs["polarity"]),
    )
    return [_loaded(sentiment, "sentiment"), _loaded(themes, "themes")]


@pytest.fixture(scope="module")
def pool(corpus: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Comments the models never saw and stand-in sentence vectors (hashed words)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    rows = corpus.iloc[300:].reset_index(drop=True)
    vectors = HashingVectorizer(n_features=256).transform(rows["text"]).toarray()
    return rows, vectors


def test_selection_prefers_doubt_skips_labelled_and_repeated_ids(
    models: list[LoadedModel], pool: tuple[pd.DataFrame, np.ndarray]
) -> None:
    rows, vectors = pool
    doubled = pd.concat([rows, rows.iloc[:5]], ignore_index=True)  # 5 repeated ids
    vectors = np.vstack([vectors, vectors[:5]])
    done = rows["id"].iloc[5:15].tolist()
    picked = select_comments(doubled, models, 40, exclude=done, vectors=vectors)
    assert (picked.excluded, picked.repeated, picked.candidates) == (10, 5, 190)
    chosen = picked.rows
    assert len(chosen) == 40 and chosen["id"].is_unique
    assert not set(chosen["id"]) & set(done)
    assert chosen["rank"].tolist() == list(range(1, 41))
    assert {"sentiment", "sentiment_proba", "themes", "theme_scores", "theme_sentiment"} <= set(
        chosen
    )
    everyone = select_comments(rows, models, len(rows), vectors=pool[1], pool_factor=1).rows
    # the pool is the 200 most uncertain of 190: what was picked is more uncertain than the rest
    assert chosen["uncertainty"].mean() > everyone["uncertainty"].mean() + 0.05
    assert (chosen["confidence"] + chosen["uncertainty"]).round(6).eq(1).all()


# --- agreement ---------------------------------------------------------------------------------


def test_krippendorff_alpha_matches_the_published_examples() -> None:
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 observers, 12 units,
    # missing values, nominal alpha = 0.743; and the binary 2-observer example, alpha = 0.095
    n = None
    a = [1, 2, 3, 3, 2, 1, 4, 1, 2, n, n, n]
    b = [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, n, 3]
    c = [n, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, n]
    d = [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, n]
    assert krippendorff_alpha(list(zip(a, b, c, d, strict=True))) == pytest.approx(0.743, abs=5e-4)
    first = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    second = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert krippendorff_alpha(list(zip(first, second, strict=True))) == pytest.approx(
        0.095, abs=5e-4
    )
    assert np.isnan(krippendorff_alpha([["x", "x"], ["x", None]]))  # one value: undefined


def test_cohen_kappa_by_hand_and_against_sklearn() -> None:
    # p_o = 3/4; p_e = 1/2 * 1/4 + 1/2 * 3/4 = 1/2; kappa = (3/4 - 1/2) / (1 - 1/2) = 1/2
    assert cohen_kappa(["x", "x", "y", "y"], ["x", "y", "y", "y"]) == pytest.approx(0.5)
    rng = np.random.default_rng(3)
    a, b = rng.choice(list("abc"), 50), rng.choice(list("abc"), 50)
    assert cohen_kappa(list(a), list(b)) == pytest.approx(cohen_kappa_score(a, b))
    assert np.isnan(cohen_kappa(["x", "x"], ["x", "x"]))


# --- Label Studio and Argilla round trips ---------------------------------------------------------


@pytest.fixture(scope="module")
def selection(models: list[LoadedModel], pool: tuple[pd.DataFrame, np.ndarray]) -> pd.DataFrame:
    rows, vectors = pool
    return select_comments(rows, models, 30, vectors=vectors).rows


def _gold(corpus: pd.DataFrame) -> dict[str, dict[str, Any]]:
    labels = corpus.set_index("id")[["sentiment", "themes", "theme_sentiment"]]
    return {
        str(k): {str(f): v for f, v in row.items()} for k, row in labels.to_dict("index").items()
    }


def _flip(sentiment: str) -> str:
    return "positive" if sentiment == "negative" else "negative"


def _answers(gold: dict[str, Any], flip: bool) -> dict[str, Any]:
    """An annotator's answers: the gold labels, the sentiment flipped when ``flip``."""
    return {
        "sentiment": _flip(gold["sentiment"]) if flip else gold["sentiment"],
        "themes": list(gold["themes"]),
        "polarity": dict(gold["theme_sentiment"]),
    }


def _ls_result(answers: dict[str, Any]) -> list[dict[str, Any]]:
    def choice(name: str, values: list[str]) -> dict[str, Any]:
        value = {"choices": values}
        return {"from_name": name, "to_name": "text", "type": "choices", "value": value}

    results = [choice("sentiment", [answers["sentiment"]])]
    if answers["themes"]:
        results.append(choice("themes", answers["themes"]))
    results += [choice(polarity_name(t), [p]) for t, p in answers["polarity"].items()]
    return results


def _annotated_tasks(tasks: list[dict[str, Any]], gold: dict[str, Any]) -> list[dict[str, Any]]:
    """Two annotators per task (ids 11 and 12); the second flips the sentiment of every third."""
    out = []
    for k, task in enumerate(tasks):
        truth = gold[task["data"]["id"]]
        annotations = [
            {"completed_by": 11, "was_cancelled": False,
             "result": _ls_result(_answers(truth, False))},
            {"completed_by": {"id": 12, "email": "b@example.com"}, "was_cancelled": False,
             "result": _ls_result(_answers(truth, k % 3 == 0))},
        ]  # fmt: skip
        out.append({**task, "id": 1000 + k, "annotations": annotations})
    return out


def _check_rows(rows: pd.DataFrame, gold: dict[str, Any], flipped: set[str]) -> None:
    """Agreed fields equal the gold labels; a two-way sentiment split is left unresolved."""
    for row in rows.to_dict("records"):
        truth = gold[row["id"]]
        assert row["themes"] == sorted(truth["themes"])
        assert row["theme_sentiment"] == dict(truth["theme_sentiment"])
        if row["id"] in flipped:
            assert pd.isna(row["sentiment"])
        else:
            assert row["sentiment"] == truth["sentiment"]


def test_label_studio_round_trip_with_hostile_tasks(
    tmp_path: Path, selection: pd.DataFrame, corpus: pd.DataFrame
) -> None:
    gold = _gold(corpus)
    tasks = label_studio.tasks(selection)
    first = tasks[0]
    assert first["data"]["id"] == selection["id"].iloc[0]
    prediction = first["predictions"][0]
    assert prediction["model_version"] == "cxml-sentiment/1+cxml-themes/1"
    assert prediction["score"] == pytest.approx(1 - selection["uncertainty"].iloc[0], abs=1e-4)
    names = {r["from_name"] for t in tasks for r in t["predictions"][0]["result"]}
    themes = sorted({t for s in selection["theme_scores"] for t in s})
    config = ET.fromstring(label_studio.label_config(themes))
    controls = {c.get("name") for c in config.iter("Choices")}
    assert names <= controls  # every pre-annotation points at a control of the config

    annotated = _annotated_tasks(tasks, gold)
    hostile = [
        {"data": {"text": "no id"}, "annotations": []},
        {**annotated[1], "id": 5000},  # the same comment again
        {"data": {"id": "x1", "text": "angry"}, "annotations": [
            {"completed_by": 1,
             "result": [{"from_name": "sentiment", "value": {"choices": ["furious"]}}]}]},
        {"data": {"id": "x2", "text": "who?"}, "annotations": [{"result": []}]},
        {"data": {"id": "x3", "text": "skipped"}, "annotations": [
            {"completed_by": 1, "was_cancelled": True, "result": []}]},
        {"data": {"id": "x4", "text": "odd"}, "annotations": [
            {"completed_by": 1, "result": [{"from_name": "mood", "value": {"choices": ["x"]}}]}]},
        "not a task",
    ]  # fmt: skip
    path = tmp_path / "export.json"
    path.write_text(json.dumps(annotated + hostile), encoding="utf-8")
    summary = ImportSummary()
    result = resolve_items(label_studio.read_export([path], summary), summary, "majority")
    assert summary.items == len(annotated) + 7
    assert (summary.imported, summary.rejected, summary.unlabelled) == (len(annotated), 6, 1)
    assert any("duplicate task" in r["_reason"] for r in summary.rejects)
    assert any("'furious'" in r["_reason"] for r in summary.rejects)
    assert any("completed_by: missing" in r["_reason"] for r in summary.rejects)
    assert any("unknown control 'mood'" in r["_reason"] for r in summary.rejects)

    flipped = {t["data"]["id"] for k, t in enumerate(tasks) if k % 3 == 0}
    _check_rows(result.rows, gold, flipped)
    sentiment_conflicts = result.conflicts[result.conflicts["field"] == "sentiment"]
    assert set(sentiment_conflicts["id"]) == flipped
    assert (sentiment_conflicts["resolution"] == "unresolved").all()
    first_ann = [gold[t["data"]["id"]]["sentiment"] for t in tasks]
    second_ann = [_flip(s) if k % 3 == 0 else s for k, s in enumerate(first_ann)]
    agreement = result.agreement.set_index("field")
    assert agreement.loc["sentiment", "statistic"] == "cohen_kappa"
    assert agreement.loc["sentiment", "value"] == pytest.approx(
        cohen_kappa_score(first_ann, second_ann), abs=1e-4
    )
    assert agreement.loc["sentiment", "items"] == len(tasks)


def test_drop_leaves_out_every_disputed_item(
    tmp_path: Path, selection: pd.DataFrame, corpus: pd.DataFrame
) -> None:
    gold = _gold(corpus)
    tasks = label_studio.tasks(selection)
    path = tmp_path / "export.json"
    path.write_text(json.dumps(_annotated_tasks(tasks, gold)), encoding="utf-8")
    summary = ImportSummary()
    result = resolve_items(label_studio.read_export([path], summary), summary, "drop")
    disputed = len(range(0, len(tasks), 3))
    assert (summary.imported, summary.dropped) == (len(tasks) - disputed, disputed)
    assert (result.conflicts["resolution"] == "dropped").all()


def _argilla_annotated(records: list[dict[str, Any]], gold: dict[str, Any]) -> list[dict[str, Any]]:
    """Three annotators; the third flips every third sentiment and one answer is a draft."""
    out = []
    for k, record in enumerate(records):
        truth = gold[record["id"]]
        responses: dict[str, list[dict[str, Any]]] = {}
        for user, flip in (("u1", False), ("u2", False), ("u3", k % 3 == 0)):
            answers = _answers(truth, flip)
            responses.setdefault("sentiment", []).append(
                {"value": answers["sentiment"], "user_id": user, "status": "submitted"}
            )
            responses.setdefault("themes", []).append({"value": answers["themes"], "user_id": user})
            for theme, polarity in answers["polarity"].items():
                responses.setdefault(polarity_name(theme), []).append(
                    {"value": polarity, "user_id": user}
                )
        if k == 1:
            responses["sentiment"].append({"value": "neutral", "user_id": "u4", "status": "draft"})
        out.append({**record, "responses": responses, "_server_id": f"s{k}"})
    return out


def test_argilla_round_trip_with_hostile_records(
    tmp_path: Path, selection: pd.DataFrame, corpus: pd.DataFrame
) -> None:
    gold = _gold(corpus)
    records = argilla.records(selection)
    themes = sorted({t for s in selection["theme_scores"] for t in s})
    questions = {q["name"] for q in argilla.settings(themes)["questions"]}
    assert {q for r in records for q in r["suggestions"]} <= questions
    assert records[0]["suggestions"]["sentiment"]["agent"] == "cxml-sentiment/1+cxml-themes/1"

    annotated = _argilla_annotated(records, gold)
    hostile = [
        {"fields": {"text": "no id"}},
        {**annotated[0]},  # duplicate
        {"id": "y1", "fields": {"text": "t"},
         "responses": {"sentiment": [{"value": "meh", "user_id": "u1"}]}},
        {"id": "y2", "fields": {}},
        {"id": "y3", "fields": {"text": "t"},
         "responses": {"colour": [{"value": "red", "user_id": "u1"}]}},
        {"id": "y4", "fields": {"text": "t"}, "responses": {"sentiment": [{"value": "negative"}]}},
        {"id": "y5", "fields": {"text": "nobody yet"}, "responses": {}},
    ]  # fmt: skip
    folder = tmp_path / "dataset"
    folder.mkdir()
    (folder / "records.json").write_text(json.dumps(annotated + hostile), encoding="utf-8")
    summary = ImportSummary()
    result = resolve_items(argilla.read_export([folder], summary), summary, "majority")
    assert summary.items == len(annotated) + 7
    assert (summary.imported, summary.rejected, summary.unlabelled) == (len(annotated), 6, 1)
    # two of three agree: the majority keeps the gold sentiment everywhere
    _check_rows(result.rows, gold, flipped=set())
    assert (result.rows["annotators"] == 3).all()  # the draft of u4 did not count
    agreement = result.agreement.set_index("field")
    assert agreement.loc["sentiment", "statistic"] == "krippendorff_alpha"
    units = [
        [gold[r["id"]]["sentiment"]] * 2
        + [_flip(gold[r["id"]]["sentiment"]) if k % 3 == 0 else gold[r["id"]]["sentiment"]]
        for k, r in enumerate(records)
    ]
    assert agreement.loc["sentiment", "value"] == pytest.approx(krippendorff_alpha(units), 1e-3)
    assert all(
        agreement.loc[f"theme:{t}", "value"] == 1.0
        for t in themes
        if f"theme:{t}" in agreement.index
    )


# --- command line --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def registered(
    tmp_path_factory: pytest.TempPathFactory, models: list[LoadedModel], corpus: pd.DataFrame
) -> Path:
    """The two models logged and registered in a store of their own, and comments to pick from."""
    import mlflow

    from cxml.tracking.registry import log_model, register

    folder = tmp_path_factory.mktemp("labelling")
    with in_folder(folder):
        mlflow.set_experiment("labelling")  # not an experiment id an earlier store cached
        for model in models:
            with mlflow.start_run():
                example = pd.DataFrame({"text": ["the parcel was late"]})
                uri = log_model(model.estimator, task=model.task, input_example=example)
            register(uri, model.name)
        pool = corpus.iloc[300:380].drop(columns=["sentiment", "themes", "theme_sentiment"])
        pool.to_json("pool.jsonl", orient="records", lines=True)
        corpus.iloc[300:310][["id", "text"]].to_csv("done.csv", index=False)
    return folder


@pytest.mark.slow
def test_cli_export_then_import(registered: Path, corpus: pd.DataFrame) -> None:
    gold = _gold(corpus)
    with in_folder(registered):
        for tool, side, annotate in (
            ("label-studio", ".label_config.xml", _annotated_tasks),
            ("argilla", ".settings.json", _argilla_annotated),
        ):
            out = f"{tool}.json"
            done = run_cli(
                "label", "export", "pool.jsonl", "--out", out, "--n", "12", "--format", tool,
                "--exclude", "done.csv", "--model", "sentiment", "--model", "themes",
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            assert "picked 12 of 70 comments (10 already labelled" in done.stdout
            written = json.loads(Path(out).read_text(encoding="utf-8"))
            assert len(written) == 12 and Path(out + side).is_file()
            Path(f"{tool}-done.json").write_text(json.dumps(annotate(written, gold)), "utf-8")
            train = f"{tool}-train.jsonl"
            done = run_cli("label", "import", f"{tool}-done.json", "--out", train)
            assert done.returncode == 0, done.stderr
            assert "12 items read: 12 imported, 0 rejected" in done.stdout
            assert "cohen_kappa" in done.stdout or "krippendorff_alpha" in done.stdout
            rows, summary, _ = read_valid(train, COMMENTS)  # the training format reads back
            assert summary.rejected == 0 and len(rows) == 12
            conflicts = pd.read_csv(f"{train}.conflicts.csv")
            unresolved = (conflicts["resolution"] == "unresolved").any()
            assert unresolved == (tool == "label-studio")  # two annotators tie, three do not
        Path("empty.json").write_text('[{"data": {"text": "x"}}]', encoding="utf-8")
        done = run_cli("label", "import", "empty.json", "--out", "empty.json")
        assert done.returncode == 2 and "same file" in done.stderr
        done = run_cli("label", "import", "empty.json", "--out", "t2.jsonl")
        assert done.returncode == 2 and "no annotated item" in done.stderr
        assert "data.id" in Path("t2.jsonl.rejects.csv").read_text(encoding="utf-8")
