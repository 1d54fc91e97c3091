"""``python benchmarks/run.py flipkart`` on a generated export in the flipkart sample's shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from cxml.data.synth import make_tickets

RUN = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


def flipkart_shaped(n: int, seed: int) -> pd.DataFrame:
    """Every ticket rated, day-first dates, the export's own names; the survey comment is the
    ``Customer Remarks`` column, as in the real sample."""
    tickets = make_tickets(n, seed=seed)

    def day_first(column: str, form: str = "%d/%m/%Y %H:%M") -> pd.Series:
        return pd.to_datetime(tickets[column], format="ISO8601").dt.strftime(form)

    return pd.DataFrame(
        {
            "Unique id": tickets["ticket_id"],
            "channel_name": tickets["channel"],
            "category": tickets["category"],
            "Sub-category": tickets["priority"],
            "Customer Remarks": tickets["survey_comment"],
            "Issue_reported at": day_first("created_at"),
            "issue_responded": day_first("first_response_at"),
            "Survey_response_Date": day_first("survey_answered_at", "%d-%b-%y"),
            "Tenure Bucket": tickets["customer_tier"],
            "Agent Shift": "Morning",
            "CSAT Score": tickets["rating"],
        }
    )


@pytest.mark.slow
def test_flipkart_task_reads_the_export_through_the_mapping(tmp_path: Path) -> None:
    flipkart_shaped(1200, seed=8).to_csv("tickets.csv", index=False)
    done = subprocess.run(
        [sys.executable, str(RUN), "flipkart", "--train", "tickets.csv", "--out", "out.json"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads((tmp_path / "out.json").read_text())
    assert figures["rows"] == 1200
    for key in ("roc_auc", "average_precision", "ece", "train_seconds", "predict_rows_per_second"):
        assert key in figures
    assert 0.6 < figures["roc_auc"] < figures["remarks_roc_auc"]
    assert figures["remarks_refused"] == 1 and figures["remarks_text_auc"] > 0.8
