"""Zendesk webhooks: the signature (good, bad, missing, stale, replayed), the trigger's and the
event webhook's bodies, and ``POST /v1/webhooks/zendesk`` through the service."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from helpers import in_folder
from hypothesis import given, settings
from hypothesis import strategies as st

from cxml.config import CsatConfig
from cxml.connectors.result import RecordError
from cxml.connectors.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureVerifier,
    WebhookRefused,
    read_body,
    signature,
)
from cxml.data import write_table
from cxml.data.synth import make_tickets
from cxml.scoring.service import create_app
from cxml.scoring.settings import ServiceSettings
from cxml.training.csat import train_csat

ROOT = Path(__file__).resolve().parents[1]
SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
KEY = "test-key-0123456789"
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _verifier(tolerance: float = 300) -> SignatureVerifier:
    return SignatureVerifier(SECRET, tolerance=tolerance, clock=NOW.timestamp)


def test_signature_is_base64_hmac_sha256_of_timestamp_then_body() -> None:
    body, stamp = b'{"ticket": {"id": "1"}}', "2026-03-02T15:00:00Z"
    mac = hmac.new(SECRET.encode(), stamp.encode() + body, hashlib.sha256)
    assert signature(SECRET, stamp, body) == base64.b64encode(mac.digest()).decode()
    # body then timestamp (an older Zendesk page's order) is another signature
    other = hmac.new(SECRET.encode(), body + stamp.encode(), hashlib.sha256)
    assert signature(SECRET, stamp, body) != base64.b64encode(other.digest()).decode()


def test_a_good_signature_is_taken_once() -> None:
    verifier, body, stamp = _verifier(), b'{"a": 1}', _stamp(NOW - timedelta(seconds=30))
    verifier.verify(body, signature(SECRET, stamp, body), stamp)
    with pytest.raises(WebhookRefused) as again:
        verifier.verify(body, signature(SECRET, stamp, body), stamp)
    assert again.value.reason == "replayed"
    later = _stamp(NOW - timedelta(seconds=29))  # Zendesk's retry: a new timestamp, a new signature
    verifier.verify(body, signature(SECRET, later, body), later)


T = "2026-03-02T15:00:00Z"  # NOW


@pytest.mark.parametrize(
    ("body", "given", "stamp", "reason"),
    [
        (b"{}", None, T, "missing"),
        (b"{}", "x", None, "missing"),
        (b"{}", "", "", "missing"),
        (b'{"a": 2}', signature(SECRET, T, b'{"a": 1}'), T, "bad"),  # another body
        (b'{"a":1}', signature(SECRET, T, b'{"a": 1}'), T, "bad"),  # the same JSON, other bytes
        (b"{}", signature("another secret", T, b"{}"), T, "bad"),
        (b"{}", signature(SECRET, "2026-03-02T15:00:01Z", b"{}"), T, "bad"),  # another time
        (b"{}", signature(SECRET, "yesterday", b"{}"), "yesterday", "bad"),
        (b"{}", signature(SECRET, "2026-03-02T14:54:59Z", b"{}"), "2026-03-02T14:54:59Z", "stale"),
        (b"{}", signature(SECRET, "2026-03-02T15:05:01Z", b"{}"), "2026-03-02T15:05:01Z", "stale"),
    ],
)
def test_requests_not_shown_genuine_and_fresh_are_refused(
    body: bytes, given: str | None, stamp: str | None, reason: str
) -> None:
    with pytest.raises(WebhookRefused) as refused:
        _verifier().verify(body, given, stamp)
    assert refused.value.reason == reason


def test_the_tolerance_is_the_edge_of_fresh() -> None:
    body = b"{}"
    for offset in (-300, 300):  # exactly at the tolerance, either way: taken
        stamp = _stamp(NOW + timedelta(seconds=offset))
        _verifier().verify(body, signature(SECRET, stamp, body), stamp)
    stamp = _stamp(NOW - timedelta(seconds=61))
    with pytest.raises(WebhookRefused, match="61 s old; at most 60 s"):
        _verifier(tolerance=60).verify(body, signature(SECRET, stamp, body), stamp)


def test_a_replay_is_refused_until_its_timestamp_is_stale() -> None:
    now = [NOW.timestamp()]
    verifier = SignatureVerifier(SECRET, tolerance=300, clock=lambda: now[0])
    body, stamp = b"{}", _stamp(NOW)
    given = signature(SECRET, stamp, body)
    verifier.verify(body, given, stamp)
    for later, reason in ((299, "replayed"), (301, "stale")):
        now[0] = NOW.timestamp() + later
        with pytest.raises(WebhookRefused) as refused:
            verifier.verify(body, given, stamp)
        assert refused.value.reason == reason


def _trigger_template() -> str:
    """The trigger's JSON body in docs/zendesk-webhook.md, placeholders unrendered."""
    doc = (ROOT / "docs" / "zendesk-webhook.md").read_text(encoding="utf-8")
    block = re.search(r"```json\n(\{\n  \"ticket\".*?)```", doc, re.S)
    assert block, "no trigger body template in docs/zendesk-webhook.md"
    return block[1]


