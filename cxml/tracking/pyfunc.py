"""The one scoring interface: every cxml model is an MLflow pyfunc built on :class:`CxmlModel`.

Contract (relied on by batch scoring, the HTTP service, Spark and the Python API): ``predict``
takes a :class:`pandas.DataFrame` with the task's input columns (``text`` and optional ``lang``
for comments) and returns a DataFrame with one row per input row, in order, holding the task's
output columns followed by ``model_name`` and ``model_version`` (:mod:`cxml.contracts.outputs`).
Comment models also take ``params={"evidence": True}``, which adds the ``evidence`` column
(:data:`~cxml.contracts.outputs.EVIDENCE`, :mod:`cxml.comments.evidence`) before the model
columns; the parameter is in the signature's params schema (:func:`params_schema`).

Models are logged "from code" (:mod:`cxml.tracking.model_code`), so nothing is pickled but the
fitted estimator itself; the task travels in the pyfunc's ``model_config``. The registered name
and version are only known after registration, which records them in the model's
``registration.json`` artifact (:func:`cxml.tracking.registry.register`), so that any load of
the registered version, plain ``mlflow.pyfunc.load_model`` and ``mlflow models serve``
included, reports them. :func:`cxml.tracking.load_model` sets the name and version the registry
gives on the model it loads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args, get_origin

import joblib
import pandas as pd
from mlflow.pyfunc.model import PythonModel
from mlflow.types import ColSpec, DataType, ParamSchema, ParamSpec, Schema
from mlflow.types.schema import Array, Map

from cxml.contracts.outputs import EVIDENCE, EVIDENCE_PARAM, MODEL_COLUMNS, OUTPUTS
from cxml.errors import BadInputError, ModelLoadError

__all__ = [
    "COMMENT_TASKS",
    "ESTIMATOR_ARTIFACT",
    "REGISTRATION_ARTIFACT",
    "TASK_MODEL_NAMES",
    "CxmlModel",
    "output_schema",
    "params_schema",
]

ESTIMATOR_ARTIFACT = "estimator"

#: Artifact holding ``{"model_name": ..., "model_version": ...}`` once the model is registered.
REGISTRATION_ARTIFACT = "registration"

#: Registered model name of each task.
TASK_MODEL_NAMES = {"sentiment": "cxml-sentiment", "themes": "cxml-themes", "csat": "cxml-csat"}

#: The tasks whose models read comments (and can give evidence).
COMMENT_TASKS = ("sentiment", "themes")

_MLFLOW_TYPES = {str: DataType.string, float: DataType.double, bool: DataType.boolean}


def output_schema(task: str) -> Schema:
    """The output half of ``task``'s pyfunc signature: its outputs and the model columns."""
    outputs = (*OUTPUTS[task], *MODEL_COLUMNS)
    return Schema([ColSpec(type=_mlflow_type(c.type.python), name=c.name) for c in outputs])


def params_schema(task: str) -> ParamSchema | None:
    """The params half of ``task``'s signature: ``evidence`` (boolean, default false) for the
    comment tasks, none for the others."""
    if task not in COMMENT_TASKS:
        return None
    return ParamSchema([ParamSpec(EVIDENCE_PARAM, DataType.boolean, False)])


def _mlflow_type(python: Any) -> DataType | Array | Map:
    """MLflow's type of an output's Python type: ``list[str]`` is an array, ``dict[str, float]``
    a map (whatever keys a row has)."""
    origin, args = get_origin(python), get_args(python)
    if origin is list:
        return Array(_MLFLOW_TYPES[args[0]])
    if origin is dict:
        return Map(_MLFLOW_TYPES[args[1]])
    return _MLFLOW_TYPES[python]


class CxmlModel(PythonModel):
    """Pyfunc wrapper of a fitted cxml estimator that has a ``predict_frame`` method.

    The estimator is loaded once in :meth:`load_context`; ``predict`` only infers.
    """

    def load_context(self, context: Any) -> None:
        artifacts = context.artifacts
        config = {**(context.model_config or {}), **_registration(artifacts)}
        self.bind(_estimator(Path(artifacts[ESTIMATOR_ARTIFACT])), config)

    def bind(self, estimator: Any, config: dict[str, Any]) -> CxmlModel:
        """Attach a fitted estimator and the ``task`` / ``model_name`` / ``model_version``."""
        self.estimator = estimator
        self.task = str(config.get("task", "unknown"))
        self.model_name = str(config.get("model_name", TASK_MODEL_NAMES.get(self.task, "cxml")))
        self.model_version = str(config.get("model_version", "unregistered"))
        return self

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        out = self.estimator.predict_frame(model_input)
        if (params or {}).get(EVIDENCE_PARAM):
            if self.task not in COMMENT_TASKS:
                raise BadInputError(f"evidence is given by comment models, not by {self.task!r}")
            from cxml.comments.evidence import explain  # only what asks for it pays the import

            out[EVIDENCE.name] = explain(self.estimator, model_input, out)
        n = len(out)
        model = {"model_name": [self.model_name] * n, "model_version": [self.model_version] * n}
        # one concat: adding the columns one by one costs twice as much (scoring one ticket)
        return pd.concat([out, pd.DataFrame(model, index=out.index, dtype=str)], axis=1)


def _estimator(path: Path) -> Any:
    """The fitted estimator; a missing, damaged or foreign file is a :class:`ModelLoadError`."""
    try:
        return joblib.load(path)
    except FileNotFoundError:
        raise ModelLoadError(f"{path.name} is missing", "estimator file is missing") from None
    except ImportError as exc:
        raise ModelLoadError(
            f"{path.name} needs a package this environment lacks: {exc}",
            "the model needs a package this environment lacks",
        ) from exc
    except Exception as exc:  # unpickling a damaged file raises anything: EOFError, struct.error
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise ModelLoadError(
            f"{path.name} is truncated or corrupt ({detail})",
            "estimator file is truncated or corrupt",
        ) from exc


def _registration(artifacts: dict[str, str]) -> dict[str, str]:
    """The registered name and version the model's artifacts record; {} when unregistered."""
    path = artifacts.get(REGISTRATION_ARTIFACT)
    if path is None:  # logged before cxml recorded registrations
        return {}
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = None
    if not isinstance(record, dict):
        raise ModelLoadError(
            f"{Path(path).name} is unreadable or not a JSON object",
            "registration record is corrupt",
        )
    return {key: str(record[key]) for key in ("model_name", "model_version") if key in record}
