"""Helpers for tests that drive cxml the way a user does."""

from __future__ import annotations

import atexit
import contextlib
import json
import locale
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m cxml ARGS`` in the current folder; returns the finished process.

    Each command gets a process of its own, forked from a warm parent that has imported the
    heavy libraries once (``_warm_cli.py``), so tests do not pay the imports per command.
    """
    full_env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    full_env.update(env or {})
    full_env["COLUMNS"] = "200"  # keep rich from wrapping the lines the tests read
    return _WARM.run([*args], Path.cwd(), full_env, timeout)


class _WarmCli:
    """The warm parent of :func:`run_cli`, one per test process, started on first use."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._folder = Path(tempfile.mkdtemp(prefix="cxml-warm-cli-"))
        atexit.register(shutil.rmtree, self._folder, True)

    def _parent(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("_warm_cli.py"))],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                bufsize=0,
            )
            atexit.register(self._process.kill)
        return self._process

    def run(
        self, args: list[str], cwd: Path, env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        with self._lock:
            parent = self._parent()
            assert parent.stdin is not None and parent.stdout is not None
            out, err = self._folder / "out", self._folder / "err"
            request = {"args": args, "cwd": str(cwd), "env": env, "out": str(out), "err": str(err)}
            parent.stdin.write(json.dumps(request).encode() + b"\n")
            pid = _answer(parent.stdout.fileno(), None)["pid"]
            try:
                code = _answer(parent.stdout.fileno(), timeout)["code"]
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
                _answer(parent.stdout.fileno(), None)
                raise subprocess.TimeoutExpired(["cxml", *args], timeout) from None
            encoding = locale.getpreferredencoding(False)
            return subprocess.CompletedProcess(
                [sys.executable, "-m", "cxml", *args],
                code,
                out.read_text(encoding=encoding),
                err.read_text(encoding=encoding),
            )


def _answer(fd: int, timeout: float | None) -> dict[str, int]:
    """One JSON line from the warm parent, read unbuffered so the timeout sees every byte."""
    line = b""
    deadline = None if timeout is None else time.monotonic() + timeout
    while not line.endswith(b"\n"):
        left = None if deadline is None else max(deadline - time.monotonic(), 0)
        if not select.select([fd], [], [], left)[0]:
            raise TimeoutError
        byte = os.read(fd, 1)
        if not byte:
            raise RuntimeError("the warm cxml parent died")
        line += byte
    answer: dict[str, int] = json.loads(line)
    return answer


_WARM = _WarmCli()


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