#: What Zendesk renders each placeholder of the template as, for one ticket.
RENDERED = {
    "ticket.id": "35436",
    "ticket.created_at_with_timestamp": "2026-03-02T09:15Z",
    "ticket.updated_at_with_timestamp": "2026-03-02T14:40Z",
    "ticket.status": "Open",
    "ticket.priority": "High",
    "ticket.ticket_type": "Question",
    "ticket.via": "Mail",
    "ticket.tags": "vip billing",
    "ticket.description": "I was charged twice and nobody answers.",
}


def _trigger_body(**changes: str) -> bytes:
    values = RENDERED | changes
    text = re.sub(r"\{\{([\w.]+)\}\}", lambda m: values[m[1]], _trigger_template())
    return text.encode()


def _event_body(event: str = "zen:event-type:ticket.comment_added") -> bytes:
    return json.dumps(
        {
            "type": event,
            "account_id": 12345,
            "id": "2b1a2bd7-9c16-4bb4-a8c8-5ad3b1e9a6b0",
            "time": "2026-03-02T14:40:00Z",
            "zendesk_event_version": "2022-11-06",
            "subject": "zen:ticket:35437",
            "detail": {
                "id": "35437",
                "created_at": "2026-03-02T10:00:00Z",
                "updated_at": "2026-03-02T14:40:00Z",
                "status": "OPEN",
                "priority": "URGENT",
                "type": "INCIDENT",
                "via": {"channel": "web"},
                "group_id": "98738",
                "tags": ["vip"],
                "description": "Still waiting for my refund.",
            },
            "event": {"comment": {"id": "1", "body": "Any news?", "is_public": True}},
        }
    ).encode()


def test_the_documented_trigger_body_reads_as_a_ticket() -> None:
    assert set(re.findall(r"\{\{([\w.]+)\}\}", _trigger_template())) == set(RENDERED)
    found = read_body(_trigger_body())
    assert found.event == "trigger"
    row = found.row
    assert (row["ticket_id"], row["created_at"]) == ("35436", "2026-03-02T09:15:00+00:00")
    assert (row["priority"], row["category"], row["channel"], row["status"]) == (
        "high",
        "question",
        "mail",
        "open",
    )
    assert row["text"] == RENDERED["ticket.description"] and row["tags"] == "vip;billing"


