"""The HTTP scoring service: contract, auth, limits, errors, reloads, metrics and load."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mlflow
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from cxml.config import CsatConfig, SentimentConfig, ThemesConfig
from cxml.contracts.fields import COMMENTS, POST_SURVEY_FIELDS, TICKETS
from cxml.contracts.tickets import ticket_inputs
from cxml.data import Validator, write_table
from cxml.data.io import ROW
from cxml.data.synth import make_comments, make_tickets
from cxml.errors import ConfigError
from cxml.scoring.api import Ticket
from cxml.scoring.batch import COMMENT_INPUTS, load_comment_models, score_frame
from cxml.scoring.service import _predict, create_app, tickets_input
from cxml.scoring.settings import ServiceSettings
from cxml.tickets import TicketRiskModel
from cxml.tracking import load_model, promote, register
from cxml.training.csat import train_csat
from cxml.training.sentiment import train_sentiment
from cxml.training.themes import train_themes

KEY = "test-key-0123456789"
AUTH = {"X-API-Key": KEY}
AS_OF = "2026-03-01T12:00:00Z"
#: The ticket model as ``cxml train csat --set split.refit=false`` trains it (half the time).
CSAT = {"split": {"refit": False}}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder whose MLflow store has cxml-sentiment, cxml-themes and cxml-csat, version 1 of
    each (the ticket model trained on 1,500 generated tickets), all champions; the ticket
    model's logged URI is in ``cxml-csat.uri`` there."""
    folder = tmp_path_factory.mktemp("service-store")
    old = Path.cwd()
    os.chdir(folder)
    try:
        data = write_table(make_comments(300, lang="mixed", seed=11), folder / "train.jsonl")
        train_sentiment(SentimentConfig(), data=data)
        train_themes(ThemesConfig(), data=data)
        tickets = write_table(make_tickets(1500, seed=31, open_share=0.05), folder / "tickets.csv")
        trained = train_csat(CsatConfig.model_validate(CSAT), data=tickets)
        (folder / "cxml-csat.uri").write_text(trained.model_uri)
    finally:
        os.chdir(old)
        mlflow.set_tracking_uri(None)
    yield folder


