"""Tables of named, versioned building blocks (backends), in the spirit of spaCy's registry.

A backend is added under a stable, versioned name such as ``"cxml.tfidf_linear.v1"`` with a
pydantic model of its parameters; the defaults live on that model, so they sit in one place and a
misspelt parameter fails when the config is loaded, not half-way through training. New behaviour
gets a new version (``.v2``); old configs keep working.

A table knows its built-in names and the module that adds each, and imports that module the first
time one of its names is looked up. So the table sits below what it lists: :mod:`cxml.config`
validates a backend's parameters at load through :data:`backends` without importing any backend.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from cxml.errors import ConfigError

__all__ = ["Catalog", "Entry", "backends", "unwrap_config_errors"]

T = TypeVar("T")


@contextmanager
def unwrap_config_errors() -> Iterator[None]:
    """Let a :class:`ConfigError` raised inside pydantic validation out as itself.

    Pydantic wraps every ``ValueError`` a validator raises, :class:`ConfigError` included, in a
    ``ValidationError``; a validator that looks a name up in a catalog means its own message.
    """
    try:
        yield
    except ValidationError as exc:
        for err in exc.errors():
            cause = err.get("ctx", {}).get("error")
            if isinstance(cause, ConfigError):
                raise cause from None
        raise


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A factory in a catalog and the pydantic model that validates its parameters."""

    name: str
    factory: Callable[..., T]
    params: type[BaseModel]

    def build(self, params: dict[str, Any] | None = None, **extra: Any) -> T:
        """Validate ``params`` (defaults filled in) and call the factory with them and ``extra``."""
        return self.factory(**self.validate(params).model_dump(), **extra)

    def validate(self, params: dict[str, Any] | None = None) -> BaseModel:
        """Return the validated parameters, raising :class:`ConfigError` naming each bad key."""
        try:
            with unwrap_config_errors():
                return self.params.model_validate(params or {})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(params)'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ConfigError(f"Bad parameters for {self.name!r}: {problems}") from None


class Catalog(Generic[T]):
    """A table of named factories, e.g. ``backends``.

    Parameters
    ----------
    kind : str
        What the table holds, as messages name it (``"backends"``).
    builtins : mapping of str to str, optional
        Built-in name -> the module that adds it, imported on the first lookup of the name.
    """

    def __init__(self, kind: str, builtins: Mapping[str, str] | None = None) -> None:
        self.kind = kind
        self._modules = dict(builtins or {})
        self._entries: dict[str, Entry[T]] = {}

    def add(
        self, name: str, *, params: type[BaseModel]
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator: add ``factory`` under ``name`` with its parameter model."""

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already in the catalog")
            self._entries[name] = Entry(name=name, factory=factory, params=params)
            return factory

        return decorate

    def get(self, name: str) -> Entry[T]:
        """Return the entry named ``name``; a :class:`ConfigError` lists the known names."""
        if name not in self._entries and name in self._modules:
            importlib.import_module(self._modules[name])
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(self.names()) or "(none)"
            raise ConfigError(
                f"Unknown {self.kind} {name!r}. Known {self.kind}: {known}."
            ) from None

    def names(self) -> list[str]:
        """Known names (built in or added), sorted."""
        return sorted(self._entries.keys() | self._modules.keys())


backends: Catalog[Any] = Catalog(
    "backends",
    builtins={
        "cxml.tfidf_linear.v1": "cxml.comments.backends.tfidf",
        "cxml.spacy_textcat.v1": "cxml.comments.backends.spacy_textcat",
        "cxml.encoder_linear.v1": "cxml.comments.backends.encoder",
        "cxml.finetune.v1": "cxml.comments.backends.finetune",
        "cxml.contrastive.v1": "cxml.comments.backends.contrastive",
        "cxml.ensemble.v1": "cxml.comments.backends.ensemble",
        "cxml.distilled.v1": "cxml.comments.backends.distilled",
    },
)
"""The comment-model backends (:mod:`cxml.comments.backends`), one module each."""
