"""Flags back to the helpdesk: request shapes, Zendesk batching, ids that cannot round-trip,
and ``cxml score tickets --format`` with its counts, rejects and resume."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from cxml.connectors.flags import (
    DEFAULT_TAG,
    ZENDESK_BATCH,
    FlagTarget,
    flag_requests,
    iter_requests,
)
from cxml.data.synth import make_tickets
from cxml.errors import BadInputError
from cxml.scoring import score_tickets_file

ZENDESK = FlagTarget("zendesk", probability_field="360001", flag_field="360002")


def _scored(n: int, start: int = 1000) -> pd.DataFrame:
    """``n`` scored tickets with ids ``start``...; every third at risk."""
    rng = np.random.default_rng(n)
    return pd.DataFrame(
        {
            "ticket_id": [str(start + i) for i in range(n)],
            "bad_rating_probability": rng.uniform(0, 1, n),
            "at_risk": [i % 3 == 0 for i in range(n)],
            "reasons": [["slow first reply"]] * n,
        }
    )


def _tickets(requests: list[Any]) -> list[dict[str, Any]]:
    return [t for r in requests for t in r["body"]["tickets"]]


@pytest.mark.parametrize("n", [0, 1, 99, 100, 101, 250])
def test_zendesk_sends_at_most_100_tickets_a_request(n: int) -> None:
    scored = _scored(n)
    result = flag_requests(scored, ZENDESK)
    assert len(result.requests) == math.ceil(n / ZENDESK_BATCH)
    assert [len(r["body"]["tickets"]) for r in result.requests[:-1]] == [100] * (
        len(result.requests) - 1 if result.requests else 0
    )
    assert {(r["method"], r["path"]) for r in result.requests} <= {
        ("PUT", "/api/v2/tickets/update_many.json")
    }
    tickets = _tickets(result.requests)
    assert [t["id"] for t in tickets] == [int(i) for i in scored["ticket_id"]]
    assert result.tickets == n and result.rejects.empty


def test_zendesk_ticket_shape() -> None:
    scored = pd.DataFrame(
        {
            "ticket_id": ["35436", "35437"],
            "bad_rating_probability": [0.83124, 0.04],
            "at_risk": [True, False],
        }
    )
    tickets = _tickets(flag_requests(scored, ZENDESK).requests)
    assert tickets == [
        {
            "id": 35436,
            "additional_tags": [DEFAULT_TAG],
            "custom_fields": [{"id": 360001, "value": 0.8312}, {"id": 360002, "value": True}],
        },
        {
            "id": 35437,
            "remove_tags": [DEFAULT_TAG],  # no longer at risk: the tag goes, the others stay
            "custom_fields": [{"id": 360001, "value": 0.04}, {"id": 360002, "value": False}],
        },
    ]
    only_tags = _tickets(flag_requests(scored, FlagTarget("zendesk", tag="risky")).requests)
    assert only_tags == [
        {"id": 35436, "additional_tags": ["risky"]},
        {"id": 35437, "remove_tags": ["risky"]},
    ]
    json.dumps(tickets)  # plain JSON types only


def test_batches_run_across_chunks() -> None:
    scored = _scored(210)
    chunks = [scored.iloc[:70], scored.iloc[70:140], scored.iloc[140:]]
    streamed = list(iter_requests(chunks, ZENDESK))
    assert [len(r["body"]["tickets"]) for r in streamed] == [100, 100, 10]
    assert streamed == flag_requests(scored, ZENDESK).requests


def test_freshdesk_updates_custom_fields_one_ticket_at_a_time() -> None:
    target = FlagTarget(
        "freshdesk", probability_field="cf_cxml_probability", flag_field="cf_cxml_at_risk"
    )
    scored = pd.DataFrame(
        {
            "ticket_id": ["20", "21"],
            "bad_rating_probability": [0.61239, 0.2],
            "at_risk": [True, False],
        }
    )
    assert flag_requests(scored, target).requests == [
        {
            "method": "PUT",
            "path": "/api/v2/tickets/20",
            "body": {"custom_fields": {"cf_cxml_probability": 0.6124, "cf_cxml_at_risk": True}},
        },
        {
            "method": "PUT",
            "path": "/api/v2/tickets/21",
            "body": {"custom_fields": {"cf_cxml_probability": 0.2, "cf_cxml_at_risk": False}},
        },
    ]


def test_intercom_sets_attributes_and_tags_conversations_at_risk() -> None:
    target = FlagTarget("intercom", tag="7522907", admin_id="780", flag_field="cxml_at_risk")
    scored = pd.DataFrame(
        {
            "ticket_id": ["64619700005694", "64619700005695"],
            "bad_rating_probability": [0.7, 0.1],
            "at_risk": [True, False],
        }
    )
    assert flag_requests(scored, target).requests == [
        {
            "method": "PUT",
            "path": "/conversations/64619700005694",
            "body": {"custom_attributes": {"cxml_at_risk": True}},
        },
        {
            "method": "POST",
            "path": "/conversations/64619700005694/tags",
            "body": {"id": "7522907", "admin_id": "780"},
        },
        {
            "method": "PUT",
            "path": "/conversations/64619700005695",
            "body": {"custom_attributes": {"cxml_at_risk": False}},
        },
    ]
    tags_only = FlagTarget("intercom", tag="7522907", admin_id="780")
    assert [r["method"] for r in flag_requests(scored, tags_only).requests] == ["POST"]


@pytest.mark.parametrize(
    ("ticket_id", "ok"),
    [
        ("1", True),
        ("9223372036854775807", True),  # the largest 64-bit id
        (123, True),
        (np.int64(5), True),
        ("9223372036854775808", False),
        ("0", False),
        ("007", False),  # would come back as 7
        ("-5", False),
        ("1.0", False),
        ("1e3", False),
        (" 12", False),
        ("", False),
        ("T-9", False),
        (12.0, False),
        (True, False),
        (None, False),
        (float("nan"), False),
    ],
)
def test_zendesk_ids_must_be_whole_numbers(ticket_id: Any, ok: bool) -> None:
    scored = pd.DataFrame(
        {"ticket_id": [ticket_id], "bad_rating_probability": [0.5], "at_risk": [True]},
        dtype=object,
    )
    result = flag_requests(scored, ZENDESK)
    assert result.tickets == int(ok) and len(result.rejects) == int(not ok)
    if ok:
        assert _tickets(result.requests)[0]["id"] == int(ticket_id)
    else:
        assert result.requests == []
        assert result.rejects["_field"].tolist() == ["ticket_id"]
        assert result.rejects["_reason"].iloc[0].startswith("ticket_id: ")


@settings(max_examples=50, deadline=None)
@given(
    ids=st.lists(
        st.one_of(st.text(max_size=25), st.integers(min_value=-5, max_value=2**64), st.none()),
        max_size=30,
    ),
    probabilities=st.lists(
        st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3)),
        min_size=30,
        max_size=30,
    ),
    vendor=st.sampled_from(["zendesk", "freshdesk", "intercom"]),
)
def test_hostile_rows_round_trip_or_are_rejected(
    ids: list[Any], probabilities: list[Any], vendor: str
) -> None:
    fields = {"zendesk": "1", "freshdesk": "cf_p", "intercom": "p"}
    target = FlagTarget(vendor, probability_field=fields[vendor])
    n = len(ids)
    scored = pd.DataFrame(
        {"ticket_id": ids, "bad_rating_probability": probabilities[:n], "at_risk": [True] * n},
        dtype=object,
    )
    result = flag_requests(scored, target)
    assert result.tickets + len(result.rejects) == n  # every row once
    kept = scored.drop(index=result.rejects.index)
    if vendor == "zendesk":
        written = [
            (str(t["id"]), t["custom_fields"][0]["value"]) for t in _tickets(result.requests)
        ]
    else:  # {"custom_fields": {"cf_p": ...}} or {"custom_attributes": {"p": ...}}
        values = [next(iter(r["body"].values())) for r in result.requests]
        written = [
            (r["path"].split("/")[-1], v[fields[vendor]])
            for r, v in zip(result.requests, values, strict=True)
        ]
    assert [w[0] for w in written] == [str(i) for i in kept["ticket_id"]]  # ids round-trip
    assert all(0 <= w[1] <= 1 for w in written)
    assert set(result.rejects["_field"]) <= {"ticket_id", "bad_rating_probability"}


def test_bad_scores_are_rejected_with_their_field() -> None:
    scored = pd.DataFrame(
        {
            "ticket_id": ["1", "2", "3", "4"],
            "bad_rating_probability": [0.5, float("nan"), 1.5, 0.2],
            "at_risk": [True, True, False, "yes"],
        },
        dtype=object,
    )
    result = flag_requests(scored, ZENDESK)
    assert result.tickets == 1
    assert result.rejects["_field"].tolist() == [
        "bad_rating_probability",
        "bad_rating_probability",
        "at_risk",
    ]
    assert result.rejects.index.tolist() == [1, 2, 3]
    with pytest.raises(BadInputError, match="ticket '2' cannot be flagged"):
        list(iter_requests([scored], ZENDESK))
    with pytest.raises(BadInputError, match="missing at_risk"):
        flag_requests(scored.drop(columns=["at_risk"]), ZENDESK)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"vendor": "helpscout"}, "unknown helpdesk"),
        ({"vendor": "zendesk", "probability_field": "cf_x"}, "custom field's id"),
        ({"vendor": "zendesk", "tag": "at risk"}, "without spaces"),
        ({"vendor": "zendesk", "admin_id": "1"}, "only Intercom"),
        ({"vendor": "freshdesk", "tag": "risk", "flag_field": "cf_r"}, "whole tag list"),
        ({"vendor": "freshdesk"}, "name where the flags go"),
        ({"vendor": "freshdesk", "flag_field": "risk"}, "starts with cf_"),
        ({"vendor": "intercom", "tag": "7"}, "--admin-id"),
        ({"vendor": "intercom"}, "name where the flags go"),
        ({"vendor": "intercom", "tag": "a/b", "admin_id": "1"}, "Intercom id"),
    ],
)
def test_targets_that_cannot_work_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        FlagTarget(**options)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a registered ticket model."""
    from helpers import in_folder

    folder = tmp_path_factory.mktemp("flags-model")
    with in_folder(folder):
        make_tickets(1500, seed=31, open_share=0.05).to_csv("tickets.csv", index=False)
        done = run_cli("train", "csat", "--data", "tickets.csv", "--set", "split.refit=false")
        assert done.returncode == 0, done.stderr
    return folder


