"""The models a service serves, loaded once and swapped whole when a registry alias moves."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from cxml.errors import ModelLoadError
from cxml.tracking.loader import LoadedModel, load_model, resolve_model_uri

__all__ = ["ModelHolder", "ModelStatus"]

log = logging.getLogger("cxml.serve")


@dataclass(frozen=True)
class ModelStatus:
    """Where one task's model stands: the one served (if any) and why the last load failed."""

    task: str
    uri: str
    model: LoadedModel | None = None
    error: str | None = None
    loaded_at: float | None = None


class ModelHolder:
    """Load the model of each task and keep it current.

    Readers take a model with :meth:`get` and use the object they got. A reload loads the new
    version first, then swaps one reference (an immutable mapping), so requests in flight
    finish with the model they started with and no request waits for a load.

    Parameters
    ----------
    uris : mapping of str to str
        Task (``sentiment``, ``themes``, ``csat``) -> model URI.
    on_load : callable, default=no-op
        Called with each model that is loaded, after it is swapped in (for metrics).
    """

    def __init__(
        self,
        uris: Mapping[str, str],
        *,
        on_load: Callable[[LoadedModel], None] = lambda model: None,
    ) -> None:
        self.on_load = on_load
        self.loaded_once = False
        self._status: Mapping[str, ModelStatus] = MappingProxyType(
            {task: ModelStatus(task, uri, error="not loaded yet") for task, uri in uris.items()}
        )
        self._lock = threading.Lock()

    @property
    def models(self) -> Mapping[str, LoadedModel]:
        """Task -> loaded model, for the tasks whose model is loaded."""
        return {t: s.model for t, s in self._status.items() if s.model is not None}

    @property
    def status(self) -> Mapping[str, ModelStatus]:
        """Task -> :class:`ModelStatus`, for every configured task."""
        return self._status

    def get(self, task: str) -> LoadedModel | None:
        """The model of ``task``, or None when it is not configured or not loaded."""
        status = self._status.get(task)
        return status.model if status is not None else None

    def refresh(self) -> list[LoadedModel]:
        """Load each model that is missing or whose alias moved; returns those swapped in.

        A model that fails to load keeps serving its previous version; the reason is recorded
        in :attr:`status` and logged.
        """
        with self._lock:
            swapped = []
            for task, status in self._status.items():
                try:
                    model = self._fresh(status)
                except Exception as exc:  # a reload must never stop the service
                    log.warning("model for %s at %s: %s", task, status.uri, exc)
                    self._set(task, status.model, _reason(exc))
                    continue
                self._set(task, model or status.model, None)
                if model is not None:
                    swapped.append(model)
                    self.on_load(model)
                    log.info("serving %s version %s for %s", model.name, model.version, task)
            self.loaded_once = True
            return swapped

    def _fresh(self, status: ModelStatus) -> LoadedModel | None:
        """A newly loaded model when the URI now resolves elsewhere than the one held."""
        resolved, _, _ = resolve_model_uri(status.uri)
        if status.model is not None and status.model.uri == resolved:
            return None
        return load_model(status.uri, tasks=(status.task,))

    def _set(self, task: str, model: LoadedModel | None, error: str | None) -> None:
        old = self._status[task]
        loaded_at = time.time() if model is not None and model is not old.model else old.loaded_at
        new = ModelStatus(task, old.uri, model=model, error=error, loaded_at=loaded_at)
        self._status = MappingProxyType({**self._status, task: new})


def _reason(exc: Exception) -> str:
    """Why a load failed, in words safe to show to clients: no paths, no parser output."""
    if isinstance(exc, ModelLoadError):
        return exc.reason
    return f"failed to load ({type(exc).__name__}; see the service log)"
