"""Stations: ``group_stations`` and ``assignee_stations`` are ticket fields and counts; ping-pong is
judged on the groups a ticket passed through where the helpdesk gives them, else on reassignments,
and its reason names the ticket's own number ("passed through 4 groups")."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxml.config import TicketFeaturesConfig
from cxml.contracts.fields import TICKETS
from cxml.contracts.tickets import TICKET_COUNTS, ticket_inputs
from cxml.data.synth import make_tickets
from cxml.data.validate import Validator
from cxml.tickets import TicketFeaturizer, TicketRiskModel
from cxml.tickets.reasons import phrase, top_reasons

#: No text model: these tests are about counts, and fit in seconds.
PLAIN = TicketFeaturesConfig(text=None)


def _frame(**columns: list[float | None]) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"created_at": ["2026-03-02T09:00:00Z"] * n, **columns})


def test_stations_are_ticket_fields_read_as_whole_counts() -> None:
    assert {"group_stations", "assignee_stations"} <= set(TICKET_COUNTS)
    frame = pd.DataFrame(
        {
            "_row": [1, 2, 3, 4],
            "ticket_id": ["a", "b", "c", "d"],
            "created_at": ["2026-03-02T09:00:00Z"] * 4,
            "group_stations": ["4", -1, 2.5, None],
            "assignee_stations": [3, 1, 1, "x"],
        }
    )
    good, rejected = Validator(TICKETS, source="t.csv").validate(frame)
    assert good["ticket_id"].tolist() == ["a"]
    assert good["group_stations"].dtype == "Int64" and good["group_stations"].tolist() == [4]
    reasons = dict(zip(rejected["_row"], rejected["_reason"], strict=True))
    assert reasons[2].startswith("group_stations: outside 0..1e+06")
    assert reasons[3].startswith("group_stations: not a whole number")
    assert reasons[4].startswith("assignee_stations: not a number")


def test_ping_pong_uses_groups_where_given_else_reassignments() -> None:
    frame = _frame(
        group_stations=[4, 2, None, None, 3],
        reassignments=[0, 6, 5, None, 4],
        assignee_stations=[1, 2, 3, 4, 5],
    )
    features = TicketFeaturizer(PLAIN).fit(frame, [0, 1, 0, 1, 0]).transform(frame)
    assert features["ping_pong"].tolist()[:3] == [1.0, 0.0, 1.0]
    assert np.isnan(features["ping_pong"].iloc[3])
    assert features["ping_pong"].iloc[4] == 0.0  # 3 groups, though 4 hops
    assert features["assignee_stations"].tolist() == [1, 2, 3, 4, 5]
    hops6 = TicketFeaturesConfig(text=None, ping_pong_hops=6)
    stricter = TicketFeaturizer(hops6).fit(frame, [0, 1, 0, 1, 0]).transform(frame)
    assert stricter["ping_pong"].tolist()[:3] == [0.0, 0.0, 0.0]
    only_groups = frame.drop(columns="reassignments")
    alone = TicketFeaturizer(PLAIN).fit(only_groups, [0, 1, 0, 1, 0]).transform(only_groups)
    assert alone["ping_pong"].tolist()[:2] == [1.0, 0.0] and alone["ping_pong"].isna().sum() == 2


def test_count_columns_the_training_data_never_fills_are_left_out() -> None:
    flat = _frame(replies=[1, 2, 3], reopens=[0, 1, 0], reassignments=[0, 4, 1])
    empty = flat.assign(group_stations=np.nan, assignee_stations=[None, None, None])
    for frame in (flat, empty):
        featurizer = TicketFeaturizer(PLAIN).fit(frame, [0, 1, 0])
        assert featurizer.counts_ == ["replies", "reopens", "reassignments"]
        assert "group_stations" not in featurizer.feature_names_out_
        assert "ping_pong" in featurizer.feature_names_out_
    # a column filled at scoring time but not in training is ignored, not an error
    scored = featurizer.transform(flat.assign(group_stations=[9, 9, 9]))
    assert scored["ping_pong"].tolist() == [0.0, 1.0, 0.0]


def test_an_all_missing_stations_column_changes_no_prediction() -> None:
    tickets = make_tickets(1500, seed=31)
    y = (tickets["rating"] <= 2).to_numpy(dtype=int)
    fresh = make_tickets(200, seed=32)
    plain = TicketRiskModel(features=PLAIN, random_state=0).fit(tickets, y)
    with_empty = tickets.assign(group_stations=np.nan, assignee_stations=np.nan)
    empty = TicketRiskModel(features=PLAIN, random_state=0).fit(with_empty, y)
    pd.testing.assert_frame_equal(empty.predict_frame(fresh), plain.predict_frame(fresh))


def test_phrases_name_the_tickets_own_numbers() -> None:
    assert phrase("group_stations", 4.0) == "passed through 4 groups"
    assert phrase("assignee_stations", 3.0) == "handled by 3 agents"
    assert phrase("group_stations", 1.0) is None and phrase("assignee_stations", 1.0) is None
    names = ["reassignments", "group_stations", "ping_pong", "replies"]
    values = np.array([[6, 4, 1, 2], [5, np.nan, 1, 2], [np.nan, np.nan, 1, 2], [1, 2, 0, 2]])
    pushes = np.array([[0.1, 0.5, 2.0, 0.0], [0.0, 0.0, 2.0, 0.0], [0, 0, 2.0, 0], [0, 0, 1, 0]])
    status = {"replied": np.ones(4, dtype=bool), "solved": np.ones(4, dtype=bool)}
    reasons = top_reasons(names, values, pushes, status, {}, top=3)
    # once each, from the count ping-pong was judged on
    assert reasons[0] == ["passed through 4 groups", "reassigned 6 times"]
    assert reasons[1] == ["reassigned 5 times"]
    assert reasons[2] == ["passed between many groups"]
    assert reasons[3] == []


@pytest.mark.parametrize(
    ("stations", "pattern", "column"),
    [
        (True, r"passed through (\d+) groups", "group_stations"),
        (False, r"reassigned (\d+) times", "reassignments"),
    ],
)
def test_a_model_explains_ping_pong_with_the_tickets_number(
    stations: bool, pattern: str, column: str
) -> None:
    """Bad ratings follow ping-pong (4+ groups, or 4+ hops in a flat file): the reasons say it."""
    tickets = make_tickets(3000, seed=33, stations=stations)
    rng = np.random.default_rng(0)
    noise = rng.random((2, len(tickets)))
    y = ((tickets[column] >= 4) & (noise[0] < 0.8)) | (noise[1] < 0.05)
    model = TicketRiskModel(features=PLAIN, random_state=0).fit(tickets, y.to_numpy(dtype=int))
    fresh = make_tickets(1000, seed=34, stations=stations)
    told: dict[int, int] = {}
    for i, listed in model.predict_frame(ticket_inputs(fresh))["reasons"].items():
        for words in listed:
            if match := re.fullmatch(pattern, words):
                told[int(i)] = int(match.group(1))
    assert len(told) >= 10
    assert all(number == fresh.loc[i, column] >= 2 for i, number in told.items())
    assert max(told.values()) >= 4


def test_generated_stations_follow_the_reassignments_and_change_nothing_else() -> None:
    plain = make_tickets(2000, seed=35, open_share=0.1)
    tickets = make_tickets(2000, seed=35, open_share=0.1, stations=True)
    pd.testing.assert_frame_equal(
        tickets.drop(columns=["group_stations", "assignee_stations"]), plain
    )
    columns = list(tickets.columns)
    assert columns[columns.index("reassignments") + 1 :][:2] == [
        "group_stations",
        "assignee_stations",
    ]
    groups, hops = tickets["group_stations"], tickets["reassignments"]
    assert (tickets["assignee_stations"] == 1 + hops).all()
    assert ((groups >= 1) & (groups <= 1 + hops)).all()
    moved = hops > 0
    share = (groups[moved] - 1).sum() / hops[moved].sum()
    assert share == pytest.approx(0.7, abs=0.05)


def test_the_ticket_fields_page_names_every_field() -> None:
    page = (Path(__file__).parents[1] / "docs" / "tickets.md").read_text(encoding="utf-8")
    missing = [name for name in TICKETS.names if f"`{name}`" not in page]
    assert not missing
