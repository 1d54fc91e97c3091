"""Where MLflow keeps runs and models: ``MLFLOW_TRACKING_URI``, else a SQLite file in the cwd."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from urllib.parse import urlparse

from cxml.errors import ModelNotFoundError

__all__ = ["DEFAULT_DB", "configure", "configure_existing", "missing_store", "tracking_uri"]

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


def missing_store() -> str | None:
    """The SQLite file or folder of a local store when it does not exist yet, else None."""
    uri = tracking_uri()
    parsed = urlparse(uri)
    local = {"sqlite": uri.partition("?")[0][len("sqlite:///") :], "file": parsed.path}
    path = local.get(parsed.scheme)
    return path if path and path != ":memory:" and not Path(path).exists() else None


def configure_existing(action: str) -> str:
    """:func:`configure`, after checking that a local store exists: a lookup never creates one.

    Raises :class:`~cxml.errors.ModelNotFoundError`, its message starting with ``action`` (such
    as ``cannot load model 'x'``), when the store's SQLite file or folder is missing.
    """
    if path := missing_store():
        hint = "train a model first or set MLFLOW_TRACKING_URI"
        raise ModelNotFoundError(
            f"{action}: no MLflow store at {path} ({hint})", f"no MLflow store ({hint})"
        )
    return configure()