def test_an_event_body_reads_as_its_ticket() -> None:
    found = read_body(_event_body())
    assert found.event == "zen:event-type:ticket.comment_added"
    row = found.row
    assert (row["ticket_id"], row["created_at"]) == ("35437", "2026-03-02T10:00:00+00:00")
    assert (row["priority"], row["category"], row["channel"]) == ("urgent", "incident", "web")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "body"),
        (b"\xff\xfe{}", "body"),
        (b"[1, 2]", "body"),
        (b'{"nothing": 1}', "ticket"),
        (b'{"ticket": "35436"}', "ticket"),
        (_trigger_body(**{"ticket.id": "{{ticket.id}}"}), "id"),  # left unrendered
        (_trigger_body(**{"ticket.created_at_with_timestamp": "soon"}), "created_at"),
        (_event_body("zen:event-type:user.created"), "type"),
        (b'{"type": "zen:event-type:ticket.created"}', "detail"),
    ],
)
def test_bodies_without_a_readable_ticket_name_the_field(body: bytes, field: str) -> None:
    with pytest.raises(RecordError) as error:
        read_body(body)
    assert error.value.field == field


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
_TICKETISH = st.fixed_dictionaries(
    {},
    optional={
        key: _JSON | st.text(max_size=30)
        for key in ("id", "created_at", "priority", "status", "type", "via", "tags", "description")
    },
)


@settings(max_examples=50, deadline=None)
@given(
    body=st.one_of(
        st.binary(max_size=200),
        _JSON.map(lambda v: json.dumps(v).encode()),
        _TICKETISH.map(lambda t: json.dumps({"ticket": t}).encode()),
        _TICKETISH.map(
            lambda t: json.dumps({"type": "zen:event-type:ticket.created", "detail": t}).encode()
        ),
    )
)
def test_hostile_bodies_are_a_ticket_or_a_named_refusal(body: bytes) -> None:
    try:
        found = read_body(body)
    except RecordError as error:
        assert error.field and error.reason
    else:
        assert found.row["ticket_id"].isdigit() and found.row["created_at"].endswith("+00:00")


@settings(max_examples=50, deadline=None)
@given(
    given_=st.one_of(st.none(), st.text(max_size=60)),
    stamp=st.one_of(st.none(), st.text(max_size=40)),
)
def test_hostile_headers_are_refused_not_crashed(given_: str | None, stamp: str | None) -> None:
    with pytest.raises(WebhookRefused):
        _verifier().verify(b"{}", given_, stamp)
    if stamp:  # a right signature over any timestamp: taken only when it is a fresh time
        try:
            _verifier().verify(b"{}", signature(SECRET, stamp, b"{}"), stamp)
        except WebhookRefused as refused:
            assert refused.reason in ("bad", "stale")


# --- through the service ----------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose MLflow store has a ``cxml-csat`` champion."""
    folder = tmp_path_factory.mktemp("webhook-store")
    with in_folder(folder):
        tickets = write_table(make_tickets(1500, seed=31, open_share=0.05), folder / "t.csv")
        train_csat(CsatConfig.model_validate({"split": {"refit": False}}), data=tickets)
    return folder


def _settings(**changes: Any) -> ServiceSettings:
    values: dict[str, Any] = {
        "api_key": KEY,
        "reload_seconds": 0,
        "sentiment_model": None,
        "themes_model": None,
        "zendesk_signing_secret": SECRET,
        "zendesk_probability_field": "360001",
    }
    return ServiceSettings(**(values | changes))


