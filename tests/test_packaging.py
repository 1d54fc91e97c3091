"""The distribution: one package, ``cxml``, with the ``training/`` folder as ``cxml.training``."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_is_listed() -> None:
    """``packages`` in pyproject.toml names every package of the tree, in order: a package left
    out would be missing from the wheel (setuptools cannot discover them beside a renamed one)."""
    found = {
        ".".join(("cxml", *init.parent.relative_to(ROOT / "cxml").parts))
        for init in (ROOT / "cxml").rglob("__init__.py")
    }
    assert SETUPTOOLS["packages"] == sorted({*found, "cxml.training"})
    assert SETUPTOOLS["package-dir"] == {"cxml.training": "training"}
    assert (ROOT / "training" / "__init__.py").is_file()


def test_training_is_installed_inside_cxml(tmp_path: Path) -> None:
    """Away from the repository, ``cxml.training`` is found and a top-level ``training`` is not."""
    code = (
        "import importlib.util as u; "
        "assert u.find_spec('cxml.training.pipeline') is not None, 'no cxml.training'; "
        "assert u.find_spec('training') is None, 'a top-level training package'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, check=True)
