"""One loader for every scoring path: ``models:/NAME@ALIAS``, ``models:/NAME/VERSION``,
``runs:/RUN_ID/model``, a local model folder, or a bare registered name (its champion)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import Model

from cxml.errors import BadInputError
from cxml.tracking.registry import CHAMPION
from cxml.tracking.store import configure

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

    def predict(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score ``frame``; see :mod:`cxml.tracking.pyfunc` for the contract."""
        return self.pyfunc.predict(frame)


def resolve_model_uri(uri: str) -> tuple[str, str, str]:
    """Return ``(uri, name, version)``: the alias resolved to a version for registry URIs.

    A bare name such as ``cxml-sentiment`` means ``models:/cxml-sentiment@champion``. A local
    path keeps its folder name as name and ``local`` as version; a run URI gives the run id.
    """
    if Path(uri).exists():
        path = Path(uri)
        if not (path / "MLmodel").is_file():
            raise BadInputError(f"{uri}: not an MLflow model folder (no MLmodel file)")
        return str(path.resolve()), path.name, "local"
    configure()
    if not re.match(r"^[a-z]+:/", uri):
        uri = f"models:/{uri}@{CHAMPION}"
    client = MlflowClient()
    try:
        if m := _ALIAS.match(uri):
            mv = client.get_model_version_by_alias(m["name"], m["alias"])
            return f"models:/{m['name']}/{mv.version}", m["name"], str(mv.version)
        if m := _VERSION.match(uri):
            client.get_model_version(m["name"], m["version"])
            return uri, m["name"], m["version"]
    except MlflowException as exc:
        raise BadInputError(
            f"model {uri!r} not found in {mlflow.get_tracking_uri()}: {exc.message}. "
            "Train one first (cxml train ...) or check `cxml models list`."
        ) from None
    if m := _RUN.match(uri) or _LOGGED.match(uri):
        return uri, "run", m["id"][:14]
    raise BadInputError(
        f"cannot load {uri!r}: expected models:/NAME@ALIAS, models:/NAME/VERSION, "
        "runs:/RUN_ID/model, models:/m-ID, a local model folder or a registered model name"
    )


def load_model(uri: str) -> LoadedModel:
    """Load a cxml pyfunc model from any of the URI forms of :func:`resolve_model_uri`."""
    resolved, name, version = resolve_model_uri(uri)
    try:
        meta = Model.load(resolved).metadata or {}
        if version == "local" or name == "run":
            name = str(meta.get("cxml_name", name))
        pyfunc = mlflow.pyfunc.load_model(
            resolved, model_config={"model_name": name, "model_version": version}
        )
    except (MlflowException, OSError) as exc:
        raise BadInputError(f"cannot load model {uri!r}: {exc}") from None
    task = str(meta.get("cxml_task", "unknown"))
    return LoadedModel(uri=resolved, name=name, version=version, task=task, pyfunc=pyfunc)
