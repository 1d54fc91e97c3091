"""Where MLflow keeps runs and models: ``MLFLOW_TRACKING_URI``, else a SQLite file in the cwd."""

from __future__ import annotations

import logging
import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlparse

from cxml.errors import ModelNotFoundError

__all__ = [
    "DEFAULT_DB",
    "configure",
    "configure_existing",
    "missing_store",
    "quiet_mlflow",
    "tracking_uri",
]

DEFAULT_DB = "mlflow.db"

_CHATTY_LOGGERS = ("mlflow", "alembic", "urllib3", "git")
_QUIET_ENVIRONMENT = {
    "GIT_PYTHON_REFRESH": "quiet",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}
_QUIET_LOCK = threading.Lock()
_QUIET_UNDO = ExitStack()  # how to restore the caller's state, unwound by the last block out
_quiet_depth = 0


def tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI`` when set, else ``sqlite:///<cwd>/mlflow.db``.

    With the SQLite default, artifacts go to ``./mlruns`` beside it, so one folder holds the
    whole store and ``mlflow ui --backend-store-uri sqlite:///mlflow.db`` opens it.
    """
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / DEFAULT_DB}"


def configure() -> str:
    """Point MLflow at :func:`tracking_uri` (tracking and registry); returns the URI."""
    import mlflow

    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def _silence(undo: ExitStack) -> None:
    """Quiet MLflow and its helpers, registering on ``undo`` how to restore what was there."""
    undo.enter_context(warnings.catch_warnings())
    warnings.filterwarnings("ignore", module="mlflow")
    for name in _CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        undo.callback(logger.setLevel, logger.level)
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))
    for key, value in _QUIET_ENVIRONMENT.items():
        if key not in os.environ:
            undo.callback(os.environ.pop, key, None)
            os.environ[key] = value


@contextmanager
def quiet_mlflow() -> Iterator[None]:
    """Quiet MLflow's logging, warnings, progress bars and git probe inside cxml's own calls.

    MLflow, alembic, urllib3 and git log at WARNING or above, MLflow's warnings are ignored and
    MLflow shows no progress bars, only while a block runs: a caller's logger levels, warning
    filters and environment are as they were afterwards. Nested and concurrent blocks (threads
    of the service) share one quiet period, restored when the last one ends.
    """
    global _quiet_depth
    with _QUIET_LOCK:
        if _quiet_depth == 0:
            _silence(_QUIET_UNDO)
        _quiet_depth += 1
    try:
        yield
    finally:
        with _QUIET_LOCK:
            _quiet_depth -= 1
            if _quiet_depth == 0:
                _QUIET_UNDO.close()


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
