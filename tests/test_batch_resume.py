"""Batch scoring resumes after an interruption (even ``kill -9``) with identical output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from cxml.config import SentimentConfig
from cxml.data.synth import make_comments
from cxml.scoring import analyze_comments_file
from training.sentiment import train_sentiment


@pytest.fixture()
def comments(tmp_path: Path) -> Path:
    make_comments(600, lang="mixed", seed=41).to_json("train.jsonl", orient="records", lines=True)
    train_sentiment(SentimentConfig(), data="train.jsonl")
    frame = make_comments(3000, lang="mixed", seed=42)[["id", "text", "lang", "rating"]]
    frame.loc[[7, 1500], "text"] = "   "  # rejects in two chunks
    frame.to_csv("comments.csv", index=False)
    return tmp_path / "comments.csv"


class _Stop(Exception):
    pass


@pytest.mark.parametrize("suffix", ["parquet", "jsonl"])
def test_an_interrupted_job_resumes_to_the_same_output(comments: Path, suffix: str) -> None:
    whole = analyze_comments_file(comments, f"whole.{suffix}", chunksize=400)
    assert not whole.resumed

    done = []

    def stop_after_three(rows: int) -> None:
        done.append(rows)
        if len(done) == 3:
            raise _Stop

    with pytest.raises(_Stop):
        analyze_comments_file(
            comments, f"resumed.{suffix}", chunksize=400, on_rows=stop_after_three
        )
    assert not Path(f"resumed.{suffix}").exists()
    assert len(list(Path(f"resumed.{suffix}.checkpoint").glob("chunk-*.pkl"))) == 3
    again = analyze_comments_file(comments, f"resumed.{suffix}", chunksize=400)
    assert again.resumed
    assert again.rows == whole.rows == 2998
    assert Path(f"resumed.{suffix}").read_bytes() == Path(f"whole.{suffix}").read_bytes()
    assert Path("resumed.rejects.csv").read_bytes() == Path("whole.rejects.csv").read_bytes()
    assert not Path(f"resumed.{suffix}.checkpoint").exists()


def test_a_changed_input_starts_over(comments: Path) -> None:
    with pytest.raises(_Stop):
        analyze_comments_file(comments, "out.csv", chunksize=400, on_rows=_raise)
    frame = pd.read_csv(comments).head(800)
    frame.to_csv(comments, index=False)
    result = analyze_comments_file(comments, "out.csv", chunksize=400)
    assert not result.resumed
    assert result.rows == 799


def _raise(rows: int) -> None:
    raise _Stop


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
