"""Registries of named, versioned building blocks (backends), in the spirit of spaCy's registry.

A backend is registered under a stable, versioned name such as ``"cxml.tfidf_linear.v1"`` with a
pydantic model of its parameters; the defaults live on that model, so they sit in one place and a
misspelt parameter fails when the config is loaded, not half-way through training. New behaviour
gets a new version (``.v2``); old configs keep working.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from cxml.errors import ConfigError

__all__ = ["Registry", "RegistryEntry", "backends"]

T = TypeVar("T")


@dataclass(frozen=True)
class RegistryEntry(Generic[T]):
    """A registered factory and the pydantic model that validates its parameters."""

    name: str
    factory: Callable[..., T]
    params: type[BaseModel]

    def build(self, params: dict[str, Any] | None = None, **extra: Any) -> T:
        """Validate ``params`` (defaults filled in) and call the factory with them and ``extra``."""
        return self.factory(**self.validate(params).model_dump(), **extra)

    def validate(self, params: dict[str, Any] | None = None) -> BaseModel:
        """Return the validated parameters, raising :class:`ConfigError` naming each bad key."""
        try:
            return self.params.model_validate(params or {})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(params)'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ConfigError(f"Bad parameters for {self.name!r}: {problems}") from None


class Registry(Generic[T]):
    """A table of named factories, e.g. ``backends``."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, RegistryEntry[T]] = {}

    def register(
        self, name: str, *, params: type[BaseModel]
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator: register ``factory`` under ``name`` with its parameter model."""

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = RegistryEntry(name=name, factory=factory, params=params)
            return factory

        return decorate

    def get(self, name: str) -> RegistryEntry[T]:
        """Return the entry registered as ``name``; a :class:`ConfigError` lists the known names."""
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "(none)"
            raise ConfigError(
                f"Unknown {self.kind} {name!r}. Known {self.kind}: {known}."
            ) from None

    def names(self) -> list[str]:
        """Registered names, sorted."""
        return sorted(self._entries)


backends: Registry[Any] = Registry("backends")
