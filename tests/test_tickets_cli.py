"""``cxml train csat`` and ``cxml score tickets`` as a user runs them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from helpers import run_cli

from cxml.contracts.tickets import ticket_inputs
from cxml.data.synth import make_tickets
from cxml.scoring.batch import score_tickets_file
from cxml.tracking.loader import load_model


@pytest.fixture()
def trained(tmp_path: Path) -> Path:
    make_tickets(1500, seed=31, open_share=0.05).to_csv(tmp_path / "tickets.csv", index=False)
    done = run_cli("train", "csat", "--data", "tickets.csv", "--set", "split.refit=false")
    assert done.returncode == 0, done.stderr
    assert "registered cxml-csat v1" in done.stdout
    assert "ROC-AUC" in done.stdout
    return tmp_path


@pytest.mark.slow
def test_score_tickets_writes_scores_reasons_and_rejects(trained: Path) -> None:
    tickets = make_tickets(40, seed=32, open_share=0.5, start="2026-08-01")
    tickets.loc[3, "created_at"] = "yesterday-ish"
    tickets.loc[5, "ticket_id"] = tickets.loc[4, "ticket_id"]
    tickets.to_csv("open.csv", index=False)
    done = run_cli(
        "score", "tickets", "open.csv", "--out", "scored.parquet", "--as-of", "2026-09-01T00:00:00Z"
    )
    assert done.returncode == 0, done.stderr
    scored = pd.read_parquet("scored.parquet")
    assert len(scored) == 38
    assert scored["bad_rating_probability"].between(0, 1).all()
    assert scored["at_risk"].dtype == bool
    assert scored["reasons"].map(len).max() >= 1
    assert set(scored["model_name"]) == {"cxml-csat"} and set(scored["model_version"]) == {"1"}
    rejects = pd.read_csv("scored.parquet.rejects.csv")
    assert sorted(rejects["_row"]) == [4, 6]
    assert set(rejects["_field"]) == {"created_at", "ticket_id"}


@pytest.mark.slow
def test_every_path_gives_the_same_scores(trained: Path) -> None:
    tickets = make_tickets(30, seed=33, open_share=0.3, start="2026-08-01", days=20)
    tickets.loc[2, "replies"] = None
    tickets.to_csv("batch.csv", index=False)
    moment = pd.Timestamp("2026-08-21T12:00", tz="UTC")
    score_tickets_file("batch.csv", "batch_scored.jsonl", as_of=moment)
    from_file = pd.read_json("batch_scored.jsonl", lines=True)
    model = load_model("cxml-csat")
    direct = model.predict(ticket_inputs(tickets, moment))
    assert from_file["bad_rating_probability"].round(12).tolist() == (
        direct["bad_rating_probability"].round(12).tolist()
    )
    assert from_file["reasons"].tolist() == direct["reasons"].tolist()
    later = model.predict(ticket_inputs(tickets, moment + pd.Timedelta(hours=36)))
    still_open = tickets["solved_at"].isna().to_numpy()
    changed = later["bad_rating_probability"] != direct["bad_rating_probability"]
    assert changed[still_open].any() and not changed[~still_open].any()


@pytest.mark.slow
def test_a_real_export_is_read_through_the_column_mapping(tmp_path: Path) -> None:
    tickets = make_tickets(600, seed=34)
    export = pd.DataFrame(
        {
            "Unique id": tickets["ticket_id"],
            "Issue_reported at": pd.to_datetime(tickets["created_at"]).dt.strftime(
                "%d/%m/%Y %H:%M"
            ),
            "issue_responded": pd.to_datetime(tickets["first_response_at"]).dt.strftime(
                "%d/%m/%Y %H:%M"
            ),
            "channel_name": tickets["channel"],
            "Agent Shift": tickets["priority"],
            "Customer Remarks": tickets["text"],
            "Survey_response_Date": tickets["survey_answered_at"],
            "CSAT Score": tickets["rating"],
        }
    )
    export.to_csv("export.csv", index=False)
    mapping = {
        "ticket_id": "Unique id",
        "created_at": "Issue_reported at",
        "first_response_at": "issue_responded",
        "channel": "channel_name",
        "text": "Customer Remarks",
        "rating": "CSAT Score",
    }
    sets = [f"data.columns.{k}={v}" for k, v in mapping.items()]
    sets += [
        "data.dayfirst=true",
        "features.categorical=[channel, Agent Shift]",
        "features.counts=[]",
        "labels.min_bad=10",
    ]
    args = ["train", "csat", "--data", "export.csv"]
    for item in sets:
        args += ["--set", item]
    done = run_cli(*args)
    assert done.returncode == 0, done.stderr
    leaky = run_cli(*args, "--set", "features.categorical=[channel, Survey_response_Date]")
    assert leaky.returncode == 2
    assert "Survey_response_Date" in leaky.stderr and "leak" in leaky.stderr


def test_too_few_ratings_exit_3() -> None:
    make_tickets(120, seed=35).to_csv("few.csv", index=False)
    done = run_cli("train", "csat", "--data", "few.csv")
    assert done.returncode == 3
    assert "120 rated tickets" in done.stderr


@pytest.mark.slow
def test_python_api_scores_like_the_batch_path(trained: Path) -> None:
    import cxml

    tickets = make_tickets(25, seed=36, open_share=0.4, start="2026-08-01", days=20)
    tickets.loc[4, "created_at"] = "garbage"
    tickets.to_csv("api.csv", index=False)
    moment = pd.Timestamp("2026-08-21T12:00", tz="UTC")
    score_tickets_file("api.csv", "api_scored.parquet", as_of=moment)
    with pytest.warns(UserWarning, match="1 of 25 rows were left out"):
        scored = cxml.score_tickets(tickets, as_of="2026-08-21T12:00Z")
    from_file = pd.read_parquet("api_scored.parquet")
    assert scored["ticket_id"].tolist() == from_file["ticket_id"].tolist()
    assert scored["bad_rating_probability"].tolist() == from_file["bad_rating_probability"].tolist()
    assert [r["_field"] for r in scored.attrs["rejects"]] == ["created_at"]
    assert len(scored.nlargest(3, "bad_rating_probability")) == 3