def _open_tickets(path: Path) -> pd.DataFrame:
    tickets = make_tickets(260, seed=32, open_share=0.5, start="2026-08-01", days=20)
    tickets["ticket_id"] = [str(5000 + i) for i in range(len(tickets))]
    tickets.loc[3, "ticket_id"] = "T-9"  # not a Zendesk id
    tickets.loc[150, "ticket_id"] = "0150"  # would not round-trip
    tickets.loc[7, "created_at"] = "yesterday-ish"  # an ordinary reject
    tickets.to_csv(path, index=False)
    return tickets


@pytest.mark.slow
def test_cli_format_zendesk_counts_add_up(
    trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(trained)
    tickets = _open_tickets(tmp_path / "open.csv")
    out = tmp_path / "flags.jsonl"
    moment = ("--as-of", "2026-08-22T00:00:00Z")
    done = run_cli(
        "score", "tickets", str(tmp_path / "open.csv"), "--out", str(out), "--format",
        "zendesk", "--probability-field", "360001", "--chunksize", "64", *moment,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "scored 257 tickets" in done.stdout and "3 requests" in done.stdout
    requests = [json.loads(line) for line in out.read_text().splitlines()]
    assert [len(r["body"]["tickets"]) for r in requests] == [100, 100, 57]
    rejects = pd.read_csv(tmp_path / "flags.jsonl.rejects.csv")
    assert sorted(rejects["_row"]) == [4, 8, 151]
    assert set(rejects["_field"]) == {"ticket_id", "created_at"}
    sent = _tickets(requests)
    assert len(sent) + len(rejects) == len(tickets)  # rows read = flagged + rejected
    good = tickets.drop(index=[3, 7, 150])
    assert [str(t["id"]) for t in sent] == good["ticket_id"].tolist()
    table = tmp_path / "scored.csv"
    run_cli("score", "tickets", str(tmp_path / "open.csv"), "--out", str(table), *moment)
    scored = pd.read_csv(table, dtype={"ticket_id": str})
    scored = scored[scored["ticket_id"].isin(good["ticket_id"])]
    assert [t["custom_fields"][0]["value"] for t in sent] == (
        scored["bad_rating_probability"].round(4).tolist()
    )
    assert ["additional_tags" in t for t in sent] == scored["at_risk"].tolist()
    refused = run_cli(
        "score", "tickets", str(tmp_path / "open.csv"), "--out", str(tmp_path / "f.csv"),
        "--format", "freshdesk", "--flag-field", "cf_risk",
    )  # fmt: skip
    assert refused.returncode == 2 and "name a .jsonl file" in refused.stderr
    assert not (tmp_path / "f.csv").exists()


@pytest.mark.slow
def test_an_interrupted_flags_job_resumes_to_the_same_requests(
    trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(trained)
    source = tmp_path / "open.csv"
    _open_tickets(source)
    target = FlagTarget("freshdesk", probability_field="cf_p", flag_field="cf_risk")
    moment = pd.Timestamp("2026-08-22", tz="UTC")
    whole = score_tickets_file(
        source, tmp_path / "whole.jsonl", as_of=moment, chunksize=50, flags=target
    )
    assert (whole.rows, whole.requests, whole.data.rejected) == (257, 257, 3)

    def stop_after_two(rows: int, done: list[int] = []) -> None:  # noqa: B006
        done.append(rows)
        if len(done) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        score_tickets_file(
            source, tmp_path / "again.jsonl", as_of=moment, chunksize=50, flags=target,
            on_rows=stop_after_two,
        )  # fmt: skip
    assert not (tmp_path / "again.jsonl").exists()
    again = score_tickets_file(
        source, tmp_path / "again.jsonl", as_of=moment, chunksize=50, flags=target
    )
    assert again.resumed and (again.rows, again.requests) == (257, 257)
    assert (tmp_path / "again.jsonl").read_bytes() == (tmp_path / "whole.jsonl").read_bytes()
    assert (tmp_path / "again.jsonl.rejects.csv").read_bytes() == (
        tmp_path / "whole.jsonl.rejects.csv"
    ).read_bytes()
