"""The one scoring interface: every cxml model is an MLflow pyfunc built on :class:`CxmlModel`.

Contract (relied on by batch scoring, the HTTP service, Spark and the Python API): ``predict``
takes a :class:`pandas.DataFrame` with the task's input columns (``text`` and optional ``lang``
for comments) and returns a DataFrame with one row per input row, in order, holding the task's
output columns (:data:`OUTPUT_COLUMNS`) followed by ``model_name`` and ``model_version``.

Models are logged "from code" (:mod:`cxml.tracking.model_code`), so nothing is pickled but the
fitted estimator itself; the task, name and version travel in the pyfunc's ``model_config``.
"""

from __future__ import annotations

from typing import Any

import joblib
import pandas as pd
from mlflow.pyfunc.model import PythonModel

__all__ = ["ESTIMATOR_ARTIFACT", "OUTPUT_COLUMNS", "TASK_MODEL_NAMES", "CxmlModel"]

ESTIMATOR_ARTIFACT = "estimator"

#: Registered model name of each task.
TASK_MODEL_NAMES = {"sentiment": "cxml-sentiment", "themes": "cxml-themes", "csat": "cxml-csat"}

#: Output columns of each task, a public API: change them only on purpose.
OUTPUT_COLUMNS = {
    "sentiment": ["sentiment", "sentiment_score"],
    "themes": ["themes", "theme_scores", "theme_sentiment"],
    "csat": ["bad_rating_probability", "at_risk", "reasons"],
}


class CxmlModel(PythonModel):
    """Pyfunc wrapper of a fitted cxml estimator that has a ``predict_frame`` method.

    The estimator is loaded once in :meth:`load_context`; ``predict`` only infers.
    """

    def load_context(self, context: Any) -> None:
        self.bind(joblib.load(context.artifacts[ESTIMATOR_ARTIFACT]), context.model_config or {})

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
        out["model_name"] = self.model_name
        out["model_version"] = self.model_version
        return out
