"""Log fitted estimators as pyfunc models and manage the registry aliases champion / challenger."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature, infer_signature
from mlflow.types import ColSpec, Schema

from cxml.errors import BadInputError
from cxml.tracking import model_code
from cxml.tracking.pyfunc import (
    ESTIMATOR_ARTIFACT,
    REGISTRATION_ARTIFACT,
    TASK_MODEL_NAMES,
    CxmlModel,
    output_schema,
    params_schema,
)
from cxml.tracking.run import package_versions
from cxml.tracking.store import configure, configure_existing, missing_store, quiet_mlflow

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


@quiet_mlflow()
def log_model(
    estimator: Any,
    *,
    task: str,
    input_example: pd.DataFrame,
    optional_inputs: tuple[str, ...] = (),
    artifacts: Mapping[str, str | Path] | None = None,
) -> str:
    """Log ``estimator`` to the active run as a :class:`CxmlModel` pyfunc; returns its model URI.

    ``input_example`` must be generated text, never a customer's; it fixes the input half of
    the signature (columns in ``optional_inputs`` may be left out), and
    :func:`~cxml.tracking.pyfunc.output_schema` the output half. ``artifacts`` are more files
    that travel with the model, by artifact name (the reference profile): each is stored as
    ``artifacts/<file name>`` in the model.
    """
    name = TASK_MODEL_NAMES.get(task, task)
    config = {"task": task}  # name and version: see cxml.tracking.pyfunc
    # scored here, so that a model that cannot score its example fails now, not when served
    CxmlModel().bind(estimator, config).predict(None, input_example)
    inferred = infer_signature(input_example).inputs
    inputs = Schema(
        [
            ColSpec(type=spec.type, name=spec.name, required=spec.name not in optional_inputs)
            for spec in inferred.inputs
        ]
    )
    params = params_schema(task)  # MLflow's own default is None, though typed otherwise
    signature = ModelSignature(inputs=inputs, outputs=output_schema(task), params=params)  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "estimator.joblib"
        joblib.dump(estimator, path)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(Path(model_code.__file__)),
            model_config=config,
            artifacts={
                ESTIMATOR_ARTIFACT: str(path),
                REGISTRATION_ARTIFACT: str(_registration_file(Path(tmp), {})),
                **{key: str(file) for key, file in (artifacts or {}).items()},
            },
            signature=signature,
            input_example=input_example,
            pip_requirements=[f"cxml=={package_versions().get('cxml', '0')}"],
            metadata={"cxml_task": task, "cxml_name": name},
        )
    return str(info.model_uri)


@quiet_mlflow()
def register(model_uri: str, name: str, *, alias: str = CHALLENGER) -> RegisteredVersion:
    """Register ``model_uri`` as a new version of ``name`` and point ``alias`` at it.

    The first version of a model also becomes ``champion``, so there is always a model to serve.
    The name and version are then recorded as tags of the training run and in the model's
    ``registration.json`` artifact, which the registered version's artifacts are: every load of
    the version, plain MLflow included, reports them (see :mod:`cxml.tracking.pyfunc`). A logged
    model registered more than once records its latest registration; the cxml loader takes the
    name and version from the registry either way.
    """
    configure()
    client = MlflowClient()
    with contextlib.redirect_stderr(io.StringIO()):  # MLflow prints its own chatter there
        mv = mlflow.register_model(model_uri, name)
    _record_registration(client, model_uri, mv)
    version = str(mv.version)
    client.set_registered_model_alias(name, alias, version)
    try:
        client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        client.set_registered_model_alias(name, CHAMPION, version)
    return _describe(client, name, version)


def _registration_file(folder: Path, record: dict[str, str]) -> Path:
    path = folder / "registration.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def _record_registration(client: MlflowClient, model_uri: str, mv: ModelVersion) -> None:
    """Tag the training run with the registered name and version, and write them over the
    logged model's ``registration.json``."""
    record = {"model_name": mv.name, "model_version": str(mv.version)}
    if mv.run_id:
        for key, value in record.items():
            client.set_tag(mv.run_id, f"cxml.registered_{key.removeprefix('model_')}", value)
    model_id = mlflow.models.get_model_info(model_uri).model_id
    with tempfile.TemporaryDirectory() as tmp:
        client.log_model_artifact(model_id, str(_registration_file(Path(tmp), record)), "artifacts")


@quiet_mlflow()
def promote(name: str, version: str | None = None) -> RegisteredVersion:
    """Point ``champion`` at ``version`` (default: the current challenger's version)."""
    configure_existing(f"cannot promote {name!r}")
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


@quiet_mlflow()
def list_models() -> list[RegisteredVersion]:
    """Every registered version that has an alias, plus the latest version of each model.

    Empty when there is no store yet: listing never creates one.
    """
    if missing_store():
        return []
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
