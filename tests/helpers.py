"""Helpers for tests that drive cxml the way a user does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


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
