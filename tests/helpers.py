"""Helpers for tests that drive cxml the way a user does."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m cxml ARGS`` in the current folder; returns the finished process."""
    full_env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    full_env.update(env or {})
    full_env["COLUMNS"] = "200"  # keep rich from wrapping the lines the tests read
    return subprocess.run(
        [sys.executable, "-m", "cxml", *args],
        cwd=Path.cwd(),
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextlib.contextmanager
def in_folder(folder: Path) -> Iterator[Path]:
    """Work in ``folder`` with MLflow's default store there (for module-scoped fixtures, which
    run before the per-test isolation of conftest.py)."""
    import mlflow

    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        try:
            yield folder
        finally:
            mlflow.set_tracking_uri(None)
            # MLflow mirrors its URI into the environment, and the tests' own monkeypatching may
            # have put it back there: without this, later modules would train into this store
            os.environ.pop("MLFLOW_TRACKING_URI", None)
