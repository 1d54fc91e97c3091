"""Freshdesk tickets in: API pages with stats, satisfaction ratings, the CSV export."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vendor_fixtures import (
    FRESHDESK_RATING_CODES,
    assert_imported,
    freshdesk_csv,
    freshdesk_export,
    write_json_lines,
)

from cxml.connectors import import_export
from cxml.connectors.freshdesk import RATINGS
from cxml.contracts.fields import TICKETS
from cxml.data import read_valid
from cxml.errors import BadInputError, DataError

T0 = "2026-03-02T09:15:00Z"


def test_api_pages_give_back_every_ticket_in_its_latest_version(tmp_path: Path) -> None:
    export = freshdesk_export(tmp_path, 40, repeated=4, no_stats=3)
    result = import_export("freshdesk", export.files, related=export.related, fields=export.fields)
    assert_imported(result.frame, export.truth)
    summary = result.summary
    assert (summary.read, summary.imported, summary.superseded, summary.deleted) == (44, 38, 4, 2)
    assert summary.rejected == 0 and summary.balanced
    assert summary.notes["deleted tickets dropped"] == summary.notes["spam tickets dropped"] == 1
    assert summary.notes["satisfaction ratings of tickets not in the export"] == 1
    assert sum(v for k, v in summary.notes.items() if k.startswith("tickets without stats")) == 3
    frame = result.frame.set_index("ticket_id")
    assert not set(export.dropped) & set(frame.index)
    # the older versions (open, written last) lost to the newer ones
    assert (frame.loc[export.repeated, "status"] != "open").any()
    assert frame.loc["5001", "channel"] == "11"  # a source code Freshdesk does not name
    assert frame.loc["5001", "group"] == "43000000" and frame.loc["5001", "tags"].startswith(
        "synthetic;"
    )
    assert {"custom_field_tier", "custom_field_order_ref", "subject", "updated_at"} <= set(frame)


def test_the_latest_rating_of_a_ticket_wins_whatever_the_file_order(tmp_path: Path) -> None:
    export = freshdesk_export(tmp_path, 12)
    ratings = json.loads(export.related[0].read_text(encoding="utf-8"))
    first = ratings[0]
    older = [r for r in ratings if r["ticket_id"] == first["ticket_id"]]
    assert len(older) == 2 and older[1]["ratings"]["default_question"] == 100  # written 2nd
    result = import_export("freshdesk", export.files, related=export.related, fields=export.fields)
    rated = result.frame.set_index("ticket_id").loc[str(first["ticket_id"]), "rating"]
    assert rated == RATINGS[first["ratings"]["default_question"]] != 3


@pytest.mark.parametrize(
    ("code", "rating"),
    [(103, 5), (102, 4), (101, 4), (100, 3), (-101, 2), (-102, 2), (-103, 1)],
)
def test_freshdesk_rating_codes_on_the_1_to_5_scale(code: int, rating: int) -> None:
    # Freshdesk's scales (2, 3, 5, 7 points) use 103 / 102 / 101 / 100 / -101 / -102 / -103 from
    # Extremely Happy to Extremely Unhappy: unhappy codes are exactly the bad ratings (1-2)
    assert RATINGS[code] == rating
    assert (rating <= 2) == (code < 0)
    assert RATINGS[FRESHDESK_RATING_CODES[rating]] == rating  # a 5-point survey round trip


def test_a_rating_that_is_no_freshdesk_code_rejects_its_ticket(tmp_path: Path) -> None:
    ticket = {"id": 7, "created_at": T0, "updated_at": T0, "priority": 1, "source": 2}
    pages = write_json_lines(tmp_path / "tickets.jsonl", [ticket, dict(ticket, id=8)])
    rating = {"ticket_id": 7, "ratings": {"default_question": 104}, "updated_at": T0}
    ratings = write_json_lines(tmp_path / "ratings.jsonl", [rating, {"no": "ticket"}, "x"])
    result = import_export("freshdesk", [pages], related=[ratings])
    assert list(result.frame["ticket_id"]) == ["8"]
    reject = result.rejects.iloc[0]
    assert (reject["_field"], reject["_line"]) == ("rating", 1)
    assert f"{ratings}, line 1" in reject["_reason"] and "104" in reject["_reason"]
    assert result.summary.notes["satisfaction ratings not used (no ticket_id)"] == 1
    assert result.summary.notes["satisfaction ratings not used (not a rating object)"] == 1


def test_records_that_cannot_be_mapped_are_rejected_where_they_are(tmp_path: Path) -> None:
    good = {"id": 1, "created_at": T0, "updated_at": T0, "status": 2, "priority": 2, "source": 1}
    page = tmp_path / "page.json"
    page.write_text(
        json.dumps(
            [
                good,
                dict(good, id=2, priority=5),
                dict(good, id=3, created_at="2026-02-30T00:00:00Z"),
                dict(good, id=None),
                "not a ticket",
                dict(good, id=4, stats={"first_responded_at": "3000-01-01T00:00:00Z"}),
                dict(good, id=5, tags="vip"),
                dict(good, id=6, source="email"),
            ]
        ),
        encoding="utf-8",
    )
    lines = tmp_path / "more.jsonl"
    lines.write_text(json.dumps(dict(good, id=9)) + "\n{broken\n", encoding="utf-8")
    result = import_export("freshdesk", [page, lines])
    assert sorted(result.frame["ticket_id"]) == ["1", "9"]
    rejects = result.rejects.set_index("_record")
    assert rejects.loc[1, "_field"] == "priority" and "5 is not" in rejects.loc[1, "_reason"]
    assert rejects.loc[2, "_field"] == "created_at"
    assert rejects.loc[3, "_field"] == "ticket_id"
    assert rejects.loc[4, "_field"] == "(record)"
    assert (
        rejects.loc[5, "_field"] == "first_response_at" and "outside" in rejects.loc[5, "_reason"]
    )
    assert rejects.loc[6, "_field"] == "tags" and rejects.loc[7, "_field"] == "channel"
    broken = result.rejects[result.rejects["_file"] == str(lines)].iloc[0]
    assert broken["_line"] == 2 and "not JSON" in broken["_reason"]
    assert result.summary.balanced and result.summary.rejected == 8


def test_the_csv_export_is_read_in_the_agents_time_zone(tmp_path: Path) -> None:
    export = freshdesk_csv(tmp_path, 30, zone="Asia/Kolkata")
    result = import_export("freshdesk", export.files, fields=export.fields)
    assert_imported(result.frame, export.truth)
    first = result.frame.iloc[0]
    assert first["created_at"].endswith("+00:00")
    assert first["status"] in {"open", "resolved", "closed"} and ";" in first["tags"]
    assert {"subject", "group", "type", "customer_interactions", "product"} <= set(result.frame)


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16", "utf-8-sig"])
def test_the_csv_export_with_codes_in_other_encodings(tmp_path: Path, encoding: str) -> None:
    export = freshdesk_csv(tmp_path, 12, zone="UTC", encoding=encoding, codes=True)
    result = import_export("freshdesk", export.files, fields=export.fields)
    assert_imported(result.frame, export.truth)
    assert "très bien — 5€" in result.frame["text"].iloc[0]


def test_a_csv_export_without_its_time_zone_stops_and_says_how(tmp_path: Path) -> None:
    export = freshdesk_csv(tmp_path, 3)
    with pytest.raises(BadInputError, match=r"tickets\.csv, line 2: .*--field time_zone"):
        import_export("freshdesk", export.files)


def _csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, ["Ticket ID", "Created time", "Priority", "Survey results"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_local_times_a_clock_change_skips_or_repeats_are_rejected(tmp_path: Path) -> None:
    path = _csv(
        tmp_path / "t.csv",
        [
            {"Ticket ID": 1, "Created time": "2026-03-08 02:30:00", "Priority": "Low"},
            {"Ticket ID": 2, "Created time": "2026-11-01 01:30:00", "Priority": "Urgent"},
            {"Ticket ID": 3, "Created time": "2026-07-01 12:00:00", "Priority": "Medium",
             "Survey results": "Very Unhappy"},
            {"Ticket ID": 4, "Created time": "2026-07-01 12:00:00", "Priority": "Extreme"},
            {"Ticket ID": 5, "Created time": "2026-07-01 12:00:00", "Survey results": "Great"},
        ],
    )  # fmt: skip
    result = import_export("freshdesk", [path], fields={"time_zone": "America/Denver"})
    row = result.frame.iloc[0]
    assert (row["ticket_id"], row["created_at"], row["priority"], row["rating"]) == (
        "3", "2026-07-01T18:00:00+00:00", "normal", 2,
    )  # fmt: skip
    rejects = result.rejects
    assert list(rejects["_line"]) == [2, 3, 5, 6]
    assert list(rejects["_field"]) == ["created_at", "created_at", "priority", "rating"]
    assert "clock change" in rejects["_reason"].iloc[0]


def test_fields_this_export_does_not_have_are_refused(tmp_path: Path) -> None:
    export = freshdesk_csv(tmp_path, 2)
    with pytest.raises(BadInputError, match="--field lang"):
        import_export("freshdesk", export.files, fields={"lang": "x"})
    with pytest.raises(BadInputError, match="unknown time zone"):
        import_export("freshdesk", export.files, fields={"time_zone": "Mars/Olympus"})


#: Cells an import takes, and cells that reject their row (by column).
_GOOD = {
    "id": ["1", "2", "x-9"],
    "created": ["2026-03-02 09:15:00", "2026-03-02T09:15:00+09:00", "2026-3-2 9:15"],
    "priority": ["Low", "Medium", "4", "urgent", ""],
    "replies": ["0", "3", "", "2.0"],
    "survey": ["", "Extremely Happy", "neutral"],
    "text": ["late", "café €", 'say "hi"', "two\nlines", "\x00", "\u200b", ",;", "환불", ""],
}
_BAD = {
    "id": ["", " "],
    "created": ["2026-02-30 10:00:00", "1500-01-01 00:00:00", "not a date", "", "12345"],
    "priority": ["Extreme", "0", "2.5"],
    "replies": ["-1", "many", "1e9"],
    "survey": ["Super", "-103"],
}
#: A good row, and maybe the one column that spoils it with its bad cell.
_ROWS = st.tuples(
    st.fixed_dictionaries({k: st.sampled_from(v) for k, v in _GOOD.items()}),
    st.none()
    | st.sampled_from(sorted(_BAD)).flatmap(
        lambda k: st.tuples(st.just(k), st.sampled_from(_BAD[k]))
    ),
)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(
    rows=st.lists(_ROWS, min_size=1, max_size=8),
    encoding=st.sampled_from(["utf-8", "utf-16", "cp949"]),
)
def test_hostile_csv_rows_are_imported_or_rejected_and_the_counts_add_up(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[dict[str, str], tuple[str, str] | None]],
    encoding: str,
) -> None:
    folder = tmp_path_factory.mktemp("hostile")
    path = folder / "tickets.csv"
    columns = ["Ticket ID", "Created time", "Priority", "Agent interactions", "Survey results",
               "Description"]  # fmt: skip
    text = ",".join(columns) + "\n"
    for cells, spoiled in rows:
        values = cells | dict([spoiled] if spoiled else [])
        text += ",".join('"' + values[k].replace('"', '""') + '"' for k in _GOOD) + "\n"
    path.write_bytes(text.encode(encoding, "replace"))
    try:
        result = import_export("freshdesk", [path], fields={"time_zone": "Asia/Seoul"})
    except DataError as exc:  # bytes that are no text in the encoding it was read as
        assert str(path) in str(exc)
        return
    summary = result.summary
    assert summary.balanced and summary.read == len(rows)
    assert summary.rejected == len(result.rejects) == sum(summary.reasons.values())
    kept = {cells["id"] for cells, spoiled in rows if spoiled is None}
    assert set(result.frame["ticket_id"]) == kept
    assert list(result.rejects["_field"]) == [
        {"id": "ticket_id", "created": "created_at", "replies": "replies", "survey": "rating",
         "priority": "priority"}[spoiled[0]]
        for _, spoiled in rows
        if spoiled
    ]  # fmt: skip
    assert set(result.rejects["_line"]) <= set(range(2, 2 + 2 * len(rows)))
    if len(result.frame):
        written, _ = result.write(folder / "out.csv")
        _, check, _ = read_valid(written, TICKETS)
        assert check.good == len(result.frame), check.describe()


def test_the_cli_imports_pages_and_ratings_that_data_validate_accepts(tmp_path: Path) -> None:
    export = freshdesk_export(tmp_path / "export", 30)
    args = ["data", "import", "freshdesk", *map(str, export.files)]
    args += ["--with", str(export.related[0]), "--field", "customer_tier=cf_tier"]
    done = run_cli(*args, "--out", "tickets.csv")
    assert done.returncode == 0, done.stderr
    shown = done.stdout + done.stderr
    n = len(export.truth)
    assert f"{export.records} records: {n} imported" in shown
    assert "spam tickets dropped: 1" in shown
    done = run_cli("data", "validate", "tickets.csv", "--kind", "tickets")
    assert done.returncode == 0, done.stderr
    assert f"{n} rows: {n} good, 0 rejected" in done.stdout + done.stderr
    frame = pd.read_csv("tickets.csv")
    assert frame["rated_at"].notna().sum() == export.truth["rated_at"].notna().sum() > 0