@pytest.fixture
def client(store: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.chdir(store)
    with TestClient(create_app(_settings())) as test_client:
        yield test_client


def _signed(body: bytes, moment: datetime | None = None, **extra: str) -> dict[str, str]:
    stamp = _stamp(moment or datetime.now(UTC))
    return {
        "X-API-Key": KEY,
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature(SECRET, stamp, body),
        TIMESTAMP_HEADER: stamp,
        **extra,
    }


@pytest.mark.slow
def test_a_trigger_is_scored_with_its_update(client: TestClient) -> None:
    body = _trigger_body()
    answer = client.post("/v1/webhooks/zendesk", content=body, headers=_signed(body))
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["ticket_id"] == "35436" and got["event"] == "trigger"
    assert 0 <= got["bad_rating_probability"] <= 1 and isinstance(got["at_risk"], bool)
    assert got["reasons"] and got["model_name"] == "cxml-csat"
    tags = "additional_tags" if got["at_risk"] else "remove_tags"
    assert got["update"] == {
        "method": "PUT",
        "path": "/api/v2/tickets/update_many.json",
        "body": {
            "tickets": [
                {
                    "id": 35436,
                    tags: ["cxml_at_risk"],
                    "custom_fields": [
                        {"id": 360001, "value": round(got["bad_rating_probability"], 4)}
                    ],
                }
            ]
        },
    }
    # the same ticket through /v1/tickets:score at the same moment: the same score
    ticket = {
        "ticket_id": "35436",
        "created_at": "2026-03-02T09:15:00Z",
        "priority": "high",
        "category": "question",
        "channel": "mail",
        "text": RENDERED["ticket.description"],
    }
    direct = client.post(
        "/v1/tickets:score",
        json={"ticket": ticket, "as_of": got["as_of"]},
        headers={"X-API-Key": KEY},
    ).json()["items"][0]
    assert direct["bad_rating_probability"] == got["bad_rating_probability"]
    assert direct["reasons"] == got["reasons"]


@pytest.mark.slow
def test_an_event_webhook_is_scored(client: TestClient) -> None:
    body = _event_body()
    answer = client.post("/v1/webhooks/zendesk", content=body, headers=_signed(body))
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["ticket_id"] == "35437" and got["event"] == "zen:event-type:ticket.comment_added"
    assert got["update"]["body"]["tickets"][0]["id"] == 35437


@pytest.mark.slow
def test_signatures_are_enforced(client: TestClient) -> None:
    body = _trigger_body()
    post = lambda headers: client.post("/v1/webhooks/zendesk", content=body, headers=headers)  # noqa: E731
    missing = post({"X-API-Key": KEY, "Content-Type": "application/json"})
    assert missing.status_code == 401 and "missing header" in missing.json()["detail"]
    tampered = _signed(body.replace(b"High", b"Low"))  # signed another body
    assert post(tampered).status_code == 401
    stale = post(_signed(body, datetime.now(UTC) - timedelta(minutes=6)))
    assert stale.status_code == 403 and "old" in stale.json()["detail"]
    headers = _signed(body)
    assert post(headers).status_code == 200
    replayed = post(headers)
    assert replayed.status_code == 403 and "already received" in replayed.json()["detail"]
    no_key = {k: v for k, v in _signed(body).items() if k != "X-API-Key"}
    assert post(no_key).status_code == 401  # the service's API key still applies
    wrong = _event_body("zen:event-type:organization.created")
    refused = client.post("/v1/webhooks/zendesk", content=wrong, headers=_signed(wrong))
    assert refused.status_code == 422 and refused.json()["detail"].startswith("type: ")
    huge = _trigger_body(**{"ticket.id": "99999999999999999999"})  # beyond 64-bit ids
    refused = client.post("/v1/webhooks/zendesk", content=huge, headers=_signed(huge))
    assert refused.status_code == 422 and refused.json()["detail"].startswith("id: ")


@pytest.mark.slow
def test_without_a_secret_the_webhook_is_off(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(store)
    with TestClient(create_app(_settings(zendesk_signing_secret=None))) as off:
        body = _trigger_body()
        answer = off.post("/v1/webhooks/zendesk", content=body, headers=_signed(body))
        assert answer.status_code == 503
        assert "CXML_ZENDESK_SIGNING_SECRET" in answer.json()["detail"]
        spec = off.get("/openapi.json").json()["paths"]["/v1/webhooks/zendesk"]["post"]
        examples = spec["requestBody"]["content"]["application/json"]["examples"]
        assert set(examples) == {"trigger", "event"}
        assert {"401", "403", "422", "503"} <= set(spec["responses"])
        headers = {p["name"] for p in spec["parameters"] if p["in"] == "header"}
        assert {SIGNATURE_HEADER, TIMESTAMP_HEADER} <= headers
