"""The ``scoring`` task of ``run.py``: batch throughput, pipeline overhead, memory, resume
identity, the Spark check and service latency, all on data the project generates.

Everything runs in a temporary folder with its own MLflow store: the default comment models
(``configs/sentiment.yaml``, ``configs/themes.yaml``) are trained on 4,000 generated comments,
then a generated file of ``ROWS`` comments is scored end to end (read, validate, score,
checkpoint, write) in a child process whose peak memory is read from the OS; the bare model time
is the same models' ``predict`` on the same chunks held in memory. Service latency: see
``benchmarks/scoring_service.py`` (a ticket model, ``cxml serve`` with one worker and the
prediction log on, closed-loop clients at 1, 10 and 50 concurrent; 10 again with the log off).
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from benchmarks.scoring_service import service_latency
from cxml.config import SentimentConfig, ThemesConfig
from cxml.data.synth import make_comments
from cxml.scoring.batch import COMMENT_INPUTS, load_comment_models
from cxml.training.sentiment import train_sentiment
from cxml.training.themes import train_themes

ROWS = 200_000
SMALL_ROWS = 50_000
CHUNK = 10_000


def _analyze(path: Path, out: Path, env: dict[str, str]) -> tuple[float, float]:
    """Run ``cxml analyze comments`` in a child; (seconds, peak RSS in MB of that child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "cxml", "-q", "analyze", "comments", str(path), "--out", str(out)],
        check=True,
        env=env,
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024


def _bare_seconds(path: Path) -> float:
    """The models' own time on the file's chunks, already in memory."""
    models = load_comment_models()
    frame = pd.read_csv(path, usecols=COMMENT_INPUTS, dtype=str, keep_default_na=False)
    total = 0.0
    for start in range(0, len(frame), CHUNK):
        chunk = frame.iloc[start : start + CHUNK]
        started = time.perf_counter()
        for model in models:
            model.predict(chunk)
        total += time.perf_counter() - started
    return total


def _resume_identical(path: Path, env: dict[str, str]) -> bool:
    """Kill a job with SIGKILL mid-way, rerun it, compare with an uninterrupted run."""
    base = [sys.executable, "-m", "cxml", "-q", "analyze", "comments", str(path)]
    subprocess.run([*base, "--out", "whole.csv", "--chunksize", "2000"], check=True, env=env)
    job = subprocess.Popen([*base, "--out", "killed.csv", "--chunksize", "2000"], env=env)
    checkpoint = Path("killed.csv.checkpoint")
    while job.poll() is None and len(list(checkpoint.glob("chunk-*.pkl"))) < 3:
        time.sleep(0.05)
    job.send_signal(signal.SIGKILL)
    job.wait()
    subprocess.run([*base, "--out", "killed.csv", "--chunksize", "2000"], check=True, env=env)
    return Path("killed.csv").read_bytes() == Path("whole.csv").read_bytes()


def _spark_ok(path: Path) -> bool:
    """Spark's scores equal the local batch's on the same rows."""
    from cxml.scoring import analyze_comments_file
    from cxml.scoring.spark import score_with_spark

    analyze_comments_file(path, "local.parquet")
    score_with_spark(path, "spark_out", task="comments")
    local = pd.read_parquet("local.parquet").set_index("id")
    remote = pd.read_parquet("spark_out").set_index("id").loc[local.index]
    same_labels = (remote["sentiment"] == local["sentiment"]).all()
    gap = (remote["sentiment_score"] - local["sentiment_score"]).abs().max()
    same_themes = remote["themes"].map(list).tolist() == local["themes"].map(list).tolist()
    return bool(same_labels and gap < 1e-9 and same_themes)


def scoring_task(rows: int = ROWS) -> dict[str, float]:
    """The ``scoring`` keys of BENCHMARKS.md (plus the figures behind them)."""
    old = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
            make_comments(4000, lang="mixed", seed=1).to_json(
                "train.jsonl", orient="records", lines=True, force_ascii=False
            )
            train_sentiment(SentimentConfig(), data="train.jsonl")
            train_themes(ThemesConfig(), data="train.jsonl")
            big = Path("comments.csv")
            make_comments(rows, lang="mixed", seed=2)[["id", "text", "lang"]].to_csv(
                big, index=False
            )
            small = Path("small.csv")
            pd.read_csv(big, nrows=SMALL_ROWS).to_csv(small, index=False)
            small_seconds, small_peak = _analyze(small, Path("small_out.parquet"), env)
            seconds, peak = _analyze(big, Path("out.parquet"), env)
            bare = _bare_seconds(big)
            resume = Path("resume.csv")
            pd.read_csv(big, nrows=20_000).to_csv(resume, index=False)
            figures = {
                "batch_rows": float(rows),
                "batch_rows_per_second": rows / seconds,
                "batch_seconds": seconds,
                "bare_model_seconds": bare,
                "batch_overhead_ratio": (seconds - bare) / bare,
                "peak_rss_mb": peak,
                "peak_rss_mb_at_50k_rows": small_peak,
                "small_batch_rows_per_second": SMALL_ROWS / small_seconds,
                "resume_identical": float(_resume_identical(resume, env)),
            }
            spark_file = Path("spark.csv")
            pd.read_csv(big, nrows=5_000).to_csv(spark_file, index=False)
            figures["spark_ok"] = float(_spark_ok(spark_file))
            figures.update(service_latency(Path(tmp) / "service"))
        finally:
            os.chdir(old)
    return figures
