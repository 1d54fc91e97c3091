"""Typed configs for every pipeline, loaded from YAML with ``--set a.b=value`` overrides.

Every config model forbids unknown keys, so a misspelt key is an error that names the file and the
key instead of a silently ignored setting. The defaults of each model equal the matching file in
``configs/`` (a test keeps them in step), so every command also works without ``--config``.
Backends are named by string and their parameters validated through :data:`cxml.catalog.backends`
at load, so this module imports no model code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from cxml.catalog import backends, unwrap_config_errors
from cxml.contracts.fields import POST_SURVEY_FIELDS
from cxml.contracts.ratings import DEFAULT_BAD_RATINGS, check_bad_ratings
from cxml.errors import ConfigError

__all__ = [
    "CsatConfig",
    "CsatLabelsConfig",
    "DataConfig",
    "FlagPolicyConfig",
    "ModelConfig",
    "RegistryConfig",
    "SentimentConfig",
    "SplitConfig",
    "ThemeModelConfig",
    "ThemeSentimentModelConfig",
    "ThemesConfig",
    "TicketFeaturesConfig",
    "TicketModelConfig",
    "TimeSplitConfig",
    "TrackingConfig",
    "apply_overrides",
    "is_post_survey",
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
        default=None, description="text encoding; detected when null (UTF-8/16/32, CP949, Latin-1)"
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="schema field -> column in the file, e.g. {text: 'Customer Remarks'}",
    )
    max_text_chars: int = Field(default=20_000, ge=1)
    rejects: Path | None = Field(
        default=None,
        description="where rejected rows go; default: <output>.rejects.csv beside a batch job's "
        "output, ./<input file name>.rejects.csv for training, no file for commands that only read",
    )
    max_lost_share: float = Field(
        default=0.01,
        ge=0.0,
        le=1.0,
        description="stop with an error when more than this share of a file's lines cannot be "
        "read as records (malformed CSV quoting, wrong field counts, broken JSON lines)",
    )
    dayfirst: bool | None = Field(
        default=None,
        description="read dates such as 01/08/2023 day first (true: 1 August) or month first "
        "(false: 8 January); unset: such dates are an error unless only one order is possible",
    )


class SplitConfig(StrictModel):
    """How training data is split for evaluation."""

    strategy: Literal["holdout", "kfold"] = "holdout"
    validation_fraction: float = Field(default=0.2, gt=0.0, lt=1.0)
    folds: int = Field(default=5, ge=2, le=20)
    seed: int = 13


class ModelConfig(StrictModel):
    """The backend (a versioned name in :data:`cxml.catalog.backends`) and its parameters."""

    backend: str = "cxml.tfidf_linear.v1"
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_backend(self) -> ModelConfig:
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
    check: Literal["off", "exclude"] = Field(
        default="off",
        description="label check before training (cxml label check): exclude the rows it flags "
        "as likely mislabelled, or off",
    )
    check_encoder: str | None = Field(
        default="use",
        description="the label check's second view: a linear model on this sentence encoder, "
        "whose out-of-fold probabilities are averaged with the task model's; null = the task "
        "model alone",
    )

    @field_validator("check", mode="before")
    @classmethod
    def _yaml_off(cls, value: object) -> object:
        """YAML reads a bare ``off`` as false."""
        return "off" if value is False else value


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


#: Column names that reveal the survey answer: a ticket feature may never be one of these.
_POST_SURVEY = re.compile(r"survey|rating|csat|satisf|nps", re.IGNORECASE)


def is_post_survey(column: str) -> bool:
    """Whether ``column`` is named like a field that exists only after the survey.

    >>> is_post_survey("Survey_response_Date"), is_post_survey("Customer Remarks")
    (True, False)
    """
    return column in POST_SURVEY_FIELDS or bool(_POST_SURVEY.search(column))


class TicketFeaturesConfig(StrictModel):
    """Which ticket columns the bad-rating model reads; columns not declared are ignored.

    Everything declared must be known while the ticket is open: declaring a column that exists
    only after the survey (the rating, survey times, the survey comment) is an error.
    """

    durations: bool = Field(
        default=True, description="hours to first reply and hours open (or to solve)"
    )
    calendar: bool = Field(default=True, description="hour, weekday and out-of-hours of creation")
    counts: list[str] = Field(
        default_factory=lambda: [
            "replies",
            "reopens",
            "reassignments",
            "group_stations",
            "assignee_stations",
        ],
        description="count columns; one the training data never fills is left out",
    )
    categorical: list[str] = Field(
        default_factory=lambda: ["channel", "category", "priority", "customer_tier"]
    )
    numeric: list[str] = Field(default_factory=list, description="other numeric columns")
    text: ModelConfig | None = Field(
        default_factory=lambda: ModelConfig(params={"char_ngrams": None, "max_features": 50_000}),
        description="comment-model backend scoring the ticket text (null: text unused)",
    )
    ping_pong_hops: int = Field(
        default=4,
        ge=2,
        description="ping-pong: group_stations at least this, else (not given) reassignments",
    )
    business_hours: tuple[int, int] = (8, 20)
    business_days: list[int] = Field(
        default_factory=lambda: [0, 1, 2, 3, 4], description="0 = Monday"
    )
    allow_leaks: list[str] = Field(
        default_factory=list,
        description="fields the leakage audit of training may let through (docs/leakage.md); "
        "an explicit override, logged with the run",
    )

    @model_validator(mode="after")
    def _no_leakage(self) -> TicketFeaturesConfig:
        for key in ("counts", "categorical", "numeric"):
            for column in getattr(self, key):
                if is_post_survey(column):
                    raise ValueError(
                        f"{key} declares {column!r}, which exists only after the customer "
                        "answered the survey: using it would leak the rating into the model"
                    )
        if self.text is not None:
            backends.get(self.text.backend)
        return self


class TicketModelConfig(StrictModel):
    """Gradient boosting (LightGBM), its calibration and imbalance handling."""

    learning_rate: float = Field(default=0.05, gt=0, le=1)
    max_trees: int = Field(default=800, ge=1, description="upper bound; early stopping picks")
    num_leaves: int = Field(default=7, ge=2)
    min_child_samples: int = Field(default=50, ge=1)
    reg_lambda: float = Field(default=1.0, ge=0)
    class_weight: Literal["balanced"] | None = Field(
        default=None, description="'balanced' reweights the rare bad class before calibration"
    )
    calibration: Literal["sigmoid", "isotonic"] = Field(
        default="sigmoid", description="map from the booster's log-odds to probabilities"
    )
    calibration_fraction: float = Field(
        default=0.2, gt=0, lt=1, description="newest share of the training tickets, held out"
    )


class FlagPolicyConfig(StrictModel):
    """Which tickets get ``at_risk``: a capacity (share flagged) or a target precision."""

    mode: Literal["capacity", "precision"] = "capacity"
    capacity: float = Field(default=0.1, gt=0, le=1, description="flag at most this share")
    precision: float = Field(default=0.5, gt=0, lt=1, description="target precision of flags")


class CsatLabelsConfig(StrictModel):
    """Which ratings are bad, and the least data worth training on.

    Ratings are whole numbers 1-5 or ``good`` / ``bad`` (:mod:`cxml.contracts.ratings`); the
    default makes 1, 2 and ``bad`` bad, so either scale needs no setting.
    """

    bad_ratings: list[int | str] = Field(
        default_factory=lambda: list(DEFAULT_BAD_RATINGS),
        description="ratings that count as bad: numbers 1-5 and/or good, bad",
    )
    min_rated: int = Field(default=200, ge=1, description="fewest rated tickets")
    min_bad: int = Field(default=20, ge=1, description="fewest badly rated tickets")

    @field_validator("bad_ratings")
    @classmethod
    def _ratings(cls, value: list[int | str]) -> list[int | str]:
        return check_bad_ratings(value)


class TimeSplitConfig(StrictModel):
    """Time-ordered evaluation: train on older tickets, evaluate on the newest."""

    validation_fraction: float = Field(default=0.2, gt=0.0, lt=1.0)
    refit: bool = Field(
        default=True, description="after evaluating, refit on every rated ticket and register that"
    )
    seed: int = 13


class CsatConfig(StrictModel):
    """``cxml train csat``: the ticket bad-rating model."""

    task: Literal["csat"] = "csat"
    data: DataConfig = Field(default_factory=DataConfig)
    labels: CsatLabelsConfig = Field(default_factory=CsatLabelsConfig)
    features: TicketFeaturesConfig = Field(default_factory=TicketFeaturesConfig)
    model: TicketModelConfig = Field(default_factory=TicketModelConfig)
    policy: FlagPolicyConfig = Field(default_factory=FlagPolicyConfig)
    reasons: int = Field(default=3, ge=0, le=10, description="reasons given per ticket")
    split: TimeSplitConfig = Field(default_factory=TimeSplitConfig)
    registry: RegistryConfig = Field(default_factory=lambda: RegistryConfig(name="cxml-csat"))
    tracking: TrackingConfig = Field(default_factory=lambda: TrackingConfig(experiment="cxml-csat"))


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
        with unwrap_config_errors():
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
    except ConfigError as exc:  # raised by a validator that looks a backend up in the catalog
        raise ConfigError(f"{source}: {exc}") from None
