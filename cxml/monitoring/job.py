"""A monitoring job from files to results: which rows, which profile, which ratings; the MLflow
run that records it.

The rows come from a prediction log (:class:`~cxml.monitoring.log.PredictionLog`) or from a file
that ``cxml score tickets`` / ``cxml analyze comments`` wrote (placed in periods by
``created_at``; its watched inputs are computed with the model that scored it). The profile is
the model version's (:func:`~cxml.monitoring.profile.load_profile`), and only the rows of that
version are monitored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd

from cxml.config import DataConfig
from cxml.contracts.fields import COMMENTS, TICKETS
from cxml.contracts.outputs import FLAG, MODEL_COLUMNS, OUTPUTS, SCORE, output_names
from cxml.contracts.tickets import ticket_inputs
from cxml.contracts.times import parse_instant
from cxml.data import read_table, read_valid
from cxml.errors import BadInputError
from cxml.monitoring.inputs import drift_inputs
from cxml.monitoring.log import PredictionLog, log_frame
from cxml.monitoring.monitor import MonitorResult, Period, monitor
from cxml.monitoring.profile import ReferenceProfile, load_profile
from cxml.tracking.loader import load_model, resolve_model_uri
from cxml.tracking.pyfunc import TASK_MODEL_NAMES
from cxml.tracking.store import configure, quiet_mlflow

__all__ = ["EXPERIMENT", "MonitorJob", "read_ratings", "tidy"]

#: What ``cxml monitor comments`` accepts: either comment model (the first is the default).
_KINDS = {"comments": ("sentiment", "themes")}
#: MLflow experiment of monitoring jobs.
EXPERIMENT = "cxml-monitoring"


@dataclass
class MonitorJob:
    """One ``cxml monitor`` run: where the rows are and how to test them.

    Parameters
    ----------
    task : str or None
        ``csat``, ``sentiment``, ``themes``, or ``comments`` (None) for either comment model
        (default the sentiment champion).
    model : str or None
        The model URI whose version and profile to use; None is the task's champion.
    log, scored : str or Path or None
        The prediction log, or a scored file (exactly one).
    ratings : Path or None
        Ratings that arrived later (ticket models).
    period, since, until, alpha
        See :func:`cxml.monitoring.monitor.monitor` and :meth:`PredictionLog.read`.
    """

    task: str | None
    model: str | None
    log: str | None = None
    scored: Path | None = None
    ratings: Path | None = None
    period: Period = "W"
    since: str | None = None
    until: str | None = None
    alpha: float = 0.01
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        task = self.task or "comments"
        kinds = _KINDS.get(task, (task,))
        self.uri = self.model or f"models:/{TASK_MODEL_NAMES[kinds[0]]}@champion"
        self.resolved, self.name, self.version = resolve_model_uri(self.uri)
        self.profile: ReferenceProfile = load_profile(self.uri)
        if self.profile.task not in kinds:
            raise BadInputError(
                f"{self.uri} is a {self.profile.task} model; this command monitors "
                f"{' or '.join(str(k) for k in kinds)} models"
            )
        self.task = self.profile.task

    def read(self) -> pd.DataFrame:
        """The rows to monitor, in the log's form."""
        assert self.task is not None
        if self.log is not None:
            read = PredictionLog(self.log).read(self.task, self.since, self.until)
            if read.torn:
                self.notes.append(
                    f"{len(read.torn)} unreadable log file(s) skipped (torn or foreign), e.g. "
                    f"{read.torn[0]}"
                )
            self.notes.append(f"log: {len(read.frame):,} rows from {read.files} file(s)")
            return read.frame
        assert self.scored is not None
        return self._scored_rows(self.scored)

    def _scored_rows(self, path: Path) -> pd.DataFrame:
        """A scored file's rows in the log's form, their watched inputs computed again."""
        assert self.task is not None
        schema = TICKETS if self.task == "csat" else COMMENTS
        frame, summary, _ = read_valid(path, schema, config=DataConfig())
        self.notes.append(f"data: {summary.describe()}")
        missing = [c for c in output_names(self.task) if c not in frame]
        if missing:
            raise BadInputError(
                f"{path}: no {', '.join(missing)} column: score the file with this model first"
            )
        if "created_at" not in frame or frame["created_at"].isna().all():
            raise BadInputError(f"{path}: no created_at times to place the rows in periods")
        frame = self._typed_outputs(frame, path)
        loaded = load_model(self.uri, tasks=(self.task,))
        inputs = ticket_inputs(frame) if self.task == "csat" else frame
        drift = drift_inputs(self.task, loaded.estimator, inputs)
        outputs = frame[[*output_names(self.task), *(c.name for c in MODEL_COLUMNS)]]
        id_column = "ticket_id" if self.task == "csat" else "id"
        ids = frame[id_column].tolist() if id_column in frame else [None] * len(frame)
        rows = log_frame(self.task, outputs, ids, drift, frame["created_at"])
        start = None if self.since is None else parse_instant(self.since, name="since")
        stop = None if self.until is None else parse_instant(self.until, name="until")
        keep = rows["scored_at"].notna()
        if start is not None:
            keep &= rows["scored_at"] >= start
        if stop is not None:
            keep &= rows["scored_at"] < stop
        return rows[keep].reset_index(drop=True)

    def _typed_outputs(self, frame: pd.DataFrame, path: Path) -> pd.DataFrame:
        """The scores and flags of a scored file as numbers and booleans (a CSV holds text);
        rows whose score or flag cannot be read are left out and counted."""
        assert self.task is not None
        good = pd.Series(True, index=frame.index)
        for column in OUTPUTS[self.task]:
            if column.type == SCORE:
                values = pd.to_numeric(frame[column.name], errors="coerce")
                frame[column.name] = values
                good &= values.between(-1.0, 1.0)
            elif column.type == FLAG:
                words = frame[column.name].astype(str).str.strip().str.lower()
                flags = words.map({"true": True, "1": True, "false": False, "0": False})
                frame[column.name] = flags
                good &= flags.notna()
        if not good.all():
            self.notes.append(
                f"{path}: {int((~good).sum()):,} rows without a readable "
                f"{' or '.join(c.name for c in OUTPUTS[self.task] if c.type in (SCORE, FLAG))} "
                "were left out"
            )
        return frame[good].reset_index(drop=True)

    def run(self, rows: pd.DataFrame) -> MonitorResult:
        """Test ``rows`` against the profile (and join the ratings)."""
        ratings = read_ratings(self.ratings) if self.ratings is not None else None
        result = monitor(
            rows,
            self.profile,
            model_version=None if self.version == "local" else self.version,
            period=self.period,
            alpha=self.alpha,
            ratings=ratings,
        )
        if result.counts.get("other_versions"):
            self.notes.append(
                f"{result.counts['other_versions']:,} rows scored by other versions of "
                f"{self.name} were left out (monitor them with --model models:/{self.name}/N)"
            )
        if result.periods.empty:
            raise BadInputError(
                f"no rows of {self.name} version {self.version} in the period asked for"
            )
        return result

    @quiet_mlflow()
    def track(self, result: MonitorResult) -> str:
        """Log one MLflow run: the job's settings, per-period figures (step = period number),
        the tidy table and the alerts; returns the run id."""
        configure()
        mlflow.set_experiment(EXPERIMENT)
        with mlflow.start_run(run_name=f"monitor {self.name} {self.version}") as run:
            mlflow.log_params(
                {
                    "task": self.task,
                    "model_uri": self.uri,
                    "model_version": self.version,
                    "source": self.log or str(self.scored),
                    "period": self.period,
                    "alpha": self.alpha,
                    "since": self.since,
                    "until": self.until,
                }
            )
            for step, figures in enumerate(result.periods.to_dict("records")):
                numbers = {
                    str(k): float(v)
                    for k, v in figures.items()
                    if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v
                }
                mlflow.log_metrics(numbers, step=step)
            mlflow.log_metric("alerts", len(result.alerts))
            mlflow.log_table(tidy(result), "monitoring/figures.json")
            mlflow.log_dict(result.to_json(), "monitoring/result.json")
            mlflow.set_tags({"cxml.model": f"{self.name}/{self.version}", "cxml.kind": "monitor"})
            return str(run.info.run_id)


