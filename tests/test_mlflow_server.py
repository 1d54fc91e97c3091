"""Integration: cxml against a real ``mlflow server`` process instead of the embedded store."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from helpers import run_cli

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("server")
    port = _free_port()
    mlflow_bin = str(Path(sys.executable).with_name("mlflow"))
    proc = subprocess.Popen(
        [
            mlflow_bin,
            "server",
            "--backend-store-uri",
            f"sqlite:///{root / 'server.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(root / "server.log", "w"),  # noqa: SIM115
        env={k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")
        time.sleep(0.5)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_train_register_and_score_through_a_tracking_server(
    mlflow_server: str, tmp_path: Path
) -> None:
    env = {"MLFLOW_TRACKING_URI": mlflow_server}
    assert (
        run_cli(
            "data", "synth", "comments", "--n", "600", "--lang", "mixed", "--out", "t.jsonl"
        ).returncode
        == 0
    )
    done = run_cli("train", "sentiment", "--data", "t.jsonl", env=env)
    assert done.returncode == 0, done.stderr
    assert "registered cxml-sentiment v1" in done.stdout
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "mlruns").exists()
    done = run_cli("analyze", "comments", "t.jsonl", "--out", "s.csv", env=env)
    assert done.returncode == 0, done.stderr
    scored = pd.read_csv("s.csv")
    assert scored["model_name"].eq("cxml-sentiment").all() and scored["model_version"].eq(1).all()
    listed = run_cli("models", "list", env=env)
    assert "cxml-sentiment  1        challenger, champion" in listed.stdout
