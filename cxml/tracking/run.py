"""A training run: one MLflow run with the config, data fingerprint, code and package versions."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
import mlflow.data.pandas_dataset
import pandas as pd
import yaml
from pydantic import BaseModel
from sklearn.base import BaseEstimator

from cxml.catalog import backends
from cxml.tracking.store import configure, quiet_mlflow

__all__ = [
    "data_fingerprint",
    "git_commit",
    "learning_curves",
    "log_fingerprint",
    "log_learning_curves",
    "package_versions",
    "training_run",
]

_PACKAGES = (
    "cxml",
    "scikit-learn",
    "numpy",
    "pandas",
    "pyarrow",
    "mlflow",
    "torch",
    "transformers",
    "datasets",
    "spacy",
    "pydantic",
)


def git_commit(path: Path | None = None) -> str | None:
    """Commit of the cxml source checkout (with ``-dirty`` for uncommitted changes), if any."""
    where = path or Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=where,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("-dirty" if dirty else "")


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a model depends on."""
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def data_fingerprint(frame: pd.DataFrame, *, label: str | None = None) -> dict[str, Any]:
    """Content hash, row count and label counts of the training data.

    The hash covers the values of every column except the row number, in order, so the same file
    gives the same fingerprint and any edit changes it.
    """
    content = frame.drop(columns=["_row"], errors="ignore")
    digest = hashlib.sha256()
    for column in sorted(content.columns):
        digest.update(column.encode())
        values = content[column].map(lambda v: json.dumps(v, default=str, ensure_ascii=False))
        digest.update(pd.util.hash_pandas_object(values, index=False).to_numpy().tobytes())
    result: dict[str, Any] = {"sha256": digest.hexdigest(), "rows": len(frame)}
    if label is not None and label in frame:
        counts = frame[label].map(str).value_counts().sort_index()
        result["label_counts"] = {str(k): int(v) for k, v in counts.items()}
    return result


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict) and value:
        for key, child in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), child, out)
    else:
        out[prefix] = value
    return out


def _with_defaults(node: Any) -> Any:
    """``node`` (a dumped config) with each backend's ``params`` completed with its defaults."""
    if isinstance(node, list):
        return [_with_defaults(item) for item in node]
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("backend"), str) and isinstance(node.get("params"), dict):
        params = backends.get(node["backend"]).validate(node["params"]).model_dump(mode="json")
        node = {**node, "params": params}
    return {key: _with_defaults(value) for key, value in node.items()}


@contextmanager
def training_run(
    config: BaseModel,
    *,
    task: str,
    experiment: str,
    run_name: str | None = None,
    data: Path | None = None,
) -> Iterator[mlflow.ActiveRun]:
    """Start an MLflow run that logs ``config`` in full, the code commit and package versions.

    The config goes in twice: as ``config.yaml`` (exactly what to re-run) and flattened into
    params (searchable in the UI). Both hold the effective settings: every backend's
    parameters with their defaults filled in, so runs compare under the same names whether a
    setting came from the defaults, a YAML file or ``--set``, and as ``data.path`` the file
    actually read (``data``, when given).
    """
    with quiet_mlflow():
        configure()
        mlflow.set_experiment(experiment)
        with mlflow.start_run(run_name=run_name) as run:
            dumped = _with_defaults(config.model_dump(mode="json"))
            if data is not None:
                dumped["data"]["path"] = str(Path(data).resolve())
            mlflow.log_text(
                yaml.safe_dump(dumped, sort_keys=False, allow_unicode=True), "config.yaml"
            )
            params = {
                k: json.dumps(v) if isinstance(v, list | dict) else v
                for k, v in _flatten("", dumped, {}).items()
            }
            mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
            versions = package_versions()
            mlflow.log_dict(versions, "environment/packages.json")
            mlflow.set_tags(
                {
                    "cxml.task": task,
                    "cxml.version": versions.get("cxml", "unknown"),
                    "mlflow.source.git.commit": git_commit() or "unknown",
                }
            )
            yield run


@quiet_mlflow()
def log_fingerprint(frame: pd.DataFrame, *, label: str | None, name: str, source: str) -> None:
    """Log :func:`data_fingerprint` of ``frame`` as params and as an MLflow dataset input."""
    fp = data_fingerprint(frame, label=label)
    mlflow.log_params({f"data.{name}.sha256": fp["sha256"], f"data.{name}.rows": fp["rows"]})
    mlflow.log_dict(fp, f"data/{name}_fingerprint.json")
    columns = [c for c in ("text", "lang", label) if c and c in frame]
    dataset = mlflow.data.pandas_dataset.from_pandas(
        frame[columns].reset_index(drop=True), source=source, name=name, targets=label
    )
    mlflow.log_input(dataset, context=name)


def learning_curves(model: Any) -> dict[str, list[dict[str, float]]]:
    """The per-epoch validation history (``history_``) of each fine-tuned part of ``model``, by
    its attribute path: the fitted attributes of estimators, the fields of dataclasses, and the
    items of lists, tuples and dicts are looked into.

    >>> from dataclasses import dataclass
    >>> from sklearn.base import BaseEstimator
    >>> part = BaseEstimator()
    >>> part.history_ = [{"epoch": 1.0, "loss": 0.7}, {"epoch": 2.0, "loss": 0.5}]
    >>> @dataclass
    ... class Model:
    ...     parts: list
    >>> learning_curves(Model(parts=[BaseEstimator(), part]))
    {'parts.1': [{'epoch': 1.0, 'loss': 0.7}, {'epoch': 2.0, 'loss': 0.5}]}
    """
    found: dict[str, list[dict[str, float]]] = {}
    seen: set[int] = set()

    def visit(node: Any, path: str) -> None:
        if isinstance(node, str | bytes | int | float) or id(node) in seen:
            return  # a vocabulary's many words and numbers are not looked into one by one
        seen.add(id(node))
        children: Any = ()
        if isinstance(node, BaseEstimator):
            history = getattr(node, "history_", None)
            if isinstance(history, list) and history:
                found[path or "model"] = history
            children = ((k, v) for k, v in vars(node).items() if k.endswith("_"))
        elif dataclasses.is_dataclass(node) and not isinstance(node, type):
            children = ((f.name, getattr(node, f.name)) for f in dataclasses.fields(node))
        elif isinstance(node, list | tuple):
            children = enumerate(node)
        elif isinstance(node, dict):
            children = node.items()
        for key, child in children:
            visit(child, f"{path}.{key}" if path else str(key))

    visit(model, "")
    return found


@quiet_mlflow()
def log_learning_curves(model: Any) -> None:
    """Log :func:`learning_curves` to the active run: ``epoch.PATH.METRIC`` at step = epoch."""
    for path, history in learning_curves(model).items():
        for entry in history:
            step = round(entry["epoch"])
            values = {f"epoch.{path}.{k}": v for k, v in entry.items() if k != "epoch"}
            mlflow.log_metrics(values, step=step)
