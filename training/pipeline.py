"""The training skeleton every task fills in: read -> split -> fit -> evaluate -> log -> register.

:class:`TrainingPipeline` reads and validates the file, opens the MLflow run, logs the data's
fingerprint, counts and rejected rows, then the evaluation's metrics, tables and figures, and logs
and registers the model. A task's subclass says how rows get their labels (``prepare``), how it
splits, fits and evaluates (``evaluate``) and, when the registered model is not the evaluated one,
how it is refitted (``final_model``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import mlflow
import pandas as pd

from cxml.config import CsatConfig, SentimentConfig, ThemesConfig
from cxml.data import read_valid
from cxml.errors import BadInputError
from cxml.monitoring.inputs import drift_inputs
from cxml.monitoring.profile import ReferenceProfile, build_profile
from cxml.tracking import log_fingerprint, log_learning_curves, training_run

from .common import COMMENT_EXAMPLE, TrainResult, log_and_register

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from cxml.contracts.fields import Schema

__all__ = ["Evaluation", "Labelled", "TrainingPipeline"]

ConfigT = TypeVar("ConfigT", SentimentConfig, ThemesConfig, CsatConfig)


@dataclass
class Labelled:
    """Valid rows with their labels, ready to split.

    Attributes
    ----------
    frame : DataFrame
        The rows to learn from, with the ``label`` column; fingerprinted as they are.
    label : str
        The label column.
    counts : dict of str to float, default={}
        More figures about the data, logged as metrics beside ``data.rows_read``.
    documents : dict of str to dict, default={}
        Findings about the data (the csat task's leakage audit), logged as JSON under their
        artifact paths.
    tags : dict of str to str, default={}
        Run tags (e.g. ``cxml.leaks_allowed``).
    """

    frame: pd.DataFrame
    label: str
    counts: dict[str, float] = field(default_factory=dict)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Evaluation:
    """What a task's split, fit and evaluation produced; the skeleton logs it.

    Attributes
    ----------
    model : estimator
        The fitted model, registered unless :meth:`TrainingPipeline.final_model` refits it.
    metrics : dict of str to float
        Logged as the run's metrics and returned as :attr:`TrainResult.metrics`.
    table : DataFrame
        Figures per label (or per decile), returned as :attr:`TrainResult.per_label`.
    tables, figures : dict, default={}
        Logged under their artifact paths with ``mlflow.log_table`` and ``mlflow.log_figure``.
    held_out : DataFrame, default=None
        The evaluation rows as the model reads them, for the reference profile
        (:mod:`cxml.monitoring.profile`); None: the model is logged without one.
    outputs : DataFrame, default=None
        The output columns the evaluated model gave ``held_out``, row for row.
    """

    model: Any
    metrics: dict[str, float]
    table: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    held_out: pd.DataFrame | None = None
    outputs: pd.DataFrame | None = None


class TrainingPipeline(ABC, Generic[ConfigT]):
    """One task's training: read -> split -> fit -> evaluate -> log -> register.

    Parameters
    ----------
    config : SentimentConfig, ThemesConfig or CsatConfig
        The task's config.
    on_step : callable, default=no-op
        Called with a short description as each step starts (the CLI shows it).
    """

    #: The task's name in tracking (``cxml.task``) and in the logged model.
    task: ClassVar[str]
    #: The fields the training file is validated against.
    schema: ClassVar[Schema]
    #: What the rows are, as the reading step says it.
    rows: ClassVar[str] = "data"
    #: The error when neither ``data`` nor ``data.path`` names a file.
    no_data: ClassVar[str] = "No training data: pass --data FILE or set data.path in the config"
    #: The input example stored with the model, and its columns that scoring may leave out.
    input_example: ClassVar[pd.DataFrame] = COMMENT_EXAMPLE
    optional_inputs: ClassVar[tuple[str, ...]] = ("lang",)

    def __init__(
        self, config: ConfigT, *, on_step: Callable[[str], None] = lambda step: None
    ) -> None:
        self.config: ConfigT = config
        self.on_step = on_step

    def required(self) -> list[str]:
        """Fields every training row must have, beyond the schema's own."""
        return []

    @abstractmethod
    def prepare(self, frame: pd.DataFrame, path: Path) -> Labelled:
        """Label the valid rows of ``path``; refuse to train on too few (before any run starts)."""

    @abstractmethod
    def evaluate(self, data: Labelled) -> Evaluation:
        """Split, fit and evaluate (the run is active; say each step with ``on_step``)."""

    def final_model(self, data: Labelled, evaluation: Evaluation) -> Any:
        """The model to register: the evaluated one unless a task refits it."""
        return evaluation.model

    def policy(self, model: Any) -> dict[str, float] | None:
        """The registered ``model``'s flag policy, for its reference profile (None: no flags)."""
        return None

    def reference_scores(
        self, evaluation: Evaluation, model: Any
    ) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
        """The reference rows, the model whose view of them is the reference, and its outputs on
        them: the held-out rows and the evaluated model, which never trained on them (a task
        whose registered model did not train on them either scores them with it instead)."""
        assert evaluation.held_out is not None and evaluation.outputs is not None
        return evaluation.held_out, evaluation.model, evaluation.outputs

    def profile(self, evaluation: Evaluation, model: Any) -> ReferenceProfile | None:
        """The reference profile of the held-out rows (:meth:`reference_scores`), with the
        validation metrics and the policy of the registered ``model``."""
        if evaluation.held_out is None or evaluation.outputs is None:
            return None
        self.on_step("profiling the held-out rows")
        rows, scorer, outputs = self.reference_scores(evaluation, model)
        inputs = drift_inputs(self.task, scorer, rows)
        performance = {k: v for k, v in evaluation.metrics.items() if k.startswith("val_")}
        return build_profile(self.task, inputs, outputs, performance, policy=self.policy(model))

    def run(self, data: str | Path | None = None) -> TrainResult:
        """Train, evaluate, log and (by default) register; ``data`` overrides ``data.path``."""
        config = self.config
        path = Path(data) if data is not None else config.data.path
        if path is None:
            raise BadInputError(self.no_data)
        self.on_step(f"reading and validating {self.rows}")
        frame, summary, rejects = read_valid(
            path, self.schema, config=config.data, require=self.required(), keep_rejects=True
        )
        labelled = self.prepare(frame, path)
        experiment = config.tracking.experiment
        with training_run(config, task=self.task, experiment=experiment, data=path) as run:
            log_fingerprint(labelled.frame, label=labelled.label, name="train", source=str(path))
            counts = {"data.rows_read": summary.rows, "data.rows_rejected": summary.rejected}
            mlflow.log_metrics(counts | labelled.counts)
            for name, document in labelled.documents.items():
                mlflow.log_dict(document, name)
            mlflow.set_tags(labelled.tags)
            if getattr(config.labels, "check", "off") == "exclude":
                from .label_check import exclude_flagged  # it imports the tasks, which import us

                labelled = exclude_flagged(self.task, labelled, config, on_step=self.on_step)
            if rejects is not None:
                mlflow.log_artifact(str(rejects), "data")
            evaluation = self.evaluate(labelled)
            mlflow.log_metrics(evaluation.metrics)
            for name, table in evaluation.tables.items():
                mlflow.log_table(table, name)
            for name, figure in evaluation.figures.items():
                mlflow.log_figure(figure, name)
            model = self.final_model(labelled, evaluation)
            log_learning_curves(model)
            model_uri, registered = log_and_register(
                model,
                task=self.task,
                registry=config.registry,
                on_step=self.on_step,
                input_example=self.input_example,
                optional_inputs=self.optional_inputs,
                profile=self.profile(evaluation, model),
            )
            run_id = run.info.run_id
        return TrainResult(
            run_id=run_id,
            model_uri=model_uri,
            metrics=evaluation.metrics,
            data=summary,
            rejects=rejects,
            registered=registered,
            per_label=evaluation.table,
        )
