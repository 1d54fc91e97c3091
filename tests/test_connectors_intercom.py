"""Intercom conversations in: list pages, retrieved conversations, statistics and ratings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vendor_fixtures import assert_imported, intercom_export, write_json_lines

from cxml.connectors import import_export
from cxml.connectors.intercom import conversation_row
from cxml.connectors.result import RecordError
from cxml.connectors.values import html_text, unix_iso
from cxml.contracts.fields import TICKETS
from cxml.data import read_valid
from cxml.errors import BadInputError, DataError

T0 = 1772442900  # 2026-03-02T09:15:00Z


def _conversation(**fields: Any) -> dict[str, Any]:
    body = {"type": "conversation", "id": "11", "created_at": T0, "updated_at": T0 + 60}
    return body | fields


def test_pages_and_retrieved_conversations_give_back_every_ticket(tmp_path: Path) -> None:
    export = intercom_export(tmp_path, 30, repeated=3, retrieved=4)
    result = import_export("intercom", export.files, fields=export.fields)
    assert_imported(result.frame, export.truth)
    summary = result.summary
    assert (summary.read, summary.imported, summary.superseded, summary.rejected) == (33, 30, 3, 0)
    assert summary.balanced
    assert summary.notes["conversations whose parts were cut short: replies unknown"] == 1
    frame = result.frame.set_index("ticket_id")
    assert frame.loc[export.repeated, "status"].isin(["open", "closed"]).all()
    assert frame["replies"].notna().sum() == 3  # the retrieved ones with all their parts
    assert {"delivered_as", "group", "tags", "time_to_admin_reply", "count_assignments"} <= set(
        frame
    )
    assert frame["custom_field_category"].equals(frame["category"])


def test_statistics_rating_and_body_of_one_conversation() -> None:
    conversation = _conversation(
        state="closed",
        priority="priority",
        source={"type": "email", "delivered_as": "customer_initiated", "subject": "Refund",
                "body": "<p>Hi,</p><p>my order <b>#12</b> is late &amp; lost</p>"},
        statistics={"first_admin_reply_at": T0 + 3600, "last_close_at": T0 + 7200,
                    "count_reopens": 2, "count_assignments": 3, "time_to_admin_reply": 900},
        conversation_rating={"rating": 2, "remark": "slow", "created_at": T0 + 86400},
        tags={"type": "tag.list", "tags": [{"name": "vip"}, {"name": "refund"}]},
        custom_attributes={"Product area": "billing", "Flags": ["a", "b"]},
    )  # fmt: skip
    key, version, row, notes = conversation_row(conversation, {"category": "Product area"})
    assert (key, version, notes) == ("11", pd.Timestamp(T0 + 60, unit="s", tz="UTC"), [])
    assert row["created_at"] == "2026-03-02T09:15:00+00:00"
    assert row["first_response_at"] == "2026-03-02T10:15:00+00:00"
    assert row["solved_at"] == "2026-03-02T11:15:00+00:00"
    assert (row["reopens"], row["reassignments"], row["count_assignments"]) == (2, 2, 3)
    assert (row["channel"], row["priority"], row["category"]) == ("email", "high", "billing")
    assert row["text"] == "Hi,\nmy order #12 is late & lost"
    assert (row["rating"], row["survey_comment"]) == (2, "slow")
    assert row["rated_at"] == "2026-03-03T09:15:00+00:00"
    assert row["tags"] == "vip;refund" and row["custom_field_flags"] == '["a", "b"]'
    reopened = dict(conversation, state="open")
    assert conversation_row(reopened, {})[2]["solved_at"] is None  # open again: not solved


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"conversation_rating": {"rating": 6}}, "rating"),
        ({"conversation_rating": {"rating": "5"}}, "rating"),
        ({"created_at": "2026-03-02T09:15:00Z"}, "created_at"),
        ({"created_at": 10**13}, "created_at"),
        ({"created_at": None}, "created_at"),
        ({"priority": "urgent"}, "priority"),
        ({"statistics": {"count_reopens": -1}}, "reopens"),
        ({"statistics": {"count_assignments": 1.5}}, "reassignments"),
        ({"statistics": []}, "statistics"),
        ({"type": "admin"}, "(record)"),
        ({"id": True}, "ticket_id"),
        ({"source": {"body": {"html": "x"}}}, "text"),
    ],
)
def test_a_conversation_that_cannot_be_mapped_says_which_field(
    change: dict[str, Any], field: str
) -> None:
    with pytest.raises(RecordError) as caught:
        conversation_row(_conversation(**change), {})
    assert caught.value.field == field


def test_unix_times_and_html_bodies_known_cases() -> None:
    assert unix_iso(0, "x") == "1970-01-01T00:00:00+00:00"
    assert unix_iso(1663597223.5, "x") == "2022-09-19T14:20:23.500000+00:00"
    assert html_text("<div>a<br>b</div><script>x()</script><p> c&lt;d </p>") == "a\nb\nc<d"


def test_rejects_name_the_file_line_and_record(tmp_path: Path) -> None:
    page = {"type": "conversation.list", "conversations": [_conversation(), {"id": "2"}]}
    path = write_json_lines(tmp_path / "c.jsonl", [page, _conversation(id="3", priority=1)])
    with path.open("a", encoding="utf-8") as fh:
        fh.write("{oops\n")
    result = import_export("intercom", [path])
    assert list(result.frame["ticket_id"]) == ["11"]
    rejects = result.rejects[["_line", "_record", "_field"]].values.tolist()
    assert rejects == [[1, 1, "created_at"], [2, 0, "priority"], [3, 0, "(record)"]]
    assert result.summary.balanced and result.summary.read == 4


def test_options_intercom_does_not_have_are_refused(tmp_path: Path) -> None:
    path = write_json_lines(tmp_path / "c.jsonl", [_conversation(), _conversation(id="2")])
    with pytest.raises(BadInputError, match="--with"):
        import_export("intercom", [path], related=[path])
    with pytest.raises(BadInputError, match="--field time_zone"):
        import_export("intercom", [path], fields={"time_zone": "UTC"})


_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True), st.text(max_size=8), st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["rating", "tags", "body", "x"]), st.integers(), max_size=2),
)  # fmt: skip
_KEYS = ["id", "created_at", "updated_at", "state", "priority", "source", "statistics", "tags",
         "conversation_rating", "custom_attributes", "conversation_parts", "type"]  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    changes=st.lists(st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=3), max_size=6),
    broken=st.booleans(),
)
def test_hostile_conversations_never_crash_and_the_counts_add_up(
    tmp_path_factory: pytest.TempPathFactory, changes: list[dict[str, Any]], broken: bool
) -> None:
    folder = tmp_path_factory.mktemp("hostile")
    base = intercom_export(folder / "base", 4, repeated=0, retrieved=1)
    conversations = [json.loads(base.files[-1].read_text(encoding="utf-8"))]
    conversations += [{**conversations[0], "id": f"h{i}", **c} for i, c in enumerate(changes)]
    text = "\n".join(json.dumps(c) for c in conversations) + ("\n[1, {]" if broken else "")
    path = folder / "hostile.jsonl"
    path.write_text(text + "\n", encoding="utf-8")
    try:
        result = import_export("intercom", [path])
    except DataError as exc:
        assert str(path) in str(exc)
        return
    summary = result.summary
    assert summary.balanced, summary.as_dict()
    assert summary.rejected == len(result.rejects) == sum(summary.reasons.values())
    if len(result.frame):
        written, _ = result.write(folder / "out.csv")
        _, check, _ = read_valid(written, TICKETS)
        assert check.good == len(result.frame), check.describe()


def test_the_cli_imports_conversations_that_data_validate_accepts(tmp_path: Path) -> None:
    export = intercom_export(tmp_path / "export", 24)
    args = ["data", "import", "intercom", *map(str, export.files), "--out", "tickets.csv"]
    args += ["--field", "category=Category", "--field", "customer_tier=Tier"]
    done = run_cli(*args)
    assert done.returncode == 0, done.stderr
    n = len(export.truth)
    assert f"{export.records} records: {n} imported" in done.stdout + done.stderr
    done = run_cli("data", "validate", "tickets.csv", "--kind", "tickets")
    assert done.returncode == 0, done.stderr
    assert f"{n} rows: {n} good, 0 rejected" in done.stdout + done.stderr
