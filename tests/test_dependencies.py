"""Every third-party module that cxml, training and the tests import is a declared dependency."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
DISTRIBUTIONS = packages_distributions()  # import name -> the distributions that provide it
RUNTIME = [name for name in PROJECT["optional-dependencies"] if name != "dev"]


def _normal(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(extras: list[str]) -> set[str]:
    """The distributions named by ``dependencies`` and the given extras."""
    specs = [*PROJECT["dependencies"]]
    for extra in extras:
        specs.extend(PROJECT["optional-dependencies"][extra])
    return {_normal(re.split(r"[\s\[<>=!~;,]", spec, maxsplit=1)[0]) for spec in specs}


def _imported(folder: Path) -> dict[str, str]:
    """Top-level third-party modules imported under ``folder`` (anywhere in a file), with where."""
    own = {"cxml", folder.name, *(p.stem for p in folder.glob("*.py"))}
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top not in sys.stdlib_module_names and top not in own:
                    found.setdefault(top, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


@pytest.mark.parametrize(
    ("folder", "extras"),
    [("cxml", RUNTIME), ("training", RUNTIME), ("tests", [*RUNTIME, "dev"])],
)
def test_every_import_is_a_declared_dependency(folder: str, extras: list[str]) -> None:
    declared = _declared(extras)
    missing = []
    for module, where in sorted(_imported(ROOT / folder).items()):
        provided = {_normal(d) for d in DISTRIBUTIONS.get(module, [])}
        if not provided & declared:
            source = ", ".join(sorted(provided)) or "no installed distribution"
            missing.append(f"{module} ({source}), imported at {where}")
    where = "dependencies" + "".join(f" / [{e}]" for e in extras)
    assert not missing, f"not declared in pyproject.toml {where}:\n" + "\n".join(missing)
