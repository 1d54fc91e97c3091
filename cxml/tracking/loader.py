"""One loader for every scoring path: ``models:/NAME@ALIAS``, ``models:/NAME/VERSION``,
``runs:/RUN_ID/model``, a local model folder, or a bare registered name (its champion)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import yaml
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import Model

from cxml.errors import ModelLoadError, ModelNotFoundError
from cxml.tracking.pyfunc import CxmlModel
from cxml.tracking.registry import CHAMPION
from cxml.tracking.store import configure_existing, quiet_mlflow

__all__ = ["LoadedModel", "load_model", "resolve_model_uri"]

_ALIAS = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[\w-]+)$")
_VERSION = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>\d+)$")
_RUN = re.compile(r"^runs:/(?P<id>[0-9a-f]+)/")
_LOGGED = re.compile(r"^models:/(?P<id>m-[0-9a-f]+)$")


@dataclass
class LoadedModel:
    """A loaded pyfunc and where it came from."""

    uri: str
    name: str
    version: str
    task: str
    pyfunc: Any

    def predict(self, frame: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Score ``frame`` (with pyfunc ``params``, such as ``{"evidence": True}``); see
        :mod:`cxml.tracking.pyfunc` for the contract."""
        with quiet_mlflow():
            return self.pyfunc.predict(frame, params=params)

    @property
    def estimator(self) -> Any:
        """The fitted estimator the pyfunc wraps (None for a model not built on
        :class:`~cxml.tracking.pyfunc.CxmlModel`)."""
        own = _cxml_model(self.pyfunc)
        return None if own is None else own.estimator


@quiet_mlflow()
def resolve_model_uri(uri: str) -> tuple[str, str, str]:
    """Return ``(uri, name, version)``: the alias resolved to a version for registry URIs.

    A bare name such as ``cxml-sentiment`` means ``models:/cxml-sentiment@champion``. A local
    path keeps its folder name as name and ``local`` as version; a run URI gives the run id.
    Anything that cannot be found is a :class:`~cxml.errors.ModelLoadError` naming ``uri``;
    looking up a registry never creates a store.
    """
    path = Path(uri).expanduser()
    if path.exists():
        if not (path / "MLmodel").is_file():
            raise _error(uri, "not an MLflow model folder (no MLmodel file)")
        return str(path.resolve()), path.name, "local"
    scheme = re.match(r"^[a-z][a-z0-9+.-]+:/", uri)  # not a drive letter
    if not scheme and re.search(r"[/\\]", uri):  # a registered name cannot hold a '/'
        raise ModelNotFoundError(f"cannot load model {uri!r}: no such folder", "no such folder")
    target = uri if scheme else f"models:/{uri}@{CHAMPION}"
    if run := _RUN.match(target) or _LOGGED.match(target):
        configure_existing(f"cannot load model {uri!r}")
        return target, "run", run["id"][:14]
    if not (match := _ALIAS.match(target) or _VERSION.match(target)):
        raise _error(
            uri,
            "expected models:/NAME@ALIAS, models:/NAME/VERSION, runs:/RUN_ID/model, "
            "models:/m-ID, a local model folder or a registered model name",
            "not a model URI",
        )
    configure_existing(f"cannot load model {uri!r}")
    client = MlflowClient()
    name = match["name"]
    try:
        if alias := match.groupdict().get("alias"):
            version = str(client.get_model_version_by_alias(name, alias).version)
        else:
            version = str(client.get_model_version(name, match["version"]).version)
    except MlflowException:
        raise _not_registered(client, uri, match) from None
    return f"models:/{name}/{version}", name, version


@quiet_mlflow()
def load_model(uri: str, *, tasks: Sequence[str] = ()) -> LoadedModel:
    """Load a cxml pyfunc model from any of the URI forms of :func:`resolve_model_uri`.

    ``tasks``, when given, are the tasks accepted: a model of another task is refused. Every
    model that cannot be loaded is a :class:`~cxml.errors.ModelLoadError` naming ``uri``. A
    folder or run URI takes the name and version the model itself records (``unregistered``
    until it is registered).
    """
    resolved, name, version = resolve_model_uri(uri)
    meta = _metadata(uri, resolved)
    task = str(meta.get("cxml_task", "unknown"))
    if tasks and task not in tasks:
        wanted = " or ".join(repr(t) for t in tasks)
        if task == "unknown":
            raise _error(uri, f"not a cxml {wanted} model (its MLmodel has no cxml_task)")
        raise _error(uri, f"it is a {task!r} model, not a {wanted} one")
    pyfunc = _pyfunc(uri, resolved)
    own = _cxml_model(pyfunc)
    if own is not None and _VERSION.match(resolved):  # what the registry says it is
        own.model_name, own.model_version = name, version
    elif own is not None:  # a folder or run: the model knows its registered name and version
        name, version = own.model_name, own.model_version
    return LoadedModel(uri=resolved, name=name, version=version, task=task, pyfunc=pyfunc)


def _error(uri: str, problem: str, reason: str | None = None) -> ModelLoadError:
    return ModelLoadError(f"cannot load model {uri!r}: {problem}", reason or problem)


def _not_registered(client: MlflowClient, uri: str, match: re.Match[str]) -> ModelNotFoundError:
    """Which of the registered model, its alias or its version is missing."""
    name = match["name"]
    try:
        client.get_registered_model(name)
    except MlflowException:
        problem = f"no registered model {name!r}"
    else:
        alias = match.groupdict().get("alias")
        problem = f"{name!r} has no " + (
            f"alias {alias!r}" if alias else f"version {match['version']}"
        )
    return ModelNotFoundError(
        f"cannot load model {uri!r}: {problem} in {mlflow.get_tracking_uri()}. "
        "Train one first (cxml train ...) or check `cxml models list`.",
        problem,
    )


def _metadata(uri: str, resolved: str) -> dict[str, Any]:
    """The cxml metadata of the model's MLmodel file."""
    try:
        return Model.load(resolved).metadata or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (YAML error at line {mark.line + 1})" if mark is not None else ""
        raise _error(
            uri, f"its MLmodel file is not valid YAML{where}", "MLmodel file is corrupt"
        ) from None
    except MlflowException as exc:
        raise _error(uri, exc.message.splitlines()[0], "model not found") from None
    except OSError as exc:
        problem = f"cannot read its MLmodel file ({type(exc).__name__})"
        raise _error(uri, problem, "MLmodel file is unreadable") from None
    except (AttributeError, TypeError, ValueError, KeyError):  # YAML, but not a model description
        raise _error(
            uri, "its MLmodel file is not an MLflow model description", "MLmodel file is corrupt"
        ) from None


def _cxml_model(pyfunc: Any) -> CxmlModel | None:
    """The :class:`CxmlModel` inside a loaded pyfunc; None for any other model."""
    try:
        own = pyfunc.unwrap_python_model()
    except MlflowException:  # not a Python model
        return None
    return own if isinstance(own, CxmlModel) else None


def _pyfunc(uri: str, resolved: str) -> Any:
    """``mlflow.pyfunc.load_model`` with every failure a :class:`ModelLoadError`."""
    try:
        return mlflow.pyfunc.load_model(resolved)
    except ModelLoadError as exc:  # raised by CxmlModel.load_context
        raise _error(uri, str(exc), exc.reason) from None
    except MlflowException as exc:
        raise _error(uri, exc.message.splitlines()[0], "not a loadable MLflow model") from None
    except Exception as exc:  # a broken model folder makes MLflow raise anything
        raise _error(uri, f"{type(exc).__name__}: {exc}", "not a loadable MLflow model") from exc
