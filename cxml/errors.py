"""Exceptions that cxml raises on purpose, and the exit code each one maps to.

Exit codes of the ``cxml`` command:

* ``0``: success;
* ``1``: an unexpected failure (a bug, a crashed dependency);
* ``2``: bad input the user can fix: a config, a data file, a model URI or a command option;
* ``3``: the check said no (:data:`SAID_NO`): ``cxml monitor`` raised an alert,
  ``cxml promote --if-better`` or ``cxml retrain`` kept the champion, or there was not enough
  data to train (too few rows or examples of a label), so the model in use stays.
"""

from __future__ import annotations

__all__ = [
    "SAID_NO",
    "BadInputError",
    "ConfigError",
    "CxmlError",
    "DataError",
    "InsufficientDataError",
    "ModelLoadError",
    "ModelNotFoundError",
]


#: Exit code of a check that said no: an alert, a champion kept, too little data to train.
SAID_NO = 3


class CxmlError(Exception):
    """Base class of every error cxml raises on purpose."""

    exit_code = 1


class BadInputError(CxmlError, ValueError):
    """Input the user can fix: the message says what and where.

    Also a ``ValueError``, so ``except ValueError`` around a scikit-learn-style call catches it.
    """

    exit_code = 2


class ConfigError(BadInputError):
    """A config file or ``--set`` override that does not validate."""


class DataError(BadInputError):
    """A data file that cannot be read at all (rows that cannot be read go to rejects instead)."""


class ModelLoadError(BadInputError):
    """A model URI or folder that cannot be loaded.

    The message names the URI as the user gave it; ``reason`` says what is wrong in a few words,
    with no path or parser output, for places that must not show those (the HTTP service).
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class ModelNotFoundError(ModelLoadError):
    """A model that is not there: no store, registered model, alias, version or folder."""


class InsufficientDataError(CxmlError):
    """Too little data, or too few examples of a label, to train a model."""

    exit_code = SAID_NO
