"""Layers point down: no cxml module imports a layer above its own, and packages form no cycle.

Every import counts, including those inside functions and under ``TYPE_CHECKING``: a lazy import
is still a dependency. The order is the one drawn in ``docs/architecture.md``.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Source folder of each top-level package: ``training/`` installs as ``cxml.training``.
SOURCES = {"cxml": ROOT / "cxml", "cxml.training": ROOT / "training"}

#: Bottom to top; a module may import its own component and anything in a lower layer.
LAYERS: list[tuple[str, ...]] = [
    ("cxml.errors", "cxml._version", "cxml._numeric"),
    ("cxml.contracts", "cxml.text"),
    ("cxml.catalog",),
    ("cxml.config",),
    ("cxml.data",),
    ("cxml.comments", "cxml.tickets", "cxml.discovery", "cxml.metrics", "cxml.connectors"),
    ("cxml.tracking",),
    ("cxml.monitoring", "cxml.labelling"),
    ("cxml.training",),
    ("cxml.scoring",),
    ("cxml.report",),
    ("cxml.cli", "cxml.console", "cxml.__main__", "cxml"),
]

#: Imports between components of one layer: only these, each a genuine dependency.
SIDEWAYS = {
    ("cxml.discovery", "cxml.comments"): "discovery reads texts like the comment estimators",
    ("cxml.text", "cxml.contracts"): "language detection answers in the lang field's codes",
    ("cxml.cli", "cxml.console"): "the commands write through the shared console",
    ("cxml.__main__", "cxml.cli"): "python -m cxml runs the command line",
    ("cxml", "cxml.scoring"): "the package root's lazy Python API (top layer: nothing imports it)",
}

LEVEL = {component: level for level, layer in enumerate(LAYERS) for component in layer}


def _modules() -> dict[str, Path]:
    """Every module of cxml (``training/`` as ``cxml.training``), by dotted name."""
    found: dict[str, Path] = {}
    for package, folder in SOURCES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


MODULES = _modules()


def _component(module: str) -> str:
    """The longest component in :data:`LAYERS` that ``module`` is or sits inside."""
    matches = [c for c in LEVEL if module == c or (c != "cxml" and module.startswith(c + "."))]
    if not matches:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__name__}")
    return max(matches, key=len)


def _imports(module: str, path: Path) -> list[tuple[int, str]]:
    """``(line, imported module)`` for every import in ``path``, relative ones resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:  # ``from pkg import module`` imports the module
                name = f"{base}.{alias.name}"
                found.append((node.lineno, name if name in MODULES else base))
    return found


def _first_party(name: str) -> str | None:
    """The cxml module ``name`` imports, or None for a third-party or standard module."""
    top = name.partition(".")[0]
    if top == "training":  # the folder installs as cxml.training; never import it by itself
        return "cxml.training" + name[len(top) :]
    return name if top == "cxml" else None


EDGES = [
    (module, line, target)
    for module, path in sorted(MODULES.items())
    for line, name in _imports(module, path)
    if (target := _first_party(name)) is not None
]


def _wrong_way(edges: list[tuple[str, int, str]]) -> list[str]:
    """The imports in ``edges`` that point up, or sideways without a :data:`SIDEWAYS` reason."""
    wrong = []
    for module, line, target in edges:
        source, dest = _component(module), _component(target)
        if source == dest or LEVEL[dest] < LEVEL[source] or (source, dest) in SIDEWAYS:
            continue
        way = "up" if LEVEL[dest] > LEVEL[source] else "sideways"
        wrong.append(f"{MODULES[module].relative_to(ROOT)}:{line} imports {target} ({way})")
    return wrong


def _package(name: str) -> str:
    """The package that module (or name inside a module) ``name`` belongs to; a module of the
    root package (``cxml.config``) stands alone, as it is a component of its own."""
    while name not in MODULES:  # e.g. ``cxml.__version__``: a name inside ``cxml``
        name = name.rpartition(".")[0]
    parent = name.rpartition(".")[0]
    return name if MODULES[name].name == "__init__.py" or parent == "cxml" else parent


def _cycle(edges: list[tuple[str, int, str]]) -> list[str]:
    """A cycle in the graph of imports between packages (empty when there is none)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for module, _, target in edges:
        source, dest = _package(module), _package(target)
        if source != dest:
            graph[source].add(dest)
    done: set[str] = set()

    def visit(path: list[str]) -> list[str]:
        for nxt in sorted(graph[path[-1]]):
            if nxt in path:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in done and (found := visit([*path, nxt])):
                return found
        done.add(path[-1])
        return []

    for node in sorted(graph):
        if node not in done and (found := visit([node])):
            return found
    return []


def test_every_module_is_in_a_layer() -> None:
    for module in MODULES:
        _component(module)


def test_imports_point_down() -> None:
    wrong = _wrong_way(EDGES)
    assert not wrong, "imports that do not point down:\n" + "\n".join(wrong)


def test_every_sideways_import_is_still_made() -> None:
    made = {(_component(m), _component(t)) for m, _, t in EDGES}
    assert set(SIDEWAYS) <= made, f"drop from SIDEWAYS: {sorted(set(SIDEWAYS) - made)}"


def test_no_cycle_between_packages() -> None:
    cycle = _cycle(EDGES)
    assert not cycle, "import cycle between packages: " + " -> ".join(cycle)


def test_no_top_level_training_imports() -> None:
    wrong = [
        f"{MODULES[module].relative_to(ROOT)}:{line}"
        for module, path in MODULES.items()
        for line, name in _imports(module, path)
        if name.partition(".")[0] == "training"
    ]
    assert not wrong, "import cxml.training, not training: " + ", ".join(wrong)


def test_the_checks_catch_what_they_should() -> None:
    assert ("cxml.config", "cxml.catalog") in {(_component(m), _component(t)) for m, _, t in EDGES}
    lazy_upward = ("cxml.config", 1, "cxml.comments.backends.tfidf")
    assert _wrong_way([lazy_upward]) == [
        "cxml/config.py:1 imports cxml.comments.backends.tfidf (up)"
    ]
    assert _wrong_way([("cxml.metrics.cx", 1, "cxml.discovery")])[0].endswith("(sideways)")
    assert _wrong_way([("cxml.scoring.batch", 1, "cxml.tracking.loader")]) == []
    assert _cycle([("cxml.data.io", 1, "cxml.config"), ("cxml.config", 1, "cxml.data.schema")])
