"""The README's Quickstart runs top to bottom exactly as written, on files it makes itself."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def quickstart() -> str:
    """The first bash block under the README's ``## Quickstart`` heading."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quickstart", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "no bash block under ## Quickstart"
    return block[1]


def test_quickstart_uses_only_files_it_makes() -> None:
    script = quickstart()
    made = set(re.findall(r"--out (\S+)", script))
    readers = "--data|analyze comments|score tickets|discover|metrics|drivers|report|validate"
    read = re.findall(rf"(?:{readers}) (\S+\.\w+)", script)
    assert read and all(name in made for name in read), (read, made)


@pytest.mark.slow
def test_quickstart_runs_as_written(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", quickstart()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("scored.parquet", "at_risk.parquet", "report/voc.html", "themes/taxonomy.yaml"):
        assert (tmp_path / name).is_file(), name
    assert "cxml-sentiment" in done.stdout and "cxml-csat" in done.stdout