def tidy(result: MonitorResult) -> pd.DataFrame:
    """Every figure of ``result`` as one long table: ``period``, ``kind``, ``name``, ``value``,
    ``low``, ``high``, ``threshold``, ``alert``, ``message``."""
    figures = result.periods.melt(id_vars="period", var_name="name", value_name="value")
    bounds = figures["name"].str.extract(r"^(?P<base>.+)_(?P<bound>low|high)$")
    values = figures[bounds["base"].isna()].copy()
    for bound in ("low", "high"):
        part = figures[bounds["bound"] == bound].assign(name=bounds["base"])
        values = values.merge(
            part.rename(columns={"value": bound}), on=["period", "name"], how="left"
        )
    values["kind"] = values["name"].str.extract(r"^(estimated|realized)_")[0].fillna("count")
    tests = result.tests.rename(columns={"test": "name"})
    table = pd.concat([values, tests.drop(columns=["statistic", "floor", "reference", "current"])])
    columns = ["period", "kind", "name", "value", "low", "high", "threshold", "alert", "message"]
    return table.reindex(columns=columns).sort_values(["period", "kind", "name"], kind="stable")


def read_ratings(path: Path) -> pd.DataFrame:
    """The ratings file as ``id``, ``rating`` and ``rated_at`` (when given) columns.

    Ratings are 1-5 scores or ``good`` / ``bad`` labels (:mod:`cxml.contracts.ratings`; 1, 2 and
    ``bad`` are bad). Rows are kept as they are; :func:`~cxml.monitoring.realized.join_ratings`
    counts the duplicates, unknown ids and unreadable ratings.
    """
    frame, problems = read_table(path)
    if problems:
        raise BadInputError(f"{path}: {problems[0]}")
    ids = next((c for c in ("ticket_id", "id") if c in frame), None)
    if ids is None or "rating" not in frame:
        raise BadInputError(f"{path}: a ratings file needs ticket_id (or id) and rating columns")
    columns: dict[str, Any] = {"id": frame[ids].astype(object), "rating": frame["rating"]}
    if "rated_at" in frame:
        columns["rated_at"] = frame["rated_at"]
    return pd.DataFrame(columns)
