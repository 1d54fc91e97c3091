"""What the training pipelines share: the result, label checks, logging and registering the
model."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from cxml.config import RegistryConfig
from cxml.data import ReadSummary
from cxml.errors import InsufficientDataError
from cxml.monitoring.profile import PROFILE_ARTIFACT, PROFILE_FILE, ReferenceProfile
from cxml.tracking import log_model, register
from cxml.tracking.registry import RegisteredVersion

__all__ = ["COMMENT_EXAMPLE", "TrainResult", "check_counts", "log_and_register"]

#: Input example stored with every comment model: written for cxml, never a customer's text.
COMMENT_EXAMPLE = pd.DataFrame(
    {
        "text": [
            "The parcel came a day early and the driver was friendly.",
            "주문한 지 일주일이 지났는데 아직도 배송 조회가 안 돼요.",
        ],
        "lang": ["en", "ko"],
    }
)


@dataclass
class TrainResult:
    """What a training run produced."""

    run_id: str
    model_uri: str
    metrics: dict[str, float]
    data: ReadSummary
    rejects: Path | None
    registered: RegisteredVersion | None = None
    per_label: pd.DataFrame = field(default_factory=pd.DataFrame)


def check_counts(labels: pd.Series, min_examples: int, *, what: str = "label") -> None:
    """Refuse to train when there are fewer than two labels or a label has too few examples."""
    counts = labels.astype(str).value_counts()
    if what == "label" and len(counts) < 2:
        raise InsufficientDataError(
            f"Training needs at least two labels; the data has only {counts.to_dict()}"
        )
    scarce = counts[counts < min_examples]
    if len(scarce):
        detail = ", ".join(f"{k!r}: {v}" for k, v in scarce.items())
        raise InsufficientDataError(
            f"Too few examples to learn {what} {detail} (labels.min_examples = {min_examples}). "
            f"Add labelled comments, merge the {what} into another, or lower labels.min_examples."
        )


def log_and_register(
    model: Any,
    *,
    task: str,
    registry: RegistryConfig,
    on_step: Callable[[str], None],
    input_example: pd.DataFrame = COMMENT_EXAMPLE,
    optional_inputs: tuple[str, ...] = ("lang",),
    profile: ReferenceProfile | None = None,
) -> tuple[str, RegisteredVersion | None]:
    """Log ``model`` to the active run as the task's pyfunc and register it when enabled.

    A reference ``profile`` is stored among the model's artifacts (so it travels with the
    registered version) and, for browsing, as the run's ``monitoring/reference_profile.json``.
    """
    on_step("logging the model")
    with tempfile.TemporaryDirectory() as tmp:
        artifacts: dict[str, Path] = {}
        if profile is not None:
            artifacts[PROFILE_ARTIFACT] = profile.save(Path(tmp) / PROFILE_FILE)
            mlflow.log_artifact(str(artifacts[PROFILE_ARTIFACT]), "monitoring")
        model_uri = log_model(
            model,
            task=task,
            input_example=input_example,
            optional_inputs=optional_inputs,
            artifacts=artifacts,
        )
    if not registry.enabled:
        return model_uri, None
    on_step(f"registering {registry.name}")
    return model_uri, register(model_uri, registry.name, alias=registry.alias)
