"""One rule for time (cxml.contracts.times): everywhere a timestamp is read, the same answer.

Times outside what pandas represents are rejects, never wrapped; a bare number is no date; a
day/month order that the data does not settle is asked for; impossible orders and future dates
are flagged and their durations are missing, never negative.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from helpers import in_folder, run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from cxml.config import CsatConfig, DataConfig, TicketFeaturesConfig
from cxml.contracts.fields import TICKETS
from cxml.contracts.tickets import ticket_inputs_from_columns
from cxml.contracts.times import DateColumns, parse_instant, parse_times, utc_ns
from cxml.data import read_valid, write_table
from cxml.data.synth import make_tickets
from cxml.data.validate import Validator
from cxml.errors import BadInputError, DataError
from cxml.scoring.batch import score_tickets_file
from cxml.scoring.service import create_app
from cxml.scoring.settings import ServiceSettings
from cxml.tickets.features import TicketFeaturizer

RANGE = "outside the representable range"
FIRST = pd.Timestamp.min.tz_localize("UTC")
LAST = pd.Timestamp.max.tz_localize("UTC")
AS_OF = "2026-07-01T09:00:00Z"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder whose MLflow store has a ``cxml-csat`` champion (no text signal: quicker)."""
    from cxml.training.csat import train_csat

    folder = tmp_path_factory.mktemp("times-store")
    with in_folder(folder):
        tickets = write_table(make_tickets(1500, seed=31, open_share=0.05), "tickets.csv")
        config = {"split": {"refit": False}, "features": {"text": None}}
        train_csat(CsatConfig.model_validate(config), data=tickets)
    yield folder


def _tickets_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    lines = ["ticket_id,created_at,text", *(f"{i},{t},charged twice" for i, t in rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_times_outside_the_range_are_rejects_with_that_reason_never_wrapped() -> None:
    values = [
        "3000-01-01T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:00:00-05:00",  # year 10000 in UTC
        "2026-06-30T10:00:00.123456789Z",  # nanoseconds: the others must not become NaT
        FIRST.isoformat(),
        LAST.isoformat(),
        "1677-09-21T00:12:43.145224192Z",  # 1 ns before the first
        "2262-04-11T23:47:16.854775808Z",  # 1 ns after the last
        dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        np.datetime64("0001-01-01"),
    ]
    times = parse_times(values)
    assert times.values.dtype == "datetime64[ns, UTC]"
    assert times.values[[3, 4, 5]].tolist() == [
        pd.Timestamp("2026-06-30T10:00:00.123456789Z"),
        FIRST,
        LAST,
    ]
    outside = [0, 1, 2, 6, 7, 8, 9]
    assert times.bad.tolist() == [i in outside for i in range(len(values))]
    assert times.values[outside].isna().all()
    assert all(RANGE in times.reasons[i] for i in outside)
    column = pd.Series(pd.to_datetime(["2026-01-01", "3000-01-01"]).as_unit("us"))
    parsed = parse_times(column)  # a Parquet timestamp column
    assert parsed.bad.tolist() == [False, True] and RANGE in parsed.reasons[1]
    assert pd.isna(utc_ns(column)[1])  # features: missing, not 1830


@settings(max_examples=40, deadline=None)
@given(st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)))
def test_any_iso_time_is_read_exactly_or_rejected_as_outside(moment: dt.datetime) -> None:
    times = parse_times([moment.isoformat() + "Z", moment])
    inside = FIRST <= pd.Timestamp(moment, tz="UTC") <= LAST
    for i in range(2):
        if inside:
            assert times.values[i] == pd.Timestamp(moment, tz="UTC")
        else:
            assert pd.isna(times.values[i]) and RANGE in times.reasons[i]


def test_a_bare_number_is_not_a_date_but_iso_8601_always_is() -> None:
    times = parse_times(["12345", 12345, 1.5, "2026", "20260630", "2026-06-30", " 2026-06-30 "])
    assert times.bad.tolist() == [True, True, True, True, False, False, False]
    assert "a bare number is not a date" in times.reasons[0]
    assert set(times.values[4:]) == {pd.Timestamp("2026-06-30", tz="UTC")}


