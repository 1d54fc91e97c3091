"""Helpers for tests that drive cxml the way a user does."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
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


_COUNT_IMAGES = """<script>
addEventListener("load", () => {
  const images = [...document.images];
  const loaded = images.filter((i) => i.complete && i.naturalWidth > 0);
  document.body.dataset.images = loaded.length + "/" + images.length;
});
</script></body>"""


def _chromium(*args: str, profile: Path) -> str:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
    ]
    chromium = shutil.which("chromium")
    if chromium is None:
        # CI installs Chromium (.ci/run): there a missing browser is a failure, not a skip
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but chromium is not installed: the install step failed")
        pytest.skip("headless check needs Debian's chromium package")
    done = subprocess.run(
        [chromium, *flags, *args], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


def open_in_chromium(page: Path, folder: Path) -> tuple[str, tuple[int, int], np.ndarray]:
    """Open an HTML report in headless Chromium, offline (every host unresolvable).

    Returns the DOM once loaded, (images loaded, images) on the page, and a 1100 x 1400
    screenshot in grey levels. Skips without the ``chromium`` command, but fails under
    ``CI=true``.
    """
    from PIL import Image

    counted = folder / "counted.html"
    counted.write_text(
        page.read_text(encoding="utf-8").replace("</body>", _COUNT_IMAGES), encoding="utf-8"
    )
    dom = _chromium(
        "--virtual-time-budget=10000", "--dump-dom", counted.as_uri(), profile=folder / "p1"
    )
    images = re.search(r'data-images="(\d+)/(\d+)"', dom)
    assert images, "the page did not finish loading"
    shot = folder / "shot.png"
    _chromium(
        "--window-size=1100,1400",
        "--hide-scrollbars",
        f"--screenshot={shot}",
        page.as_uri(),
        profile=folder / "p2",
    )
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    return dom, (int(images[1]), int(images[2])), pixels
