"""Log fitted estimators as pyfunc models and manage the registry aliases champion / challenger."""

from __future__ import annotations

import contextlib
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.types import ColSpec, DataType, Schema
from mlflow.types.schema import Map, Object

from cxml.errors import BadInputError
from cxml.tracking import model_code
from cxml.tracking.pyfunc import ESTIMATOR_ARTIFACT, TASK_MODEL_NAMES, CxmlModel
from cxml.tracking.run import package_versions
from cxml.tracking.store import configure

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "RegisteredVersion",
    "list_models",
    "log_model",
    "promote",
    "register",
]

CHAMPION = "champion"
CHALLENGER = "challenger"


@dataclass(frozen=True)
class RegisteredVersion:
    """A registered model version and the aliases that point at it."""

    name: str
    version: str
    aliases: tuple[str, ...]
    run_id: str | None

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


def log_model(
    estimator: Any,
    *,
    task: str,
    input_example: pd.DataFrame,
    optional_inputs: tuple[str, ...] = (),
) -> str:
    """Log ``estimator`` to the active run as a :class:`CxmlModel` pyfunc; returns its model URI.

    ``input_example`` must be generated text, never a customer's; its output, computed here,
    fixes the output half of the signature. Columns in ``optional_inputs`` may be left out.
    """
    name = TASK_MODEL_NAMES.get(task, task)
    config = {"task": task, "model_name": name, "model_version": "unregistered"}
    predicted = CxmlModel().bind(estimator, config).predict(None, input_example)
    inferred = infer_signature(input_example, predicted)
    inputs = Schema(
        [
            ColSpec(type=spec.type, name=spec.name, required=spec.name not in optional_inputs)
            for spec in inferred.inputs.inputs
        ]
    )
    inferred.inputs = inputs
    inferred.outputs = Schema([_as_map(spec) for spec in inferred.outputs.inputs])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "estimator.joblib"
        joblib.dump(estimator, path)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(Path(model_code.__file__)),
            model_config=config,
            artifacts={ESTIMATOR_ARTIFACT: str(path)},
            signature=inferred,
            input_example=input_example,
            pip_requirements=[f"cxml=={package_versions().get('cxml', '0')}"],
            metadata={"cxml_task": task, "cxml_name": name},
        )
    return str(info.model_uri)


def _as_map(spec: ColSpec) -> ColSpec:
    """A dict column (theme -> score) is a map whatever keys the example had, not an object."""
    if isinstance(spec.type, Object):
        value_type = spec.type.properties[0].dtype if spec.type.properties else DataType.string
        return ColSpec(type=Map(value_type), name=spec.name, required=spec.required)
    return spec


def register(model_uri: str, name: str, *, alias: str = CHALLENGER) -> RegisteredVersion:
    """Register ``model_uri`` as a new version of ``name`` and point ``alias`` at it.

    The first version of a model also becomes ``champion``, so there is always a model to serve.
    """
    configure()
    client = MlflowClient()
    with contextlib.redirect_stderr(io.StringIO()):  # MLflow prints its own chatter there
        version = mlflow.register_model(model_uri, name).version
    client.set_registered_model_alias(name, alias, str(version))
    try:
        client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        client.set_registered_model_alias(name, CHAMPION, str(version))
    return _describe(client, name, str(version))


def promote(name: str, version: str | None = None) -> RegisteredVersion:
    """Point ``champion`` at ``version`` (default: the current challenger's version)."""
    configure()
    client = MlflowClient()
    if version is None:
        try:
            version = str(client.get_model_version_by_alias(name, CHALLENGER).version)
        except MlflowException:
            raise BadInputError(f"{name!r} has no {CHALLENGER!r} version to promote") from None
    try:
        client.set_registered_model_alias(name, CHAMPION, version)
    except MlflowException as exc:
        raise BadInputError(f"cannot promote {name} version {version}: {exc.message}") from None
    return _describe(client, name, version)


def list_models() -> list[RegisteredVersion]:
    """Every registered version that has an alias, plus the latest version of each model."""
    configure()
    client = MlflowClient()
    out: list[RegisteredVersion] = []
    for model in client.search_registered_models():
        latest = max((int(v.version) for v in model.latest_versions or []), default=0)
        aliased = {str(v) for v in (model.aliases or {}).values()}
        for version in sorted(aliased | ({str(latest)} if latest else set()), key=int):
            out.append(_describe(client, model.name, version))
    return out


def _describe(client: MlflowClient, name: str, version: str) -> RegisteredVersion:
    mv = client.get_model_version(name, version)
    return RegisteredVersion(
        name=name, version=str(version), aliases=tuple(sorted(mv.aliases or [])), run_id=mv.run_id
    )