def test_day_month_forms_follow_dayfirst() -> None:
    values = ["06/30/2026", "30.06.2026", "01/08/2023", "05/05/2026", "2026-01-08", "31/02/2026"]
    unset = parse_times(values)
    assert unset.values[[0, 1, 3, 4]].dt.strftime("%m-%d").tolist() == [
        "06-30",
        "06-30",
        "05-05",
        "01-08",
    ]
    assert unset.month_first.tolist()[:2] == [True, False] and unset.day_first[1]
    assert unset.ambiguous.tolist() == [False, False, True, False, False, False]
    day = parse_times(values, dayfirst=True)
    assert day.values[2] == pd.Timestamp("2023-08-01", tz="UTC")
    assert day.bad.tolist() == [True, False, False, False, False, True]
    assert "not a day-first date (got '06/30/2026'" in day.reasons[0]
    month = parse_times(values, dayfirst=False)
    assert month.values[2] == pd.Timestamp("2023-01-08", tz="UTC")
    assert "not a month-first date (got '30.06.2026'" in month.reasons[1]
    with_times = parse_times(["30.06.2026 10:15", "30/06/26 10:00 PM", "June 30, 2026"])
    assert with_times.values.tolist() == [
        pd.Timestamp("2026-06-30T10:15Z"),
        pd.Timestamp("2026-06-30T22:00Z"),
        pd.Timestamp("2026-06-30T00:00Z"),
    ]
    assert parse_times(["Jun 30", "10:00"]).bad.all()  # no year, no day: nothing to guess


def test_ambiguous_or_mixed_orders_stop_with_an_error_that_asks_for_dayfirst() -> None:
    dates = DateColumns("export.csv")
    rows = pd.Series([11, 12])
    with pytest.raises(DataError, match=r"export.csv: created_at on row 12 is '01/08/2023'"):
        dates.parse("created_at", pd.Series(["2026-01-01", "01/08/2023"]), rows)
    dates = DateColumns("export.csv")
    dates.parse("created_at", pd.Series(["06/30/2026", "2026-07-01"]), rows)  # chunk 1
    with pytest.raises(DataError) as caught:
        dates.parse("created_at", pd.Series(["2026-07-01", "30.06.2026"]), rows + 10)  # chunk 2
    message = str(caught.value)
    assert "(row 11: '06/30/2026')" in message and "(row 22: '30.06.2026')" in message
    assert "data.dayfirst" in message and "--dayfirst" in message and "--monthfirst" in message


def test_data_validate_names_the_mixed_column_and_takes_an_order(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("ticket_id,created_at\nA,06/30/2026\nB,30.06.2026\n")
    mixed = run_cli("data", "validate", "m.csv", "--kind", "tickets")
    assert mixed.returncode == 2
    assert "m.csv: created_at mixes month-first dates (row 1: '06/30/2026')" in mixed.stderr
    day = run_cli("data", "validate", "m.csv", "--kind", "tickets", "--dayfirst")
    assert day.returncode == 0 and "1 good, 1 rejected" in day.stdout
    assert "not a day-first date (got '06/30/2026'" in day.stdout + day.stderr


def test_an_unparseable_date_beside_an_empty_one_keeps_its_reason(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {"ticket_id": ["a", "b", "c"], "created_at": ["garbage", "", "2026-07-01"]}
    )
    _, summary, rejects = read_valid(write_table(frame, "g.csv"), TICKETS, rejects="g.rej.csv")
    assert summary.good == 1 and rejects is not None
    reasons = pd.read_csv(rejects).set_index("_row")["_reason"]
    assert reasons[1] == "created_at: not a date/time (got 'garbage'; expected ISO 8601)"
    assert reasons[2] == "created_at: missing value"


def _ordered_tickets() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ticket_id": ["ok", "solved-early", "replied-early", "future", "open"],
            "created_at": ["2026-06-01T10:00Z"] * 3 + ["2026-08-01T10:00Z", "2026-06-30T09:00Z"],
            "first_response_at": [None, None, "2026-06-01T09:00Z", None, None],
            "solved_at": ["2026-06-02T10:00Z", "2026-05-30T10:00Z", None, None, None],
        }
    )


def test_impossible_orders_and_future_dates_are_flagged() -> None:
    validator = Validator(TICKETS, source="t", as_of=pd.Timestamp(AS_OF))
    good, rejected = validator.validate(_ordered_tickets().assign(_row=range(1, 6)))
    assert len(good) == 5 and len(rejected) == 0
    assert dict(validator.summary.flags) == {
        "solved_at before created_at": 1,
        "first_response_at before created_at": 1,
        "created_at after the scoring moment": 1,
    }
    assert "; 1 solved_at before created_at" in validator.summary.describe()


def test_ticket_features_are_missing_never_wrapped_or_negative() -> None:
    frame = _ordered_tickets().assign(as_of=AS_OF)
    frame.loc[4, "created_at"] = "3000-01-01T00:00:00Z"  # raw model input: not validated
    config = TicketFeaturesConfig(text=None, categorical=[], counts=[])
    featurizer = TicketFeaturizer(config).fit(frame, [0, 1, 0, 1, 0])
    features = featurizer.transform(frame)
    hours = features[["first_response_hours", "hours_open"]]
    assert hours.iloc[0].notna().all()  # the sound ticket
    assert hours.iloc[[1, 3, 4]].isna().all().all()  # solved early, created later, year 3000
    assert np.isnan(hours.iloc[2, 0]) and hours.iloc[2, 1] == 719  # replied before creation
    assert features.loc[4, ["created_hour", "created_weekday"]].isna().all()


