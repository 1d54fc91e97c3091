"""Evidence through every scoring path: pyfunc params, batch ``--evidence``, Python API, service.

Models are tiny, trained here; the same rows must give the same evidence on every path."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_type_hints

import mlflow
import pandas as pd
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

import cxml
from cxml.config import SentimentConfig, ThemesConfig
from cxml.contracts.outputs import EVIDENCE, EvidenceSpan
from cxml.data import write_table
from cxml.data.synth import make_comments
from cxml.errors import BadInputError
from cxml.report import build_report
from cxml.scoring.api import Span
from cxml.scoring.batch import analyze_comments_file
from cxml.scoring.service import create_app
from cxml.scoring.settings import ServiceSettings
from cxml.text.redact import redact_spans
from cxml.tracking import load_model
from cxml.tracking.registry import log_model
from cxml.training.sentiment import train_sentiment
from cxml.training.themes import train_themes
from tests.helpers import run_cli

TINY = {"char_ngrams": [2, 3], "max_features": 3000, "max_iter": 200}
KEY = "test-key-0123456789"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Tiny registered sentiment and themes models and new comments (``new.csv``)."""
    folder = tmp_path_factory.mktemp("evidence")
    old = Path.cwd()
    os.chdir(folder)
    try:
        data = write_table(make_comments(300, lang="mixed", seed=11), folder / "train.jsonl")
        train_sentiment(SentimentConfig.model_validate({"model": {"params": TINY}}), data=data)
        themes = {"model": {"params": TINY, "threshold": 0.4}, "theme_sentiment": {"params": TINY}}
        train_themes(ThemesConfig.model_validate(themes), data=data)
        new = make_comments(30, lang="mixed", seed=12)[["id", "text"]]
        write_table(new, folder / "new.csv")
    finally:
        os.chdir(old)
        mlflow.set_tracking_uri(None)
    yield folder


def _check(scored: pd.DataFrame, evidence: list[dict[str, list[dict[str, Any]]]]) -> None:
    """Evidence for the sentiment, each assigned theme and its polarity; spans slice the text."""
    for text, themes, found in zip(scored["text"], scored["themes"], evidence, strict=True):
        themes = json.loads(themes) if isinstance(themes, str) else list(themes)
        wanted = {
            "sentiment",
            *(f"{kind}:{t}" for t in themes for kind in ("theme", "theme_sentiment")),
        }
        assert set(found) == wanted
        for spans in found.values():
            assert all(text[s["start"] : s["end"]] == s["text"] for s in spans)


def test_batch_python_api_and_service_give_the_same_evidence(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store)
    new = pd.read_csv("new.csv")
    texts = new["text"].tolist()
    analyze_comments_file("new.csv", "plain.parquet")
    assert EVIDENCE.name not in pq.read_schema("plain.parquet").names  # opt-in only
    analyze_comments_file("new.csv", "scored.parquet", evidence=True)
    table = pq.read_table("scored.parquet")
    names = table.schema.names
    assert names.index("evidence") == names.index("model_name") - 1
    batch = [{k: list(v) for k, v in row} for row in table.column("evidence").to_pylist()]
    _check(table.to_pandas(), batch)

    api = cxml.analyze_comments(new, evidence=True)
    assert api["evidence"].tolist() == batch
    assert "evidence" not in cxml.analyze_comments(new.head(2)).columns

    settings = ServiceSettings(api_key=KEY, reload_seconds=0, max_batch=40)
    with TestClient(create_app(settings)) as client:
        body = {"comments": [{"text": t} for t in texts], "evidence": True}
        reply = client.post("/v1/comments:analyze", json=body, headers={"X-API-Key": KEY})
        assert reply.status_code == 200, reply.text
        served = [item["evidence"] for item in reply.json()["items"]]
        without = client.post(
            "/v1/comments:analyze", json={"comment": {"text": texts[0]}}, headers={"X-API-Key": KEY}
        )
    assert served == batch
    assert without.json()["items"][0]["evidence"] is None


def test_cli_evidence_in_csv_and_spark_refused(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store)
    done = run_cli("analyze", "comments", "new.csv", "--out", "ev.csv", "--evidence")
    assert done.returncode == 0, done.stderr
    scored = pd.read_csv("ev.csv")
    _check(scored, [json.loads(v) for v in scored["evidence"]])
    spark = run_cli(
        "analyze", "comments", "new.csv", "--out", "s.parquet", "--evidence", "--engine", "spark"
    )
    assert spark.returncode == 2 and "--evidence" in spark.stderr


def test_pyfunc_params_schema_and_models_logged_without_it(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store)
    model = load_model("cxml-sentiment")
    example = pd.DataFrame({"text": ["late again, awful"]})
    assert EVIDENCE.name not in model.predict(example)
    assert set(model.predict(example, params={"evidence": True})["evidence"][0]) == {"sentiment"}
    monkeypatch.setattr("cxml.tracking.registry.params_schema", lambda task: None)
    mlflow.set_experiment("evidence")  # not an experiment id an earlier store cached
    with mlflow.start_run():
        uri = log_model(model.estimator, task="sentiment", input_example=example)
    with pytest.raises(BadInputError, match="cannot give evidence"):
        analyze_comments_file("new.csv", "old.parquet", models=[uri], evidence=True)


def test_the_service_span_model_has_the_contracts_fields() -> None:
    fields = {name: field.annotation for name, field in Span.model_fields.items()}
    assert fields == get_type_hints(EvidenceSpan)


def test_report_examples_mark_the_evidence_after_redaction(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store)
    comments = make_comments(120, lang="en", seed=14)
    phone = "call me on 010-1234-5678 "  # redaction shortens the text before every word
    comments["text"] = phone + comments["text"]
    scored = cxml.analyze_comments(comments[["id", "text", "created_at"]], evidence=True)
    result = build_report(scored, out=store / "report" / "report.html", min_count=5)
    html = (store / "report" / "report.html").read_text(encoding="utf-8")
    shown = pd.read_csv(store / "report" / "examples.csv")
    assert "010-1234-5678" not in html and "[phone]" in html
    marked = re.findall(r"<mark>([^<]+)</mark>", html)
    assert marked and result is not None
    by_id = scored.set_index("id")
    for text, spans, key in zip(shown["text"], shown["highlights"], shown["id"], strict=True):
        original = by_id.loc[key]
        for start, end in json.loads(spans):
            words = text[start:end]
            assert words in {s["text"] for found in original["evidence"].values() for s in found}
            assert text.startswith("call me on [phone] ")


def test_redact_spans_moves_or_drops_the_highlights() -> None:
    text = "mail a@b.co or 010-1234-5678: parcel late"
    redacted, kept = redact_spans(text, [(37, 41), (5, 11), (0, 4)])
    assert redacted == "mail [email] or [phone]: parcel late"
    assert kept == [(0, 4), (32, 36)] and redacted[32:36] == "late"  # the email's span is gone