def register_csat_again(store: Path) -> str:
    """Register the logged ticket model as a new ``cxml-csat`` version (the challenger), as a
    retrained model would be; returns the version."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(store)
        return register((store / "cxml-csat.uri").read_text(), "cxml-csat").version


@contextlib.contextmanager
def champion_restored(store: Path) -> Iterator[None]:
    """Point ``cxml-csat@champion`` back at version 1 afterwards (the module's tests expect it)."""
    try:
        yield
    finally:
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(store)
            promote("cxml-csat", "1")


def _settings(**changes: Any) -> ServiceSettings:
    values: dict[str, Any] = {"api_key": KEY, "reload_seconds": 0, "max_batch": 20}
    return ServiceSettings(**(values | changes))


@pytest.fixture
def client(store: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.chdir(store)
    with TestClient(create_app(_settings())) as test_client:
        yield test_client


def _ticket_rows(n: int, seed: int = 3) -> list[dict[str, Any]]:
    frame = make_tickets(n, seed=seed, lang="mixed")
    frame = frame.drop(columns=[c for c in POST_SURVEY_FIELDS if c in frame])
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    return rows


def test_auth_is_required_on_v1_only(client: TestClient) -> None:
    body = {"ticket": _ticket_rows(1)[0]}
    for headers in ({}, {"X-API-Key": "wrong"}, {"X-API-Key": KEY + "x"}):
        answer = client.post("/v1/tickets:score", json=body, headers=headers)
        assert answer.status_code == 401
        assert "X-API-Key" in answer.json()["detail"]
    assert client.get("/v1/models").status_code == 401
    assert client.post("/v1/tickets:score", content=b"{not json", headers={}).status_code == 401
    assert client.post("/v1/tickets:score", json=body, headers=AUTH).status_code == 200
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert client.get(path).status_code == 200


def test_without_a_key_the_service_warns_and_answers(
    store: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(store)
    with caplog.at_level("WARNING", logger="cxml.serve"):
        app = create_app(_settings(api_key=None))
    assert "CXML_API_KEY is not set" in caplog.text
    with TestClient(app) as open_client:
        assert open_client.get("/v1/models").status_code == 200


def test_one_ticket_and_a_batch_score_as_the_batch_path_does(client: TestClient) -> None:
    rows = _ticket_rows(6)
    rows[1]["lang"] = None  # detected from the text, as the batch reader does
    rows[2]["created_at"] = "2026-02-01T09:30:00+09:00"  # an offset is converted to UTC
    one = client.post("/v1/tickets:score", json={"ticket": rows[0], "as_of": AS_OF}, headers=AUTH)
    many = client.post("/v1/tickets:score", json={"tickets": rows, "as_of": AS_OF}, headers=AUTH)
    assert one.status_code == 200 and many.status_code == 200, many.text
    assert one.json()["as_of"] == "2026-03-01T12:00:00Z"
    items = many.json()["items"]
    assert [i["ticket_id"] for i in items] == [r["ticket_id"] for r in rows]
    assert all(i["model_name"] == "cxml-csat" and i["model_version"] == "1" for i in items)
    assert one.json()["items"] == items[:1]

    frame = pd.DataFrame(rows)
    frame.insert(0, ROW, range(1, len(frame) + 1))
    good, rejected = Validator(TICKETS, source="test").validate(frame)
    assert rejected.empty
    expected = load_model("cxml-csat").predict(ticket_inputs(good, pd.Timestamp(AS_OF)))
    assert [i["bad_rating_probability"] for i in items] == pytest.approx(
        expected["bad_rating_probability"].tolist()
    )
    assert [i["at_risk"] for i in items] == expected["at_risk"].tolist()
    assert [i["reasons"] for i in items] == [list(r) for r in expected["reasons"]]
    assert any(i["reasons"] for i in items)


def test_the_service_builds_the_batch_input_and_scores_as_the_pyfunc(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service's shortcuts (no frame of rows, no MLflow schema check) change nothing."""
    monkeypatch.chdir(store)
    frame = make_tickets(60, seed=5, lang="mixed", open_share=0.5, start="2026-02-01", days=20)
    frame = frame.drop(columns=[c for c in POST_SURVEY_FIELDS if c in frame])
    rows: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    rows[1] |= dict.fromkeys(["first_response_at", "channel", "text", "lang"])
    rows[2] |= dict.fromkeys(["replies", "reopens", "reassignments"])
    rows[3]["created_at"] = "2026-02-03T18:30:00.25+09:00"
    rows[4]["lang"] = None  # detected from the text, as the batch reader does
    tickets = [Ticket.model_validate(row) for row in rows]
    as_of = pd.Timestamp(AS_OF)

    validated = pd.DataFrame(rows)
    validated.insert(0, ROW, range(1, len(rows) + 1))
    good, rejected = Validator(TICKETS, source="test").validate(validated)
    assert rejected.empty
    expected_input = ticket_inputs(good.reset_index(drop=True), as_of)
    given = tickets_input(tickets, as_of.to_pydatetime())
    pd.testing.assert_frame_equal(given, expected_input, check_exact=True)
    assert given.map(lambda v: v is None).equals(expected_input.map(lambda v: v is None))

    model = load_model("cxml-csat")
    pd.testing.assert_frame_equal(
        _predict(model, given), model.predict(expected_input), check_exact=True
    )


def test_as_of_defaults_to_now_and_moves_the_score(client: TestClient) -> None:
    ticket = {"ticket_id": "t-1", "created_at": "2026-01-01T00:00:00Z", "reassignments": 1}
    early = {"ticket": ticket, "as_of": "2026-01-01T01:00:00"}  # no offset: UTC
    late = {"ticket": ticket, "as_of": "2026-01-20T00:00:00Z"}
    p_early = client.post("/v1/tickets:score", json=early, headers=AUTH).json()
    p_late = client.post("/v1/tickets:score", json=late, headers=AUTH).json()
    assert p_early["as_of"] == "2026-01-01T01:00:00Z"
    first, second = p_early["items"][0], p_late["items"][0]
    assert first["bad_rating_probability"] < second["bad_rating_probability"]
    assert any(r.startswith("open for") for r in second["reasons"])
    assert not any(r.startswith("open for") for r in first["reasons"])
    now = client.post("/v1/tickets:score", json={"ticket": ticket}, headers=AUTH).json()
    seconds = pd.Timestamp.now(tz="UTC") - pd.Timestamp(now["as_of"])
    assert pd.Timedelta(0) <= seconds < pd.Timedelta(minutes=1)


def test_comments_are_analysed_by_both_models_as_in_batch(client: TestClient) -> None:
    comments = [
        {"id": "a", "text": "The refund took three weeks and the agent was rude.", "lang": "en"},
        {"id": "b", "text": "배송이 빨라서 좋았어요"},
        {"text": "Great price, terrible app"},
    ]
    many = client.post("/v1/comments:analyze", json={"comments": comments}, headers=AUTH)
    one = client.post("/v1/comments:analyze", json={"comment": comments[1]}, headers=AUTH)
    assert many.status_code == 200, many.text
    items = many.json()["items"]
    assert one.json()["items"] == items[1:2]
    assert [i["id"] for i in items] == ["a", "b", None]
    assert [i["lang"] for i in items] == ["en", "ko", "en"]
    assert all(i["model_name"] == "cxml-sentiment+cxml-themes" for i in items)
    assert all(i["model_version"] == "1+1" for i in items)

    frame = pd.DataFrame(comments)
    frame.insert(0, ROW, [1, 2, 3])
    good, _ = Validator(COMMENTS, source="test").validate(frame)
    expected = score_frame(good, load_comment_models(), COMMENT_INPUTS)
    assert [i["sentiment"] for i in items] == expected["sentiment"].tolist()
    assert [i["sentiment_score"] for i in items] == pytest.approx(expected["sentiment_score"])
    assert [i["themes"] for i in items] == [list(t) for t in expected["themes"]]
    assert [i["theme_scores"] for i in items] == expected["theme_scores"].tolist()
    assert [i["theme_sentiment"] for i in items] == expected["theme_sentiment"].tolist()
    assert many.json()["notes"] == []  # both models saw English and Korean

    german = {"id": "g", "text": "Die Lieferung kam drei Tage zu spät und niemand antwortet."}
    mixed = client.post("/v1/comments:analyze", json={"comments": [german]}, headers=AUTH)
    assert mixed.json()["items"][0]["lang"] == "de"
    notes = mixed.json()["notes"]
    assert len(notes) == 2 and all("saw only en, ko in training" in n for n in notes)
    assert all("(de 1)" in n for n in notes)


@pytest.mark.parametrize(
    ("body", "loc", "message"),
    [
        (
            {"ticket": {"ticket_id": "t", "created_at": AS_OF, "reopens": "many"}},
            "reopens",
            "integer",
        ),
        ({"ticket": {"ticket_id": "t", "created_at": "yesterday"}}, "created_at", "datetime"),
        ({"ticket": {"ticket_id": "t"}}, "created_at", "Field required"),
        ({"ticket": {"ticket_id": "t", "created_at": AS_OF, "rating": 1}}, "rating", "Extra"),
        (
            {"tickets": [{"ticket_id": "t", "created_at": AS_OF, "survey_comment": "bad"}]},
            "survey_comment",
            "Extra inputs are not permitted",
        ),
        ({"ticket": {"ticket_id": "t", "created_at": AS_OF}, "tickets": []}, "body", "exactly one"),
        ({"ticket": {"ticket_id": "t", "created_at": AS_OF, "lang": "xx"}}, "lang", "ISO 639-1"),
    ],
)
def test_ticket_validation_errors_name_the_field(
    client: TestClient, body: dict[str, Any], loc: str, message: str
) -> None:
    answer = client.post("/v1/tickets:score", json=body, headers=AUTH)
    assert answer.status_code == 422
    errors = answer.json()["detail"]
    assert any(e["loc"][-1] == loc and message in e["msg"] for e in errors), errors
    assert all(set(e) == {"loc", "msg", "type"} for e in errors)  # the input is not echoed


def test_malformed_json_and_wrong_types_are_422(client: TestClient) -> None:
    headers = AUTH | {"Content-Type": "application/json"}
    answer = client.post("/v1/comments:analyze", content=b'{"comment": {"text": ', headers=headers)
    assert answer.status_code == 422 and answer.json()["detail"][0]["type"] == "json_invalid"
    empty = client.post("/v1/comments:analyze", json={"comments": []}, headers=AUTH)
    assert empty.status_code == 200 and empty.json() == {"items": [], "notes": []}
    wrong: list[Any] = [[], "text", {"comment": {"text": ""}}, {"comments": [{"text": 5}]}]
    for body in wrong:
        answer = client.post("/v1/comments:analyze", json=body, headers=AUTH)
        assert answer.status_code == 422, body
    answer = client.post("/v1/comments:analyze", json={"comments": [{"txt": "hi"}]}, headers=AUTH)
    locs = [e["loc"] for e in answer.json()["detail"]]
    assert ["body", "comments", 0, "txt"] in locs and ["body", "comments", 0, "text"] in locs


def test_oversize_bodies_and_batches_are_413(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(store)
    with TestClient(create_app(_settings(max_body_bytes=4096, max_batch=3))) as small:
        big = {"comment": {"text": "x" * 5000}}
        answer = small.post("/v1/comments:analyze", json=big, headers=AUTH)
        assert answer.status_code == 413 and "4096 bytes" in answer.json()["detail"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams in
            yield b'{"comment": {"text": "'
            for _ in range(10):
                yield b"y" * 1000
            yield b'"}}'

        streamed = small.post(
            "/v1/comments:analyze",
            content=chunks(),
            headers=AUTH | {"Content-Type": "application/json"},
        )
        assert streamed.status_code == 413
        four = {"comments": [{"text": "fine"}] * 4}
        answer = small.post("/v1/comments:analyze", json=four, headers=AUTH)
        assert answer.status_code == 413 and "CXML_MAX_BATCH" in answer.json()["detail"]
        three = {"comments": [{"text": "fine"}] * 3}
        assert small.post("/v1/comments:analyze", json=three, headers=AUTH).status_code == 200


def test_missing_models_answer_503_and_the_rest_is_served(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store)
    settings_ = _settings(themes_model=None, csat_model="models:/cxml-nothing@champion")
    with TestClient(create_app(settings_)) as partial:
        ready = partial.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["models"]["csat"] == "missing: no registered model 'cxml-nothing'"
        answer = partial.post(
            "/v1/tickets:score", json={"ticket": _ticket_rows(1)[0]}, headers=AUTH
        )
        assert answer.status_code == 503
        assert "no ticket model is loaded (csat: no registered model 'cxml-nothing')" in answer.text
        comments = partial.post(
            "/v1/comments:analyze", json={"comment": {"text": "ok"}}, headers=AUTH
        )
        assert comments.json()["items"][0]["model_name"] == "cxml-sentiment"
        assert comments.json()["items"][0]["themes"] is None
        models = {m["task"]: m for m in partial.get("/v1/models", headers=AUTH).json()["models"]}
        assert set(models) == {"sentiment", "csat"}
        assert models["sentiment"]["loaded"] and models["sentiment"]["version"] == "1"
        assert not models["csat"]["loaded"] and "no registered model" in models["csat"]["error"]
    empty = _settings(sentiment_model="models:/none@champion", themes_model=None, csat_model=None)
    with TestClient(create_app(empty)) as nothing:
        assert nothing.get("/readyz").status_code == 503
        assert nothing.get("/healthz").json() == {"status": "ok"}


def test_a_failing_model_is_a_500_without_internals(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(self: TicketRiskModel, X: pd.DataFrame) -> pd.DataFrame:
        raise ValueError("the model fails on purpose")

    monkeypatch.setattr(TicketRiskModel, "predict_frame", explode)
    with TestClient(client.app, raise_server_exceptions=False) as quiet:
        body = {"ticket": {"ticket_id": "t", "created_at": AS_OF}}
        answer = quiet.post("/v1/tickets:score", json=body, headers=AUTH)
    assert answer.status_code == 500
    assert answer.json() == {"detail": "internal error; see the service log"}


def test_alias_move_swaps_the_model_without_a_restart(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store)
    app = create_app(_settings(sentiment_model=None, themes_model=None))
    body = {"ticket": {"ticket_id": "t", "created_at": AS_OF, "reopens": 1}, "as_of": AS_OF}
    with champion_restored(store), TestClient(app) as live:
        first = live.post("/v1/tickets:score", json=body, headers=AUTH).json()["items"][0]
        held = app.state.holder.get("csat")
        assert app.state.holder.refresh() == []  # nothing moved: nothing reloaded
        version = register_csat_again(store)
        assert live.post("/v1/tickets:score", json=body, headers=AUTH).json()["items"] == [first]
        promote("cxml-csat")
        swapped = app.state.holder.refresh()
        assert [(m.name, m.version) for m in swapped] == [("cxml-csat", version)]
        served = app.state.holder.get("csat")
        assert held.version == "1" and served.version == version
        assert served.pyfunc is not held.pyfunc  # loaded anew, not relabelled
        second = live.post("/v1/tickets:score", json=body, headers=AUTH).json()["items"][0]
        metrics = live.get("/metrics").text
    assert (first["model_version"], second["model_version"]) == ("1", version)
    inputs = ticket_inputs(pd.DataFrame([body["ticket"]]), pd.Timestamp(AS_OF))
    direct = load_model(f"models:/cxml-csat/{version}").predict(inputs)
    assert second["bad_rating_probability"] == pytest.approx(direct["bad_rating_probability"][0])
    assert second["reasons"] == list(direct["reasons"][0])
    assert f'cxml_model_info{{name="cxml-csat",task="csat",version="{version}"}} 1.0' in metrics
    assert 'cxml_model_info{name="cxml-csat",task="csat",version="1"} 0.0' in metrics
    assert 'cxml_model_loads_total{task="csat"} 2.0' in metrics


def test_metrics_count_requests_by_endpoint_and_status(client: TestClient) -> None:
    body = {"tickets": _ticket_rows(2)}
    client.post("/v1/tickets:score", json=body, headers=AUTH)
    client.post("/v1/tickets:score", json=body)
    client.get("/no/such/path")
    text = client.get("/metrics").text
    for line in (
        'cxml_http_requests_total{endpoint="/v1/tickets:score",method="POST",status="200"} 1.0',
        'cxml_http_requests_total{endpoint="/v1/tickets:score",method="POST",status="401"} 1.0',
        'cxml_http_requests_total{endpoint="other",method="GET",status="404"} 1.0',
        'cxml_scored_items_total{task="tickets"} 2.0',
        'cxml_model_info{name="cxml-themes",task="themes",version="1"} 1.0',
    ):
        assert line in text
    assert 'cxml_http_request_duration_seconds_bucket{endpoint="/v1/tickets:score"' in text


def test_openapi_documents_endpoints_auth_and_examples(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert {
        "/v1/comments:analyze",
        "/v1/tickets:score",
        "/v1/models",
        "/healthz",
        "/readyz",
        "/metrics",
    } <= set(schema["paths"])
    score = schema["paths"]["/v1/tickets:score"]["post"]
    assert {"200", "401", "413", "422", "503"} <= set(score["responses"])
    assert schema["components"]["securitySchemes"]["ApiKey"]["name"] == "X-API-Key"
    ticket = schema["components"]["schemas"]["Ticket"]
    assert ticket["additionalProperties"] is False and ticket["examples"]
    assert not set(POST_SURVEY_FIELDS) & set(ticket["properties"])


def _broken_model(folder: Path) -> Path:
    """A model folder whose MLmodel file is not YAML, at an absolute path."""
    folder.mkdir()
    (folder / "MLmodel").write_text("flavors: [unclosed\n", encoding="utf-8")
    return folder.resolve()


def test_readyz_gives_each_models_state_without_paths_or_parser_text(tmp_path: Path) -> None:
    """/readyz answered absolute paths and the YAML parser's message, unauthenticated."""
    broken = _broken_model(tmp_path / "secret-folder")
    settings_ = _settings(sentiment_model=str(broken), themes_model=None, csat_model=None)
    with TestClient(create_app(settings_)) as service:
        ready = service.get("/readyz")
    assert ready.status_code == 503
    expected = {"sentiment": "missing: MLmodel file is corrupt"}
    assert ready.json() == {"ready": False, "models": expected}
    assert "secret-folder" not in ready.text and "line" not in ready.text


def test_docs_need_no_network() -> None:
    """/docs loaded Swagger UI from a CDN, so offline it rendered nothing."""
    with TestClient(create_app(_settings(sentiment_model=None, themes_model=None))) as service:
        page = service.get("/docs")
        assert page.status_code == 200
        assert not re.search(r"(https?:)?//[\w.-]+", page.text.replace("'/openapi.json'", ""))
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert len(assets) == 3 and all(a.startswith("/docs/assets/") for a in assets)
        for asset in assets:
            served = service.get(asset)
            assert served.status_code == 200 and len(served.content) > 500, asset
        assert service.get("/redoc").status_code == 404  # ReDoc has no offline copy


def test_ticket_model_has_every_schema_field_but_the_survey_ones() -> None:
    expected = [f.name for f in TICKETS.fields if f.name not in POST_SURVEY_FIELDS]
    assert list(Ticket.model_fields) == expected


def test_settings_come_from_the_environment() -> None:
    env = {
        "CXML_API_KEY": "s3cret",
        "CXML_MAX_BATCH": "7",
        "CXML_THEMES_MODEL": "",
        "CXML_CSAT_MODEL": "models:/cxml-csat@challenger",
        "CXML_RELOAD_SECONDS": "2.5",
    }
    loaded = ServiceSettings.from_env(env)
    assert loaded.api_key is not None and loaded.api_key.get_secret_value() == "s3cret"
    assert (loaded.max_batch, loaded.reload_seconds) == (7, 2.5)
    assert loaded.model_uris() == {
        "sentiment": "models:/cxml-sentiment@champion",
        "csat": "models:/cxml-csat@challenger",
    }
    assert ServiceSettings.from_env(loaded.to_env()) == loaded
    assert "s3cret" not in repr(loaded)
    with pytest.raises(ConfigError, match="CXML_MAX_BODY_BYTES: Input should be a valid integer"):
        ServiceSettings.from_env({"CXML_MAX_BODY_BYTES": "lots"})


# -- property-based: bodies generated from the OpenAPI schema, valid or not, never a 5xx --

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _from_schema(
    schema: dict[str, Any], components: dict[str, Any], *, junk: bool
) -> st.SearchStrategy[Any]:
    """Values valid under ``schema`` (a JSON Schema of the OpenAPI document), or with ``junk``
    any value may instead be arbitrary JSON and objects may carry an unknown key."""
    if "$ref" in schema:
        target = components[schema["$ref"].split("/")[-1]]
        return st.deferred(lambda: _from_schema(target, components, junk=junk))
    if "anyOf" in schema:
        return st.one_of([_from_schema(s, components, junk=junk) for s in schema["anyOf"]])
    kind = schema.get("type")
    if "enum" in schema:
        valid: st.SearchStrategy[Any] = st.sampled_from(schema["enum"])
    elif kind == "object":
        values = {
            k: _from_schema(v, components, junk=junk)
            for k, v in schema.get("properties", {}).items()
        }
        required = set(schema.get("required", []))
        optional = {k: v for k, v in values.items() if k not in required}
        valid = st.fixed_dictionaries(
            {k: v for k, v in values.items() if k in required},
            optional=optional | ({"extra": _JSON} if junk else {}),
        )
    elif kind == "array":
        valid = st.lists(_from_schema(schema["items"], components, junk=junk), max_size=3)
    elif kind == "string" and schema.get("format") == "date-time":
        moments = st.datetimes(min_value=pd.Timestamp("1990-01-01").to_pydatetime())
        valid = moments.map(lambda m: m.isoformat())
    elif kind == "string":
        longest = min(schema.get("maxLength", 40), 40)
        valid = st.text(min_size=schema.get("minLength", 0), max_size=longest)
    elif kind == "integer":
        valid = st.integers(schema.get("minimum", -(2**40)), schema.get("maximum", 2**40))
    elif kind == "number":
        valid = st.floats(allow_nan=False, allow_infinity=False)
    elif kind == "boolean":
        valid = st.booleans()
    else:
        valid = st.none()
    return valid | _JSON if junk else valid


@pytest.mark.parametrize("path", ["/v1/tickets:score", "/v1/comments:analyze"])
def test_generated_bodies_never_get_a_server_error(
    store: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.chdir(store)
    statuses: Counter[int] = Counter()
    with TestClient(create_app(_settings())) as live:
        document = live.get("/openapi.json").json()
        schema = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        components = document["components"]["schemas"]
        valid = _from_schema(schema["schema"], components, junk=False)
        junk = _from_schema(schema["schema"], components, junk=True)

        @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
        @given(body=valid | junk | _JSON)
        def check(body: Any) -> None:
            answer = live.post(path, json=body, headers=AUTH)
            statuses[answer.status_code] += 1
            event(f"status {answer.status_code}")
            assert answer.status_code in (200, 422), (body, answer.text)
            if answer.status_code == 200:
                items = answer.json()["items"]
                one = next((body[k] for k in ("ticket", "comment") if body.get(k)), None)
                many = next((body[k] for k in ("tickets", "comments") if k in body), None)
                assert len(items) == (1 if one is not None else len(many or []))
                assert all(i["model_name"] and i["model_version"] for i in items)

        check()
    assert statuses[200] and statuses[422], statuses


# -- a real server under load --


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_ready(base: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base}/readyz").status_code == 200:
                return
        assert time.monotonic() < deadline, f"{base} did not get ready in {seconds:.0f}s"
        time.sleep(0.2)


@pytest.mark.integration
def test_fifty_clients_get_no_errors_while_the_champion_moves(store: Path, tmp_path: Path) -> None:
    """50 clients for ``$CXML_LOAD_SECONDS`` (default 30) against uvicorn with two workers, and
    on until the new champion answers (a minute at most) when loading it takes longer."""
    seconds = float(os.environ.get("CXML_LOAD_SECONDS", "30"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env.update(_settings(reload_seconds=1).to_env())
    command = f"from cxml.scoring.service import serve; serve(port={port}, workers=2)"
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-c", command],
            cwd=store,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(base)
        tickets = _ticket_rows(5, seed=9)
        requests = [
            ("POST", "/v1/tickets:score", {"ticket": tickets[0]}),
            ("POST", "/v1/tickets:score", {"ticket": tickets[1]}),
            ("POST", "/v1/tickets:score", {"tickets": tickets, "as_of": AS_OF}),
            ("POST", "/v1/comments:analyze", {"comment": {"text": "Late again, so annoying"}}),
            ("GET", "/v1/models", None),
            ("GET", "/readyz", None),
        ]
        statuses: Counter[str] = Counter()
        versions: set[str] = set()
        stop = time.monotonic() + seconds
        moved = threading.Event()  # set once the new champion answered
        lock = threading.Lock()

        def going() -> bool:
            now = time.monotonic()
            return now < stop or (not moved.is_set() and now < stop + 60)

        def user(seed: int) -> None:
            rng = np.random.default_rng(seed)
            with httpx.Client(base_url=base, headers=AUTH, timeout=30) as http:
                while going():
                    method, path, body = requests[int(rng.integers(len(requests)))]
                    try:
                        answer = http.request(method, path, json=body)
                        outcome = str(answer.status_code)
                        seen = {i["model_version"] for i in answer.json().get("items", [])}
                    except httpx.HTTPError as exc:
                        outcome, seen = type(exc).__name__, set()
                    with lock:
                        statuses[outcome] += 1
                        versions.update(seen)
                        if version in seen:
                            moved.set()

        version = ""
        users = [threading.Thread(target=user, args=(i,)) for i in range(50)]
        with champion_restored(store):
            for thread in users:
                thread.start()
            time.sleep(seconds / 3)
            version = register_csat_again(store)
            with pytest.MonkeyPatch.context() as patch:
                patch.chdir(store)
                promote("cxml-csat")
            for thread in users:
                thread.join()
        assert set(statuses) == {"200"}, statuses
        assert statuses["200"] > 50
        assert version in versions, versions
        metrics = httpx.get(f"{base}/metrics").text
        assert (
            'cxml_http_requests_total{endpoint="/v1/tickets:score",method="POST",status="200"}'
            in metrics
        )
    finally:
        server.send_signal(signal.SIGTERM)  # graceful: requests in flight finish first
        returncode = server.wait(timeout=60)
    assert returncode in (0, -signal.SIGTERM), log_path.read_text()
    assert "Finished server process" in log_path.read_text()


@pytest.mark.integration
def test_serve_logs_each_line_once_and_its_docs_render_offline(tmp_path: Path) -> None:
    """``cxml serve`` printed every log line twice: uvicorn's handler and the CLI's."""
    port = _free_port()
    broken = _broken_model(tmp_path / "broken")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"} | {"COLUMNS": "200"}
    models = ["--sentiment-model", str(broken), "--themes-model", "", "--csat-model", ""]
    command = [sys.executable, "-m", "cxml", "serve", "--port", str(port), *models]
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while "Uvicorn running" not in log_path.read_text():
            assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        chromium = shutil.which("chromium")
        if chromium is not None:  # every host but the service unreachable, as offline
            rules = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
            flags = ["--headless", "--no-sandbox", "--disable-gpu", rules, "--no-first-run"]
            flags += [f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000"]
            shown = subprocess.run(
                [chromium, *flags, "--dump-dom", f"{base}/docs"],
                capture_output=True,
                text=True,
                timeout=120,
            ).stdout
            assert 'data-path="/v1/tickets:score"' in shown, shown[-2000:]
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
    lines = log_path.read_text().splitlines()
    assert sum("model for sentiment at" in line for line in lines) == 1, lines
    assert sum("Application startup complete" in line for line in lines) == 1, lines
