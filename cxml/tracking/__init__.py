"""MLflow conventions: where runs go, what a training run logs, the registry, the one loader."""

from cxml.tracking.loader import LoadedModel, load_model, resolve_model_uri
from cxml.tracking.registry import CHALLENGER, CHAMPION, list_models, log_model, promote, register
from cxml.tracking.run import (
    data_fingerprint,
    learning_curves,
    log_fingerprint,
    log_learning_curves,
    training_run,
)
from cxml.tracking.store import configure, quiet_mlflow, tracking_uri

__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "LoadedModel",
    "configure",
    "data_fingerprint",
    "learning_curves",
    "list_models",
    "load_model",
    "log_fingerprint",
    "log_learning_curves",
    "log_model",
    "promote",
    "quiet_mlflow",
    "register",
    "resolve_model_uri",
    "tracking_uri",
    "training_run",
]
