"""Typed configs for every pipeline, loaded from YAML with ``--set a.b=value`` overrides.

Every config model forbids unknown keys, so a misspelt key is an error that names the file and the
key instead of a silently ignored setting. The defaults of each model equal the matching file in
``configs/`` (a test keeps them in step), so every command also works without ``--config``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cxml.errors import ConfigError

__all__ = [
    "DataConfig",
    "ModelConfig",
    "RegistryConfig",
    "SentimentConfig",
    "SplitConfig",
    "ThemeModelConfig",
    "ThemeSentimentModelConfig",
    "ThemesConfig",
    "TrackingConfig",
    "apply_overrides",
    "load_config",
]


class StrictModel(BaseModel):
    """Base of every config model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataConfig(StrictModel):
    """Where the data is and how to read it."""

    path: Path | None = None
    format: Literal["auto", "csv", "parquet", "jsonl", "excel"] = "auto"
    encoding: str | None = Field(
        default=None, description="CSV encoding; detected when not given (UTF-8, CP949, Latin-1)."
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="schema field -> column in the file, e.g. {text: 'Customer Remarks'}",
    )
    max_text_chars: int = Field(default=20_000, ge=1)
    rejects: Path | None = Field(
        default=None, description="where rejected rows go; default: beside the input file"
    )


class SplitConfig(StrictModel):
    """How training data is split for evaluation."""

    strategy: Literal["holdout", "kfold"] = "holdout"
    validation_fraction: float = Field(default=0.2, gt=0.0, lt=1.0)
    folds: int = Field(default=5, ge=2, le=20)
    seed: int = 13


class ModelConfig(StrictModel):
    """The backend (a registered, versioned name) and its parameters."""

    backend: str = "cxml.tfidf_linear.v1"
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_backend(self) -> ModelConfig:
        from cxml.comments.backends import backends  # registers the comment backends

        backends.get(self.backend).validate(self.params)
        return self


class ThemeModelConfig(ModelConfig):
    """The theme classifier's backend and its decision threshold."""

    threshold: float | Literal["tuned"] = Field(
        default="tuned", description="'tuned' (per theme, on held-out folds) or a probability"
    )

    @model_validator(mode="after")
    def _check_threshold(self) -> ThemeModelConfig:
        if isinstance(self.threshold, float) and not 0 < self.threshold < 1:
            raise ValueError(f"threshold must be 'tuned' or in (0, 1), got {self.threshold}")
        return self


class ThemeSentimentModelConfig(ModelConfig):
    """The theme-level sentiment model; trained when the data has ``theme_sentiment`` labels."""

    enabled: bool = True


class RegistryConfig(StrictModel):
    """Where a trained model is registered in MLflow."""

    enabled: bool = Field(default=True, description="register the model after training")
    name: str = "cxml-sentiment"
    alias: Literal["challenger", "champion"] = "challenger"


class TrackingConfig(StrictModel):
    """MLflow experiment; the tracking URI is ``MLFLOW_TRACKING_URI`` or the local default."""

    experiment: str = "cxml-sentiment"


class ThemeLabelsConfig(StrictModel):
    """Which labels are trainable."""

    min_examples: int = Field(default=10, ge=1, description="fewest examples a label needs")


class LabelsConfig(ThemeLabelsConfig):
    """How sentiment labels are read and which are trainable."""

    from_rating: bool = Field(
        default=False,
        description="derive labels from a 1-5 rating (1-2 negative, 3 neutral, 4-5 positive)",
    )


class SentimentConfig(StrictModel):
    """``cxml train sentiment``: overall comment sentiment."""

    task: Literal["sentiment"] = "sentiment"
    data: DataConfig = Field(default_factory=DataConfig)
    labels: LabelsConfig = Field(default_factory=LabelsConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    registry: RegistryConfig = Field(default_factory=RegistryConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)


class ThemesConfig(StrictModel):
    """``cxml train themes``: multi-label themes and theme-level sentiment."""

    task: Literal["themes"] = "themes"
    taxonomy: Path | None = Field(
        default=None,
        description="themes from this taxonomy YAML (zero-shot; refined by labelled data if any)",
    )
    data: DataConfig = Field(default_factory=DataConfig)
    labels: ThemeLabelsConfig = Field(default_factory=ThemeLabelsConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    model: ThemeModelConfig = Field(default_factory=ThemeModelConfig)
    theme_sentiment: ThemeSentimentModelConfig = Field(default_factory=ThemeSentimentModelConfig)
    registry: RegistryConfig = Field(default_factory=lambda: RegistryConfig(name="cxml-themes"))
    tracking: TrackingConfig = Field(
        default_factory=lambda: TrackingConfig(experiment="cxml-themes")
    )


C = TypeVar("C", bound=StrictModel)


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``a.b=value`` overrides to a nested dict; values are parsed as YAML scalars.

    >>> apply_overrides({"split": {"seed": 1}}, ["split.seed=7", "model.params.C=0.5"])
    {'split': {'seed': 7}, 'model': {'params': {'C': 0.5}}}
    """
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. split.seed=7")
        node = raw
        parts = key.strip().split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {item!r}: {part!r} is a value, not a section")
            node = child
        node[parts[-1]] = yaml.safe_load(value) if value.strip() else None
    return raw


def load_config(model: type[C], path: str | Path | None = None, overrides: Sequence[str] = ()) -> C:
    """Load ``path`` (YAML) into ``model``, apply ``overrides`` and validate.

    Raises
    ------
    ConfigError
        Naming the file and every bad key: unknown keys, wrong types, values out of range.
    """
    source = str(path) if path is not None else f"(defaults of {model.__name__})"
    raw: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"Config file not found: {p}")
        try:
            loaded = yaml.safe_load(p.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{p}: not valid YAML: {exc}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{p}: the top level must be a mapping of keys, got {loaded!r}")
        raw = loaded or {}
    raw = apply_overrides(raw, list(overrides))
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{source}: {exc.error_count()} problem(s) in the config:"]
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling; see configs/ for the valid keys)"
            lines.append(f"  {key}: {msg} (got {err.get('input')!r})")
        raise ConfigError("\n".join(lines)) from None
    except ConfigError as exc:  # raised by a validator that looks up a registry
        raise ConfigError(f"{source}: {exc}") from None
