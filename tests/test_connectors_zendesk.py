"""Zendesk exports in: pages, JSON Lines, metrics, comments, events, ratings, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vendor_fixtures import (
    ZENDESK_CATEGORY_FIELD,
    ZENDESK_TIER_FIELD,
    write_json_lines,
    write_zendesk_pages,
    zendesk_comment,
    zendesk_comment_event,
    zendesk_export,
    zendesk_metric_set,
    zendesk_ticket,
)

from cxml.connectors import import_export
from cxml.connectors.result import ImportResult, RecordError
from cxml.connectors.zendesk import ticket_row
from cxml.contracts.fields import TICKETS
from cxml.data import read_valid
from cxml.errors import BadInputError, DataError

FIELDS = {"category": str(ZENDESK_CATEGORY_FIELD), "customer_tier": str(ZENDESK_TIER_FIELD)}
T0 = "2026-03-02T09:15:00Z"


def _import(
    pages: list[Path], related: list[Path] | None = None, fields: dict[str, str] | None = None
) -> ImportResult:
    result = import_export("zendesk", pages, related=related or [], fields=fields)
    assert result.summary.balanced, result.summary.as_dict()
    assert result.summary.rejected == len(result.rejects)
    assert result.summary.imported == len(result.frame)
    return result


def _rows(result: ImportResult) -> dict[str, dict[str, Any]]:
    frame = result.frame.astype(object).where(result.frame.notna(), None)
    return {row["ticket_id"]: row for row in frame.to_dict("records")}


def _check_truth(result: ImportResult, truth: pd.DataFrame, columns: list[str]) -> None:
    got = result.frame.set_index("ticket_id").loc[truth["ticket_id"], columns].reset_index()
    want = truth[["ticket_id", *columns]]
    for name in columns:
        mine = got[name].astype(object).where(got[name].notna(), None).tolist()
        theirs = want[name].astype(object).where(want[name].notna(), None).tolist()
        assert mine == theirs, name


@pytest.mark.parametrize("style", ["cursor", "time", "search", "list"])
@pytest.mark.parametrize("metrics", ["side", "file", "none"])
def test_a_paged_export_gives_back_every_ticket_in_its_latest_version(
    tmp_path: Path, style: str, metrics: str
) -> None:
    export = zendesk_export(tmp_path, 50, pages=4, style=style, metrics=metrics, seed=3)
    result = _import(export.pages, export.related, FIELDS)
    summary = result.summary
    assert len(export.pages) == 4
    assert summary.read == export.records
    assert summary.imported == len(export.truth) == 50 - len(export.deleted)
    assert summary.superseded == len(export.repeated) + len(export.deleted)
    assert summary.deleted == len(export.deleted) and summary.rejected == 0
    assert sorted(result.frame["ticket_id"]) == sorted(export.truth["ticket_id"])
    columns = ["created_at", "first_response_at", "solved_at", "channel", "category"]
    columns += ["priority", "customer_tier", "replies", "reopens", "group_stations"]
    columns += ["assignee_stations", "text", "rating", "survey_comment", "updated_at"]
    _check_truth(result, export.truth, columns)
    assert list(result.frame.columns[:3]) == ["ticket_id", "created_at", "first_response_at"]
    missing_metrics = summary.notes.get(
        "tickets without metrics (no first response, solve time or counts)", 0
    )
    assert missing_metrics == (len(export.truth) if metrics == "none" else 0)
    if metrics == "none":
        assert "first_response_at" in summary.missing and "replies" in summary.missing


def test_pages_read_in_any_order_still_keep_the_latest_version(tmp_path: Path) -> None:
    export = zendesk_export(tmp_path, 30, pages=3, repeated=6, deleted=3, seed=5)
    forward = _import(export.pages, fields=FIELDS)
    backward = _import(export.pages[::-1], fields=FIELDS)
    pd.testing.assert_frame_equal(
        forward.frame.sort_values("ticket_id").reset_index(drop=True),
        backward.frame.sort_values("ticket_id").reset_index(drop=True),
    )
    rows = _rows(backward)
    for ticket in export.repeated:  # the older version said open and unrated
        assert rows[ticket]["status"] != "open" or rows[ticket]["solved_at"] is None
    assert not set(export.deleted) & set(rows)
    assert backward.summary.deleted == 3


def test_a_version_of_equal_updated_at_read_later_wins_and_a_restored_ticket_returns(
    tmp_path: Path,
) -> None:
    first = zendesk_ticket(1, T0, updated_at="2026-03-03T00:00:00Z", priority="low")
    same = zendesk_ticket(1, T0, updated_at="2026-03-03T00:00:00Z", priority="high")
    gone = zendesk_ticket(2, T0, updated_at="2026-03-03T00:00:00Z", status="deleted")
    back = zendesk_ticket(2, T0, updated_at="2026-03-04T00:00:00Z", status="open")
    pages = write_zendesk_pages(tmp_path, [[first, gone], [same, back]], style="time")
    result = _import(pages)
    rows = _rows(result)
    assert rows["1"]["priority"] == "high" and rows["2"]["status"] == "open"
    assert (result.summary.superseded, result.summary.deleted) == (2, 0)


def test_json_lines_of_tickets_and_of_pages_with_a_broken_line(tmp_path: Path) -> None:
    tickets = [zendesk_ticket(i, T0) for i in (1, 2)]
    page = {"tickets": [zendesk_ticket(3, T0)], "metric_sets": [zendesk_metric_set(3, replies=4)]}
    path = write_json_lines(tmp_path / "tickets.jsonl", [*tickets, page])
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"id": 4, "created_at": \n')
    result = _import([path])
    assert sorted(result.frame["ticket_id"]) == ["1", "2", "3"]
    assert _rows(result)["3"]["replies"] == 4
    [reject] = result.rejects.to_dict("records")
    assert (reject["_line"], reject["_field"]) == (4, "record")
    assert "not JSON" in reject["_reason"] and reject["_file"] == str(path)


def test_a_single_ticket_response_and_search_results_of_other_kinds(tmp_path: Path) -> None:
    single = tmp_path / "ticket.json"
    single.write_text(json.dumps({"ticket": zendesk_ticket(7, T0)}), encoding="utf-8")
    user = {"id": 8, "name": "Jane", "result_type": "user", "created_at": T0}
    search = tmp_path / "search.json"
    body = {"results": [dict(zendesk_ticket(9, T0), result_type="ticket"), user], "count": 2}
    search.write_text(json.dumps(body), encoding="utf-8")
    result = _import([single, search])
    assert sorted(result.frame["ticket_id"]) == ["7", "9"]
    [reject] = result.rejects.to_dict("records")
    assert reject["_field"] == "result_type" and "'user'" in reject["_reason"]
    assert reject["_record"] == 1


def test_metrics_give_the_first_response_solve_time_and_counts() -> None:
    metric = zendesk_metric_set(
        1,
        reply_time_in_minutes={"calendar": 2391, "business": 737},
        first_resolution_time_in_minutes={"calendar": 3000, "business": 800},
        full_resolution_time_in_minutes={"calendar": 4000, "business": 900},
        solved_at="2026-03-05T10:00:00Z",
        replies=3,
        reopens=1,
        group_stations=4,
        assignee_stations=2,
    )
    row = ticket_row(zendesk_ticket(1, T0), metric)
    # 2,391 minutes = 1 day 15 h 51 min after 09:15
    assert row["first_response_at"] == "2026-03-04T01:06:00+00:00"
    assert row["solved_at"] == "2026-03-05T10:00:00+00:00"
    assert (row["replies"], row["reopens"], row["group_stations"], row["assignee_stations"]) == (
        3,
        1,
        4,
        2,
    )
    assert (row["first_resolution_minutes"], row["full_resolution_minutes"]) == (3000.0, 4000.0)
    plain = ticket_row(zendesk_ticket(1, T0))
    assert plain["first_response_at"] is None and plain["replies"] is None


def test_side_loaded_metrics_win_over_a_metrics_file_and_the_newest_file_record_wins(
    tmp_path: Path,
) -> None:
    older = zendesk_metric_set(1, replies=1, updated_at="2026-03-02T10:00:00Z")
    newer = zendesk_metric_set(1, replies=2, updated_at="2026-03-02T11:00:00+00:00")
    single = {"ticket_metric": zendesk_metric_set(2, replies=5)}
    related = write_json_lines(tmp_path / "metrics.jsonl", [newer, older, single])
    side = [[zendesk_metric_set(3, replies=9)]]
    tickets = [zendesk_ticket(i, T0) for i in (1, 2, 3)]
    pages = write_zendesk_pages(tmp_path, [tickets], metric_sets=side)
    rows = _rows(_import(pages, [related]))
    assert [rows[k]["replies"] for k in ("1", "2", "3")] == [2, 5, 9]


def test_deleted_tickets_are_dropped_and_counted(tmp_path: Path) -> None:
    tickets = [
        zendesk_ticket(1, T0, status="deleted"),
        zendesk_ticket(2, "not a time", updated_at=T0, status="deleted"),  # fields do not matter
        zendesk_ticket(3, T0, status="solved"),
    ]
    result = _import(write_zendesk_pages(tmp_path, [tickets]))
    assert result.frame["ticket_id"].tolist() == ["3"]
    assert (result.summary.deleted, result.summary.rejected) == (2, 0)


def test_custom_fields_pass_through_and_fill_the_fields_asked_for(tmp_path: Path) -> None:
    custom = [
        {"id": 360001001, "value": "billing"},
        {"id": 360001002, "value": None},
        {"id": 360001003, "value": ["opt_a", "opt_b"]},
        {"id": 360001004, "value": True},
        {"id": 360001005, "value": 12.5},
    ]
    ticket = zendesk_ticket(1, T0, type="incident", custom_fields=custom, tags=["vip", "eu"])
    row = ticket_row(ticket, fields={"category": "360001001"})
    assert row["category"] == "billing" and row["type"] == "incident"
    assert row["custom_field_360001003"] == '["opt_a", "opt_b"]' and row["tags"] == "vip;eu"
    assert (row["custom_field_360001004"], row["custom_field_360001005"]) == (True, 12.5)
    assert row["custom_field_360001002"] is None
    assert ticket_row(ticket)["category"] == "incident"  # without --field: the ticket type
    path = write_zendesk_pages(tmp_path, [[ticket]])
    result = _import(path, fields={"customer_tier": "360001002"})
    assert result.summary.notes["customer_tier: custom field 360001002 empty or absent"] == 1
    with pytest.raises(BadInputError, match="--field text"):
        import_export("zendesk", path, fields={"text": "360001001"})
    with pytest.raises(BadInputError, match="custom field id"):
        import_export("zendesk", path, fields={"category": "Category"})


@pytest.mark.parametrize(
    ("given", "utc"),
    [
        ("2026-03-02T09:15:00Z", "2026-03-02T09:15:00+00:00"),
        ("2026-03-02T18:15:00+09:00", "2026-03-02T09:15:00+00:00"),
        ("2026-03-02T04:15:00-05:00", "2026-03-02T09:15:00+00:00"),
        ("2026-03-02T09:15:00", "2026-03-02T09:15:00+00:00"),  # no offset: UTC
        ("2026-03-02T09:15:00.250Z", "2026-03-02T09:15:00.250000+00:00"),
        ("2026-03-02 09:15:00 +0100", "2026-03-02T08:15:00+00:00"),
        ("2026-03-01T23:30:00-10:00", "2026-03-02T09:30:00+00:00"),  # the next UTC day
    ],
)
def test_times_are_written_in_utc_with_the_offset(given: str, utc: str) -> None:
    assert ticket_row(zendesk_ticket(1, given))["created_at"] == utc


@pytest.mark.parametrize(
    ("ticket", "field", "reason"),
    [
        ({"created_at": T0}, "id", "missing"),
        ({"id": "abc", "created_at": T0}, "id", "whole number"),
        ({"id": True, "created_at": T0}, "id", "whole number"),
        ({"id": 1}, "created_at", "missing"),
        ({"id": 1, "created_at": "1500-01-01T00:00:00Z"}, "created_at", "outside"),
        ({"id": 1, "created_at": "9999-12-31T00:00:00Z"}, "created_at", "outside"),
        ({"id": 1, "created_at": "2026-13-01T00:00:00Z"}, "created_at", "not a date"),
        ({"id": 1, "created_at": 1772442900}, "created_at", "not a date"),
        ({"id": 1, "created_at": "03/04/2026"}, "created_at", "ambiguous"),
        ({"id": 1, "created_at": T0, "tags": "vip"}, "tags", "list"),
        ({"id": 1, "created_at": T0, "via": {"channel": ["web"]}}, "via", "text"),
        ({"id": 1, "created_at": T0, "custom_fields": [{"value": 1}]}, "custom_fields", "no id"),
        (
            {"id": 1, "created_at": T0, "satisfaction_rating": {"score": "great"}},
            "satisfaction_rating.score",
            "good, bad, offered or unoffered",
        ),
    ],
)
def test_a_ticket_that_cannot_be_mapped_says_which_field_and_why(
    ticket: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(RecordError) as raised:
        ticket_row(ticket)
    assert raised.value.field == field and reason in raised.value.reason


@pytest.mark.parametrize(
    ("metric", "field"),
    [
        ({"replies": -1}, "replies"),
        ({"reopens": 2.5}, "reopens"),
        ({"group_stations": 10**7}, "group_stations"),
        ({"reply_time_in_minutes": {"calendar": float("nan")}}, "reply_time_in_minutes"),
        ({"reply_time_in_minutes": {"calendar": 1e300}}, "reply_time_in_minutes"),
        ({"reply_time_in_minutes": 30}, "reply_time_in_minutes"),
        ({"solved_at": "yesterday"}, "solved_at"),
    ],
)
def test_a_metric_that_is_no_count_or_time_rejects_the_ticket(
    metric: dict[str, Any], field: str
) -> None:
    with pytest.raises(RecordError) as raised:
        ticket_row(zendesk_ticket(1, T0), zendesk_metric_set(1, **metric))
    assert raised.value.field == field


def test_rejects_name_the_file_line_record_field_and_reason(tmp_path: Path) -> None:
    good = zendesk_ticket(1, T0)
    bad = zendesk_ticket(2, "2026-02-30T10:00:00Z", updated_at=T0)
    pages = write_zendesk_pages(tmp_path, [[good, bad, "oops"]])
    result = _import(pages)
    out = tmp_path / "tickets.csv"
    written, rejects = result.write(out)
    assert rejects is not None
    table = pd.read_csv(rejects)
    assert table.columns.tolist() == ["_file", "_line", "_record", "_field", "_reason", "_raw"]
    assert table["_record"].tolist() == [1, 2]
    assert table["_field"].tolist() == ["created_at", "record"]
    assert json.loads(table["_raw"][0])["id"] == 2
    assert "expected a JSON object, got text" in table["_reason"][1]
    assert pd.read_csv(written)["ticket_id"].tolist() == [1]


def test_binary_satisfaction_ratings_and_what_was_not_answered(tmp_path: Path) -> None:
    def rated(i: int, rating: Any) -> dict[str, Any]:
        return zendesk_ticket(i, T0, status="solved", satisfaction_rating=rating)

    tickets = [
        rated(1, {"id": 501, "score": "good", "comment": "Quick and kind"}),
        rated(2, {"id": 502, "score": "BAD", "comment": "Nobody read my message"}),
        rated(3, {"score": "offered"}),
        rated(4, {"score": "unoffered"}),
        rated(5, None),
    ]
    ratings = {
        "satisfaction_ratings": [
            {"id": 501, "ticket_id": 1, "score": "good", "updated_at": "2026-03-04T08:00:00Z"},
            {"id": 599, "ticket_id": 3, "score": "bad", "comment": "Late answer",
             "created_at": "2026-03-05T08:00:00Z", "updated_at": "2026-03-05T09:00:00+01:00"},
        ]
    }  # fmt: skip
    related = tmp_path / "satisfaction_ratings.json"
    related.write_text(json.dumps(ratings), encoding="utf-8")
    result = _import(write_zendesk_pages(tmp_path, [tickets]), [related])
    rows = _rows(result)
    assert [rows[str(i)]["rating"] for i in range(1, 6)] == ["good", "bad", "bad", None, None]
    assert rows["1"]["survey_comment"] == "Quick and kind"
    assert rows["1"]["rated_at"] == "2026-03-04T08:00:00+00:00"
    assert rows["2"]["rated_at"] is None  # the ticket's own rating carries no time
    assert (rows["3"]["survey_comment"], rows["3"]["rated_at"]) == (
        "Late answer",
        "2026-03-05T08:00:00+00:00",
    )
    assert result.summary.notes["satisfaction survey not offered"] == 1
    assert "satisfaction survey offered, not answered" not in result.summary.notes
    assert {"survey_comment", "rated_at"} <= set(TICKETS.names) | set(result.frame.columns)


def test_notes_count_only_the_versions_kept(tmp_path: Path) -> None:
    offered = zendesk_ticket(1, T0, updated_at=T0, satisfaction_rating={"score": "offered"})
    answered = zendesk_ticket(
        1, T0, updated_at="2026-03-09T00:00:00Z", satisfaction_rating={"score": "good"}
    )
    result = _import(write_zendesk_pages(tmp_path, [[offered], [answered]]))
    assert "satisfaction survey offered, not answered" not in result.summary.notes
    assert _rows(result)["1"]["rating"] == "good"


def test_the_requesters_first_public_comment_is_the_text(tmp_path: Path) -> None:
    tickets = [zendesk_ticket(i, T0, description=f"description {i}") for i in (1, 2, 3, 4)]
    agent = 7001
    lines = [  # JSON Lines, each comment with the ticket it was fetched for
        dict(zendesk_comment(11, agent, "internal", "2026-03-02T09:00:00Z", public=False),
             ticket_id=1),
        dict(zendesk_comment(12, 9001, "second", "2026-03-02T10:00:00Z"), ticket_id=1),
        dict(zendesk_comment(13, 9001, "first", "2026-03-02T18:30:00+09:00"), ticket_id=1),
        dict(zendesk_comment(21, agent, "Agent opened this", "2026-03-02T09:00:00Z"),
             ticket_id=2),
        dict(zendesk_comment(22, 9002, "Customer words", "2026-03-02T09:10:00Z"), ticket_id="2"),
        dict(zendesk_comment(31, agent, "Outbound only", "2026-03-02T09:00:00Z"), ticket_id=3),
        zendesk_comment(99, 9004, "no ticket named", "2026-03-02T09:00:00Z"),
    ]  # fmt: skip
    comments = write_json_lines(tmp_path / "comments.jsonl", lines)
    page = {"ticket_id": 4, "comments": [zendesk_comment(41, 9004, "From a page", T0)]}
    saved_page = tmp_path / "comments-4.json"
    saved_page.write_text(json.dumps(page), encoding="utf-8")
    pages = write_zendesk_pages(tmp_path, [tickets])
    result = _import(pages, [comments, saved_page])
    rows = _rows(result)
    assert [rows[str(i)]["text"] for i in (1, 2, 3, 4)] == [
        "first",
        "Customer words",
        "Outbound only",
        "From a page",
    ]
    [note] = [n for n in result.summary.notes if n.startswith("records skipped")]
    assert "comments without a ticket_id" in note and "line 7" in note
    assert result.summary.notes[note] == 1


def test_ticket_events_with_comment_events_give_the_text(tmp_path: Path) -> None:
    tickets = [zendesk_ticket(i, T0, description="from the description") for i in (1, 2, 3)]
    events = {
        "ticket_events": [
            zendesk_comment_event(1, 9001, "Later words", "2026-03-02T11:00:00Z"),
            zendesk_comment_event(1, 9001, "My parcel is lost", "2026-03-02T09:15:00Z"),
            zendesk_comment_event(2, 7001, "private", "2026-03-02T09:15:00Z", public=False),
            {"id": 5, "ticket_id": 3, "created_at": T0, "updater_id": 9003,
             "child_events": [{"id": 6, "event_type": "Change", "comment_present": True,
                               "comment_public": True}]},
        ],
        "next_page": None,
        "count": 4,
        "end_time": 1772442900,
        "end_of_stream": True,
    }  # fmt: skip
    related = tmp_path / "ticket_events.json"
    related.write_text(json.dumps(events), encoding="utf-8")
    result = _import(write_zendesk_pages(tmp_path, [tickets]), [related])
    rows = _rows(result)
    assert [rows[k]["text"] for k in "123"] == ["My parcel is lost"] + ["from the description"] * 2
    hidden = (
        "ticket events with a comment but not its text (export them with include=comment_events)"
    )
    assert result.summary.notes[hidden] == 1


def test_an_export_given_in_the_wrong_place_stops_with_a_clear_error(tmp_path: Path) -> None:
    pages = write_zendesk_pages(tmp_path, [[zendesk_ticket(1, T0)]])
    comments = tmp_path / "comments.json"
    comments.write_text(json.dumps({"comments": [zendesk_comment(1, 2, "x", T0)]}), "utf-8")
    with pytest.raises(DataError, match="comments export, not tickets; give it with --with"):
        import_export("zendesk", [comments])
    with pytest.raises(DataError, match="ticket export; name it as an export file"):
        import_export("zendesk", pages, related=pages)
    with pytest.raises(DataError, match="no Zendesk ticket metrics, comments"):
        import_export("zendesk", pages, related=[comments])  # comments that name no ticket
    lines = write_json_lines(tmp_path / "mixed.jsonl", [dict(zendesk_comment(1, 2, "x", T0),
                                                             ticket_id=1)])  # fmt: skip
    result = _import([lines, *pages])
    assert result.rejects["_reason"].tolist() == [
        "a comment, not a ticket; give the comments with --with"
    ]


def test_end_of_stream_missing_from_every_page_is_noted(tmp_path: Path) -> None:
    export = zendesk_export(tmp_path, 20, pages=3, repeated=0, deleted=0)
    note = "no page says end_of_stream: true (the export may stop early)"
    assert note not in _import(export.pages).summary.notes
    assert _import(export.pages[:-1]).summary.notes[note] == 1


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_TIMES = st.sampled_from(
    [T0, "2026-03-02T18:15:00+09:00", "1500-01-01T00:00:00Z", "2026-02-30T00:00:00Z", "03/04/2026",
     "", "9999-12-31T23:59:59Z", "2262-04-11T23:47:16.854775807Z"]
) | _SCALARS  # fmt: skip
_TICKETS = st.fixed_dictionaries(
    {"id": st.one_of(st.integers(min_value=-2, max_value=6), st.sampled_from(["3", "x", ""]),
                     _SCALARS),
     "created_at": _TIMES},
    optional={
        "updated_at": _TIMES,
        "status": st.sampled_from(["open", "solved", "deleted"]) | _SCALARS,
        "via": st.fixed_dictionaries({"channel": st.sampled_from(["web", "email"]) | _JSON}),
        "priority": _JSON,
        "tags": st.lists(st.text(max_size=5), max_size=3) | _JSON,
        "custom_fields": st.lists(st.fixed_dictionaries({"id": _SCALARS, "value": _JSON}),
                                  max_size=2) | _JSON,
        "satisfaction_rating": st.fixed_dictionaries(
            {"score": st.sampled_from(["good", "bad", "offered", "unoffered"]) | _SCALARS},
            optional={"updated_at": _TIMES, "comment": _JSON, "id": _SCALARS}) | _JSON,
        "result_type": st.sampled_from(["ticket", "user"]),
    },
)  # fmt: skip
_METRICS = st.fixed_dictionaries(
    {"ticket_id": st.integers(min_value=0, max_value=6) | _SCALARS},
    optional={
        "replies": _SCALARS,
        "group_stations": _SCALARS,
        "reply_time_in_minutes": st.fixed_dictionaries({"calendar": _SCALARS}) | _JSON,
        "solved_at": _TIMES,
    },
)  # fmt: skip
_PAGES = st.one_of(
    st.fixed_dictionaries(
        {"tickets": st.lists(_TICKETS | _JSON, max_size=5)},
        optional={"metric_sets": st.lists(_METRICS | _JSON, max_size=3) | _JSON,
                  "end_of_stream": _SCALARS},
    ),
    st.fixed_dictionaries({"results": st.lists(_TICKETS, max_size=3)}),
    st.lists(_TICKETS | _JSON, max_size=4),
    _JSON,
)  # fmt: skip
_FILES = st.one_of(
    _PAGES.map(lambda page: json.dumps(page, indent=1)),
    st.lists(_PAGES | _TICKETS, min_size=1, max_size=4).map(
        lambda lines: "\n".join(json.dumps(x) for x in lines)
    ),
    st.lists(_TICKETS.map(json.dumps) | st.text(max_size=20), min_size=2, max_size=5).map(
        "\n".join
    ),
    st.text(max_size=40),
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.lists(_FILES, min_size=1, max_size=3))
def test_hostile_pages_never_crash_and_the_counts_always_add_up(
    tmp_path_factory: pytest.TempPathFactory, files: list[str]
) -> None:
    folder = tmp_path_factory.mktemp("hostile")
    paths = []
    for number, text in enumerate(files):
        path = folder / f"page-{number}.json"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    try:
        result = import_export("zendesk", paths)
    except DataError as exc:  # a file that is empty or no JSON at all: named, with the line
        assert any(str(p) in str(exc) for p in paths)
        return
    summary = result.summary
    assert summary.balanced, summary.as_dict()
    assert summary.rejected == len(result.rejects) == sum(summary.reasons.values())
    assert summary.imported == len(result.frame)
    assert result.frame["ticket_id"].is_unique if len(result.frame) else True
    assert result.rejects["_reason"].str.len().max() < 400 if len(result.rejects) else True
    written, _ = result.write(folder / "out.csv")
    if len(result.frame):
        _, check, _ = read_valid(written, TICKETS)
        assert check.good == len(result.frame), check.describe()


def test_the_cli_imports_an_export_that_data_validate_accepts(tmp_path: Path) -> None:
    export = zendesk_export(tmp_path / "export", 40, metrics="file", comments=True,
                            ratings_file=True)  # fmt: skip
    args = ["data", "import", "zendesk", *map(str, export.pages)]
    for path in export.related:
        args += ["--with", str(path)]
    args += ["--field", f"category={ZENDESK_CATEGORY_FIELD}"]
    args += ["--field", f"customer_tier={ZENDESK_TIER_FIELD}", "--out", "tickets.csv"]
    done = run_cli(*args)
    assert done.returncode == 0, done.stderr
    shown = done.stdout + done.stderr
    n = len(export.truth)
    assert f"{export.records} records: {n} imported" in shown
    assert "fields found: ticket_id, created_at, first_response_at, solved_at" in shown
    done = run_cli("data", "validate", "tickets.csv", "--kind", "tickets")
    assert done.returncode == 0, done.stderr
    assert f"{n} rows: {n} good, 0 rejected" in done.stdout + done.stderr
    frame = pd.read_csv("tickets.csv")
    assert set(frame["rating"].dropna()) <= {"good", "bad"}
    assert frame["rated_at"].notna().sum() == export.truth["rated_at"].notna().sum() > 0
    done = run_cli("data", "import", "zendesk", str(export.pages[0]), "--field", "lang=1",
                   "--out", "x.csv")  # fmt: skip
    assert done.returncode == 2 and "--field lang" in done.stdout + done.stderr
