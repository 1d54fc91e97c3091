"""Batch scoring resumes after an interruption (even ``kill -9``) with identical output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from cxml.config import SentimentConfig
from cxml.data import read_table
from cxml.data.synth import make_comments
from cxml.scoring import analyze_comments_file
from cxml.training.sentiment import train_sentiment

pytestmark = pytest.mark.slow  # every test trains a model first


@pytest.fixture()
def comments(tmp_path: Path) -> Path:
    make_comments(600, lang="mixed", seed=41).to_json("train.jsonl", orient="records", lines=True)
    train_sentiment(SentimentConfig(), data="train.jsonl")
    frame = make_comments(3000, lang="mixed", seed=42)[["id", "text", "lang", "rating"]]
    frame.loc[[7, 1500], "text"] = "   "  # rejects in two chunks
    frame.to_csv("comments.csv", index=False)
    return tmp_path / "comments.csv"


@pytest.mark.parametrize("suffix", ["parquet", "jsonl"])
def test_an_interrupted_job_resumes_to_the_same_output(comments: Path, suffix: str) -> None:
    whole = analyze_comments_file(comments, f"whole.{suffix}", chunksize=400)
    assert not whole.resumed

    done = []

    def stop_after_three(rows: int) -> None:
        done.append(rows)
        if len(done) == 3:
            raise KeyboardInterrupt  # Ctrl-C

    with pytest.raises(KeyboardInterrupt):
        analyze_comments_file(
            comments, f"resumed.{suffix}", chunksize=400, on_rows=stop_after_three
        )
    assert not Path(f"resumed.{suffix}").exists()
    assert len(list(Path(f"resumed.{suffix}.checkpoint").glob("chunk-*.pkl"))) == 3
    again = analyze_comments_file(comments, f"resumed.{suffix}", chunksize=400)
    assert again.resumed
    assert again.rows == whole.rows == 2998
    assert Path(f"resumed.{suffix}").read_bytes() == Path(f"whole.{suffix}").read_bytes()
    rejects = Path(f"resumed.{suffix}.rejects.csv").read_bytes()
    assert rejects == Path(f"whole.{suffix}.rejects.csv").read_bytes()
    assert not Path(f"resumed.{suffix}.checkpoint").exists()


def test_a_changed_input_starts_over(comments: Path) -> None:
    with pytest.raises(KeyboardInterrupt):
        analyze_comments_file(comments, "out.csv", chunksize=400, on_rows=_raise)
    frame = pd.read_csv(comments).head(800)
    frame.to_csv(comments, index=False)
    result = analyze_comments_file(comments, "out.csv", chunksize=400)
    assert not result.resumed
    assert result.rows == 799


def _raise(rows: int) -> None:
    raise KeyboardInterrupt


def test_kill_9_and_resume_gives_the_same_file(comments: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "cxml",
        "-q",
        "analyze",
        "comments",
        str(comments),
        "--chunksize",
        "200",
    ]
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    subprocess.run([*command, "--out", "whole.csv"], check=True, env=env, timeout=600)
    job = subprocess.Popen([*command, "--out", "killed.csv"], env=env)
    checkpoint = Path("killed.csv.checkpoint")
    deadline = time.monotonic() + 300
    while len(list(checkpoint.glob("chunk-*.pkl"))) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert not Path("killed.csv").exists()
    stored = len(list(checkpoint.glob("chunk-*.pkl")))
    assert 4 <= stored < 15
    subprocess.run([*command, "--out", "killed.csv"], check=True, env=env, timeout=600)
    assert Path("killed.csv").read_bytes() == Path("whole.csv").read_bytes()
    assert len(pd.read_csv("killed.csv")) == 2998


@pytest.fixture()
def drifting(comments: Path) -> Path:
    """JSON Lines whose chunks differ: a key empty in the first 400 rows, one that first
    appears at row 1,001, one with numbers, then text, and a lone surrogate."""
    frame = pd.read_csv(comments)
    records = frame.to_dict(orient="records")
    for i, record in enumerate(records):
        record["note"] = None if i < 400 else f"note {i}"
        record["mixed"] = i if i < 1200 else f"v{i}"
        if i >= 1000:
            record["late"] = i % 3 == 0
    path = Path("drift.jsonl")
    lines = [json.dumps(r, allow_nan=False) for r in records]
    lines[5] = lines[5].replace('"note": null', '"note": "bad \\ud800 half"')
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("suffix", ["parquet", "jsonl"])
def test_chunks_that_differ_are_written_with_one_schema_and_resume_identically(
    drifting: Path, suffix: str
) -> None:
    whole = analyze_comments_file(drifting, f"whole.{suffix}", chunksize=400)
    with pytest.raises(KeyboardInterrupt):
        analyze_comments_file(drifting, f"again.{suffix}", chunksize=400, on_rows=_stop_at(2))
    again = analyze_comments_file(drifting, f"again.{suffix}", chunksize=400)
    assert again.resumed and again.rows == whole.rows == 2998
    assert Path(f"again.{suffix}").read_bytes() == Path(f"whole.{suffix}").read_bytes()
    frame, _ = read_table(f"whole.{suffix}")
    assert {"note", "mixed", "late"} <= set(frame.columns)
    assert frame["note"].iloc[5] == "bad \ufffd half" and pd.isna(frame["note"].iloc[0])
    assert frame["mixed"].iloc[0] == "0" and frame["mixed"].iloc[-1] == "v2999"
    assert frame["late"].iloc[-1] in (True, False) and pd.isna(frame["late"].iloc[0])


def test_a_failed_run_leaves_no_checkpoint_and_no_temporary_files(comments: Path) -> None:
    def fail(rows: int) -> None:
        raise RuntimeError("the disk is full")

    with pytest.raises(RuntimeError):
        analyze_comments_file(comments, "out.parquet", chunksize=400, on_rows=fail)
    left = [p.name for p in Path.cwd().iterdir() if p.name.startswith("out") or ".tmp" in p.name]
    assert left == []


def test_ctrl_c_keeps_the_checkpoint_and_says_how_to_resume(
    comments: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(KeyboardInterrupt):
        analyze_comments_file(comments, "out.csv", chunksize=400, on_rows=_stop_at(2))
    assert len(list(Path("out.csv.checkpoint").glob("chunk-*.pkl"))) == 2
    assert "interrupted: 2 scored chunk(s) are kept in out.csv.checkpoint" in caplog.text
    assert "run the same command again" in caplog.text
    assert not list(Path.cwd().glob(".*.tmp"))


def _stop_at(calls: int) -> Callable[[int], None]:
    done: list[int] = []

    def stop(rows: int) -> None:
        done.append(rows)
        if len(done) == calls:
            raise KeyboardInterrupt

    return stop