def test_out_of_range_datetimes_reach_the_model_as_missing() -> None:
    late = dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    inputs = ticket_inputs_from_columns(
        {"ticket_id": ["a", "b"], "created_at": [late, dt.datetime(2026, 7, 1)]},
        pd.RangeIndex(2),
    )
    assert inputs["created_at"].tolist() == [None, "2026-07-01T00:00:00+00:00"]


def test_a_single_moment_is_checked_and_named() -> None:
    assert parse_instant("2026-07-01T18:00:00+09:00", name="--as-of") == pd.Timestamp(AS_OF)
    assert parse_instant(dt.datetime(2026, 7, 1, 9), name="as_of") == pd.Timestamp(AS_OF)
    for value, reason in [
        (12345, "a bare number is not a date"),
        ("garbage", "not a date/time"),
        ("1500-01-01", RANGE),
        ("01/08/2023", "ambiguous day/month order"),
    ]:
        with pytest.raises(BadInputError, match=f"^as_of: .*{reason}"):
            parse_instant(value, name="as_of")


def test_as_of_on_the_command_line_is_checked_before_anything_loads(tmp_path: Path) -> None:
    _tickets_csv(tmp_path / "t.csv", [("T1", "2026-06-30T10:00:00Z")])
    for value, reason in [("1500-01-01", RANGE), ("12345", "a bare number")]:
        done = run_cli("score", "tickets", "t.csv", "--out", "o.jsonl", "--as-of", value)
        assert done.returncode == 2 and "--as-of: " in done.stderr and reason in done.stderr


def test_batch_rejects_out_of_range_times_and_flags_impossible_orders(store: Path) -> None:
    with in_folder(store):
        rows = [("T6", "3000-01-01T00:00:00Z"), ("T20", "0001-01-01T00:00:00Z")]
        _tickets_csv(Path("range.csv"), [*rows, ("T7", "2026-06-30T10:00:00Z")])
        done = run_cli("score", "tickets", "range.csv", "--out", "range.jsonl", "--as-of", AS_OF)
        assert done.returncode == 0, done.stderr
        assert pd.read_json("range.jsonl", lines=True)["ticket_id"].tolist() == ["T7"]
        rejects = pd.read_csv("range.jsonl.rejects.csv")
        assert rejects["_row"].tolist() == [1, 2]
        assert rejects["_reason"].str.contains(RANGE).all()
        _ordered_tickets().to_csv("ordered.csv", index=False)
        result = score_tickets_file("ordered.csv", "ordered.jsonl", as_of=pd.Timestamp(AS_OF))
        assert result.rows == 5
        assert result.data.flags == {
            "solved_at before created_at": 1,
            "first_response_at before created_at": 1,
            "created_at after the scoring moment": 1,
        }


def test_python_api_checks_as_of_and_reports_flags(store: Path) -> None:
    import cxml

    with in_folder(store):
        for as_of in (12345, "garbage"):
            with pytest.raises(BadInputError, match=r"^as_of: not a date/time"):
                cxml.score_tickets(_ordered_tickets(), as_of=as_of)
        with pytest.warns(UserWarning, match="times out of order"):
            scored = cxml.score_tickets(_ordered_tickets(), as_of=AS_OF)
        assert len(scored) == 5
        assert scored.attrs["flags"]["created_at after the scoring moment"] == 1
        assert scored.attrs["flags"]["solved_at before created_at"] == 1


def test_http_times_outside_the_range_or_numbers_are_422_naming_the_field(store: Path) -> None:
    ticket = {"ticket_id": "t", "created_at": "9999-12-31T23:00:00-05:00"}
    sound = ticket | {"created_at": AS_OF}
    cases = [
        ({"ticket": ticket}, "created_at", RANGE),
        ({"ticket": ticket | {"created_at": 12345}}, "created_at", "a bare number"),
        ({"ticket": sound | {"solved_at": "0001-01-01T00:00:00"}}, "solved_at", RANGE),
        ({"ticket": sound, "as_of": "1500-01-01T00:00:00Z"}, "as_of", RANGE),
    ]
    settings_ = ServiceSettings(reload_seconds=0)
    with in_folder(store), TestClient(create_app(settings_)) as client:
        for body, field, reason in cases:
            answer = client.post("/v1/tickets:score", json=body)
            assert answer.status_code == 422, answer.text
            errors = answer.json()["detail"]
            assert any(e["loc"][-1] == field and reason in e["msg"] for e in errors), errors
        fine = client.post("/v1/tickets:score", json={"ticket": sound})
        assert fine.status_code == 200, fine.text


def test_dayfirst_is_unset_by_default() -> None:
    assert DataConfig().dayfirst is None
    assert DataConfig(dayfirst=False).dayfirst is False
