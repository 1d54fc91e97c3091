"""``cxml monitor`` as a scheduler runs it: exit 0 on quiet weeks, 3 on a change (each injected
kind is detected in its week), 2 on bad input; the log or a scored file; JSON, the tidy table,
late ratings and one MLflow run per job."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.helpers import in_folder, run_cli

pytestmark = pytest.mark.slow

STREAM = ("--lang", "mixed", "--weeks", "6", "--per-week", "500", "--no-spike")
CHANGE_WEEK = 3


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A ticket model trained on 8 quiet weeks; streams of the 6 weeks after, scored."""
    folder = tmp_path_factory.mktemp("monitor")
    with in_folder(folder):
        ref = ("--lang", "mixed", "--weeks", "8", "--per-week", "600", "--no-spike")
        for args in (
            ("data", "synth", "tickets", "-o", "ref.csv", *ref, "--start", "2026-01-05"),
            ("train", "csat", "--data", "ref.csv"),
        ):
            done = run_cli(*args)
            assert done.returncode == 0, done.stderr
        streams = {"calm": None, **{k: k for k in ("category_surge", "slow_queues")}}
        streams.update({"language_mix": "language_mix", "new_theme": "new_theme"})
        for seed, (name, kind) in enumerate(streams.items(), start=2):
            drift = ("--drift", kind, "--drift-week", str(CHANGE_WEEK)) if kind else ()
            made = run_cli(
                "data", "synth", "tickets", "-o", f"{name}.csv", *STREAM,
                "--start", "2026-03-02", "--seed", str(seed), *drift,
            )  # fmt: skip
            assert made.returncode == 0, made.stderr
            scored = run_cli("score", "tickets", f"{name}.csv", "-o", f"{name}_scored.csv")
            assert scored.returncode == 0, scored.stderr
        yield folder


@pytest.fixture(autouse=True)
def _inside(trained: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(trained)


def _monitor(*args: str):  # type: ignore[no-untyped-def]
    return run_cli("monitor", "tickets", *args)


def test_quiet_weeks_exit_0_with_json_ratings_and_a_tidy_table(trained: Path) -> None:
    done = _monitor(
        "--scored", "calm_scored.csv", "--ratings", "calm.csv", "--json", "--out", "calm.parquet"
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["alerts"] == [] and len(result["periods"]) == 6
    assert result["model"] == {"name": "cxml-csat", "version": "1"}
    assert result["ratings"]["matched"] == result["ratings"]["ratings_read"] == 3000
    week = result["periods"][1]
    assert 0 < week["estimated_bad_rate"] < 1 and week["realized_roc_auc_low"] is not None
    table = pd.read_parquet("calm.parquet")
    assert {"count", "estimated", "realized", "category", "number"} <= set(table["kind"])
    client = MlflowClient(tracking_uri=f"sqlite:///{trained / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("cxml-monitoring")
    assert experiment is not None
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.metrics["alerts"] == 0
    history = client.get_metric_history(run.info.run_id, "rows")
    assert [m.step for m in history] == list(range(6))


@pytest.mark.parametrize(
    ("stream", "test"),
    [
        ("category_surge", "category"),
        ("slow_queues", "first_response_hours"),
        ("language_mix", "lang"),
        ("new_theme", "new_words"),
    ],
)
def test_each_injected_change_alerts_in_its_week_and_not_before(
    trained: Path, stream: str, test: str
) -> None:
    done = _monitor("--scored", f"{stream}_scored.csv", "--json", "--no-track")
    assert done.returncode == 3, done.stderr
    alerts = json.loads(done.stdout)["alerts"]
    weeks = sorted({a["period"] for a in alerts})
    change = (pd.Timestamp("2026-03-02") + pd.Timedelta(weeks=CHANGE_WEEK)).strftime("%Y-%m-%d")
    assert weeks[0] == change, alerts
    assert any(a["test"] == test and a["period"] == change for a in alerts), alerts
    assert f"ALERT {change}:" in done.stderr


def test_a_prediction_log_is_monitored_by_its_scoring_moment(trained: Path) -> None:
    # a weekly job: each week's tickets scored two weeks after it (when most are solved, as the
    # model's training tickets were), so week k lands in the log's week k + 2
    for week in range(6):
        start = pd.Timestamp("2026-03-02") + pd.Timedelta(weeks=week)
        tickets = pd.read_csv("slow_queues.csv", dtype=str)
        created = pd.to_datetime(tickets["created_at"], utc=True).dt.tz_localize(None)
        tickets[(created >= start) & (created < start + pd.Timedelta(weeks=1))].to_csv(
            f"week{week}.csv", index=False
        )
        as_of = (start + pd.Timedelta(days=20, hours=23)).isoformat()
        done = run_cli(
            "score", "tickets", f"week{week}.csv", "-o", f"week{week}_scored.csv",
            "--as-of", as_of, "--log", "log",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    done = _monitor("--log", "log", "--since", "2026-03-23", "--no-track")
    assert done.returncode == 3, done.stderr
    alerts = [line for line in done.stderr.splitlines() if line.startswith("ALERT")]
    assert alerts[0].startswith("ALERT 2026-04-06: first response hours: median"), alerts
    assert "2026-03-16" not in done.stdout  # week 0, scored before --since


def test_bad_requests_exit_2(trained: Path) -> None:
    neither = _monitor("--no-track")
    assert neither.returncode == 2 and "either --log URL or --scored FILE" in neither.stderr
    both = _monitor("--log", "log", "--scored", "calm_scored.csv", "--no-track")
    assert both.returncode == 2
    unscored = _monitor("--scored", "calm.csv", "--no-track")
    assert unscored.returncode == 2 and "bad_rating_probability" in unscored.stderr
    wrong = run_cli("monitor", "comments", "--scored", "calm_scored.csv", "--model", "cxml-csat")
    assert wrong.returncode == 2 and "is a csat model" in wrong.stderr
