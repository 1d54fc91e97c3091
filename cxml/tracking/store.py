"""Where MLflow keeps runs and models: ``MLFLOW_TRACKING_URI``, else a SQLite file in the cwd."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

__all__ = ["DEFAULT_DB", "configure", "tracking_uri"]

DEFAULT_DB = "mlflow.db"


def tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI`` when set, else ``sqlite:///<cwd>/mlflow.db``.

    With the SQLite default, artifacts go to ``./mlruns`` beside it, so one folder holds the
    whole store and ``mlflow ui --backend-store-uri sqlite:///mlflow.db`` opens it.
    """
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / DEFAULT_DB}"


def configure() -> str:
    """Point MLflow at :func:`tracking_uri` (tracking and registry) and quiet its chatter."""
    import mlflow

    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    for name in ("mlflow", "alembic", "urllib3", "git"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module="mlflow")
    os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    return uri
