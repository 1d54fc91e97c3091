"""Champion against challenger on the same labelled rows: each model's metrics and paired tests.

:func:`compare_models` reads a labelled file the way training reads it (the task's schema, data
config and labelling), scores both models through the one loader and tests the difference of
each metric on the same rows (challenger minus champion):

========= ================== ==========================================
task      decided on         also tested
========= ================== ==========================================
csat      ROC-AUC (DeLong)   average precision (paired bootstrap)
sentiment macro-F1 (paired   accuracy (McNemar)
          bootstrap)
themes    micro-F1 (paired   -
          bootstrap)
========= ================== ==========================================

:meth:`Comparison.decide` is the promotion rule, a non-inferiority test: promote when the lower
bound of the 95 % interval of the difference in the decisive metric is at least ``-margin``, i.e.
the data rule out that the challenger is worse than the champion by more than the margin.
:func:`apply_gate` decides, records the comparison as an MLflow run (experiment ``cxml-gate``)
and on the challenger's registered version, and moves ``champion`` when the challenger passes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from sklearn.metrics import accuracy_score, f1_score
from sklearn.preprocessing import MultiLabelBinarizer

from cxml.config import CsatConfig, SentimentConfig, ThemesConfig
from cxml.contracts.tickets import ticket_inputs
from cxml.data import ReadSummary, read_valid
from cxml.errors import BadInputError
from cxml.metrics.ranking import delong_paired, mcnemar, paired_bootstrap
from cxml.metrics.scores import average_precision, macro_f1, micro_f1
from cxml.tracking import CHALLENGER, CHAMPION, load_model, promote, resolve_model_uri, training_run
from cxml.tracking.registry import RegisteredVersion

from .common import COMMENT_EXAMPLE
from .csat import CsatPipeline
from .evaluation import risk_metrics
from .pipeline import Labelled, TrainingPipeline
from .sentiment import SentimentPipeline
from .themes import ThemesPipeline

__all__ = [
    "DEFAULT_MARGIN",
    "GATE_EXPERIMENT",
    "PIPELINES",
    "PRIMARY",
    "Comparison",
    "Decision",
    "Gate",
    "PairedTest",
    "Scored",
    "apply_gate",
    "compare_labelled",
    "compare_models",
    "contenders",
    "read_labelled",
]

TaskConfig = SentimentConfig | ThemesConfig | CsatConfig

#: How much worse (in the decisive metric) a challenger may be and still be promoted.
DEFAULT_MARGIN = 0.01
#: The MLflow experiment of the gate's runs.
GATE_EXPERIMENT = "cxml-gate"
#: Each task's training pipeline: how its files are read and labelled.
PIPELINES: dict[str, type[TrainingPipeline[Any]]] = {
    "csat": CsatPipeline,
    "sentiment": SentimentPipeline,
    "themes": ThemesPipeline,
}
#: The metric each task's promotion is decided on.
PRIMARY = {"csat": "roc_auc", "sentiment": "macro_f1", "themes": "micro_f1"}


@dataclass(frozen=True)
class Scored:
    """One compared model: the URI given, its registered name and version, its metrics."""

    uri: str
    name: str
    version: str
    metrics: dict[str, float]


@dataclass(frozen=True)
class PairedTest:
    """The paired test of one metric on the same rows; ``diff`` is challenger minus champion.

    ``ci_low`` and ``ci_high`` bound the 95 % interval of ``diff``; NaN for a test that gives
    only a p-value (McNemar's). ``p_value`` is two-sided, for no difference.
    """

    metric: str
    test: str
    champion: float
    challenger: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float


@dataclass(frozen=True)
class Decision:
    """The gate's answer: ``promote`` or not, on ``metric`` with ``margin``, and why, in words."""

    promote: bool
    metric: str
    margin: float
    reason: str


@dataclass(frozen=True)
class Comparison:
    """Two models scored on the same labelled rows.

    Attributes
    ----------
    task : str
        csat, sentiment or themes.
    source : str
        The labelled rows, in words (a file, or the part of one held out from training).
    rows_read, rows_rejected, rows_used : int
        Rows read from the file, rejected by validation, and labelled and compared.
    champion, challenger : Scored
        The reference model and the one that would replace it.
    tests : tuple of PairedTest
        One per tested metric, the decisive one (:data:`PRIMARY`) first.
    """

    task: str
    source: str
    rows_read: int
    rows_rejected: int
    rows_used: int
    champion: Scored
    challenger: Scored
    tests: tuple[PairedTest, ...]

    @property
    def primary(self) -> PairedTest:
        """The test of the metric promotion is decided on."""
        return self.tests[0]

    def decide(self, margin: float = DEFAULT_MARGIN) -> Decision:
        """Promote iff the 95 % interval of the difference lies above ``-margin`` (its lower bound
        is at least ``-margin``): the challenger is shown to be not worse by more than that.

        >>> test = PairedTest("roc_auc", "DeLong", 0.80, 0.79, -0.01, -0.02, 0.0, 0.2)
        >>> one = Scored("a", "m", "1", {})
        >>> c = Comparison("csat", "f.csv", 10, 0, 10, one, one, (test,))
        >>> c.decide(0.03).promote, c.decide(0.01).promote
        (True, False)
        """
        t = self.primary
        passes = bool(np.isfinite(t.ci_low) and t.ci_low >= -margin)
        said = (
            f"{t.metric} challenger v{self.challenger.version} {t.challenger:.4f} vs champion "
            f"v{self.champion.version} {t.champion:.4f}: difference {t.diff:+.4f}, 95 % CI "
            f"{t.ci_low:+.4f} to {t.ci_high:+.4f} ({t.test}, p = {t.p_value:.3g}); "
        )
        if passes:
            said += f"the lower bound is at least -{margin:g}: not worse by more than the margin"
        elif not np.isfinite(t.ci_low):
            said += "no interval could be computed, so non-inferiority is not shown"
        else:
            said += f"the lower bound is below -{margin:g}: it may be worse by more than the margin"
        return Decision(passes, t.metric, margin, said)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON (NaN as None)."""

        def plain(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            if isinstance(value, float) and not np.isfinite(value):
                return None
            return value

        out: dict[str, Any] = plain(asdict(self))
        return out


@dataclass(frozen=True)
class Gate:
    """What :func:`apply_gate` did: the comparison, the decision, the MLflow run that records
    them, and the champion afterwards (moved to the challenger when it passed)."""

    comparison: Comparison
    decision: Decision
    run_id: str
    champion: RegisteredVersion | None


def read_labelled(task: str, path: str | Path, config: TaskConfig) -> tuple[Labelled, ReadSummary]:
    """The labelled rows of ``path``, read, validated and labelled as training does.

    Raises
    ------
    BadInputError
        When no row of the file is usable (``InsufficientDataError`` when too few are labelled).
    """
    pipeline = PIPELINES[task](config)
    frame, summary, _ = read_valid(
        path, pipeline.schema, config=config.data, require=pipeline.required()
    )
    if not summary.good:
        raise BadInputError(f"{path}: no usable labelled rows ({summary.describe()})")
    return pipeline.prepare(frame, Path(path)), summary


def compare_models(
    task: str,
    data_path: str | Path,
    uri_a: str,
    uri_b: str,
    *,
    config: TaskConfig,
    n_boot: int = 1000,
) -> Comparison:
    """Score models ``uri_a`` (the champion) and ``uri_b`` (the challenger) on the labelled file
    ``data_path`` and test their differences; see :func:`compare_labelled`."""
    data, summary = read_labelled(task, data_path, config)
    return compare_labelled(
        task, data, uri_a, uri_b, source=str(data_path), summary=summary, n_boot=n_boot
    )


def compare_labelled(
    task: str,
    data: Labelled,
    champion: str,
    challenger: str,
    *,
    source: str,
    summary: ReadSummary,
    n_boot: int = 1000,
) -> Comparison:
    """Score ``champion`` and ``challenger`` (model URIs of ``task``) on ``data`` and test
    the difference of each metric, row by row paired.

    Parameters
    ----------
    task : {"csat", "sentiment", "themes"}
        Models of another task are refused (:class:`~cxml.errors.ModelLoadError`).
    data : Labelled
        Rows with their labels, as :func:`read_labelled` gives them.
    champion, challenger : str
        Model URIs (any form :func:`cxml.tracking.load_model` takes).
    source : str
        What the rows are, in words.
    summary : ReadSummary
        How the file they come from was read (rows read and rejected).
    n_boot : int, default=1000
        Resamples of the paired bootstraps (seed 0: the same rows give the same intervals).
    """
    frame = data.frame
    inputs = (
        ticket_inputs(frame)
        if task == "csat"
        else frame[[c for c in COMMENT_EXAMPLE.columns if c in frame]]
    )
    models, outputs = [], []
    for uri in (champion, challenger):
        model = load_model(uri, tasks=(task,))
        models.append(model)
        outputs.append(model.predict(inputs).reset_index(drop=True))
    truth = frame[data.label]
    measure = {"csat": _csat, "sentiment": _sentiment, "themes": _themes}[task]
    metrics, tests = measure(truth, outputs[0], outputs[1], n_boot)
    scored = [
        Scored(uri, m.name, m.version, values)
        for uri, m, values in zip((champion, challenger), models, metrics, strict=True)
    ]
    return Comparison(
        task=task,
        source=source,
        rows_read=summary.rows,
        rows_rejected=summary.rejected,
        rows_used=len(frame),
        champion=scored[0],
        challenger=scored[1],
        tests=tests,
    )


Measured = tuple[tuple[dict[str, float], dict[str, float]], tuple[PairedTest, ...]]


def _bootstrapped(
    name: str, metric: Callable[[Any, Any], float], y: Any, a: Any, b: Any, n_boot: int
) -> PairedTest:
    """The bootstrap test of ``metric`` of champion ``a`` and challenger ``b`` (``b - a``)."""
    d = paired_bootstrap(metric, y, b, a, n_boot=n_boot, seed=0)
    return PairedTest(
        name, "paired bootstrap", d.value_b, d.value_a, d.diff, d.ci_low, d.ci_high, d.p_value
    )


def _csat(truth: pd.Series, a: pd.DataFrame, b: pd.DataFrame, n_boot: int) -> Measured:
    y = truth.to_numpy(dtype=int)
    pa, pb = (out["bad_rating_probability"].to_numpy(dtype=float) for out in (a, b))
    metrics = tuple(
        risk_metrics(y, p, out["at_risk"].to_numpy(dtype=bool)) for p, out in ((pa, a), (pb, b))
    )
    auc = delong_paired(y, pb, pa)  # its difference is a - b: challenger - champion
    roc = (auc.auc_b, auc.auc_a, auc.diff, auc.ci_low, auc.ci_high, auc.p_value)
    tests = (
        PairedTest("roc_auc", "DeLong", *roc),
        _bootstrapped("average_precision", average_precision, y, pa, pb, n_boot),
    )
    return (metrics[0], metrics[1]), tests


def _sentiment(truth: pd.Series, a: pd.DataFrame, b: pd.DataFrame, n_boot: int) -> Measured:
    y = truth.astype(str).to_numpy(dtype=object)
    ya, yb = (out["sentiment"].astype(str).to_numpy(dtype=object) for out in (a, b))
    metrics = tuple(
        {
            "accuracy": float(accuracy_score(y, p)),
            "macro_f1": macro_f1(y, p),
            "weighted_f1": float(f1_score(y, p, average="weighted", zero_division=0)),
        }
        for p in (ya, yb)
    )
    _, p_value = mcnemar(ya == y, yb == y)
    accuracy = (metrics[0]["accuracy"], metrics[1]["accuracy"])
    tests = (
        _bootstrapped("macro_f1", macro_f1, y, ya, yb, n_boot),
        PairedTest(
            "accuracy", "McNemar", *accuracy, accuracy[1] - accuracy[0], np.nan, np.nan, p_value
        ),
    )
    return (metrics[0], metrics[1]), tests


def _themes(truth: pd.Series, a: pd.DataFrame, b: pd.DataFrame, n_boot: int) -> Measured:
    lists = [truth.map(list), a["themes"].map(list), b["themes"].map(list)]
    names = sorted({name for column in lists for row in column for name in row})
    Y, Pa, Pb = (MultiLabelBinarizer(classes=names).fit_transform(column) for column in lists)
    metrics = tuple(
        {
            "micro_f1": micro_f1(Y, P),
            "macro_f1": float(f1_score(Y, P, average="macro", zero_division=0)),
        }
        for P in (Pa, Pb)
    )
    # multi-label rows have no one class to resample within: the bootstrap resamples positions
    # into both models' stacked predictions (champion first), all in one stratum
    expected, stacked, rows = np.vstack([Y, Y]), np.vstack([Pa, Pb]), np.arange(len(Y))

    def picked_micro_f1(_: Any, picked: Any) -> float:
        return micro_f1(expected[picked], stacked[picked])

    test = _bootstrapped("micro_f1", picked_micro_f1, np.zeros(len(Y)), rows, rows + len(Y), n_boot)
    return (metrics[0], metrics[1]), (test,)


def contenders(name: str, version: str | None = None) -> tuple[str, str]:
    """``models:/NAME/V`` URIs of ``name``'s champion and of its challenger (or ``version``).

    Raises
    ------
    ModelNotFoundError
        When the model, its champion or the challenger is not registered.
    """
    champion = resolve_model_uri(f"models:/{name}@{CHAMPION}")[0]
    wanted = f"models:/{name}/{version}" if version else f"models:/{name}@{CHALLENGER}"
    return champion, resolve_model_uri(wanted)[0]


def apply_gate(
    comparison: Comparison, *, config: TaskConfig, margin: float = DEFAULT_MARGIN
) -> Gate:
    """Decide, record and act: log the comparison as a run of :data:`GATE_EXPERIMENT`, tag the
    challenger's registered version with the decision, and make it champion if it passed."""
    decision = comparison.decide(margin)
    run_id = _log(comparison, decision, config)
    challenger = comparison.challenger
    champion = None
    if challenger.version.isdigit():  # a registered version: record the decision on it
        tags = {
            "cxml.gate.decision": "promote" if decision.promote else "keep",
            "cxml.gate.run_id": run_id,
            "cxml.gate.champion_version": comparison.champion.version,
            f"cxml.gate.{decision.metric}_diff": f"{comparison.primary.diff:+.4f}",
        }
        client = MlflowClient()
        for key, value in tags.items():
            client.set_model_version_tag(challenger.name, challenger.version, key, value)
        if decision.promote:
            champion = promote(challenger.name, challenger.version)
    return Gate(comparison, decision, run_id, champion)


def _log(comparison: Comparison, decision: Decision, config: TaskConfig) -> str:
    """One run of :data:`GATE_EXPERIMENT`: both models, every metric, each test, the decision."""
    a, b = comparison.champion, comparison.challenger
    name = f"{comparison.task} gate: v{a.version} vs v{b.version}"
    with training_run(
        config, task=comparison.task, experiment=GATE_EXPERIMENT, run_name=name
    ) as run:
        mlflow.log_params(
            {
                "gate.source": comparison.source[:500],
                "gate.champion_uri": a.uri,
                "gate.challenger_uri": b.uri,
                "gate.champion_version": a.version,
                "gate.challenger_version": b.version,
                "gate.metric": decision.metric,
                "gate.margin": decision.margin,
            }
        )
        values: dict[str, float] = {
            "rows_read": comparison.rows_read,
            "rows_rejected": comparison.rows_rejected,
            "rows_used": comparison.rows_used,
            "gate.promote": float(decision.promote),
        }
        for role, scored in (("champion", a), ("challenger", b)):
            values.update({f"{role}.{k}": v for k, v in scored.metrics.items()})
        for t in comparison.tests:
            values.update(
                {
                    f"{t.metric}.diff": t.diff,
                    f"{t.metric}.ci_low": t.ci_low,
                    f"{t.metric}.ci_high": t.ci_high,
                    f"{t.metric}.p_value": t.p_value,
                }
            )
        mlflow.log_metrics({k: float(v) for k, v in values.items() if np.isfinite(v)})
        mlflow.set_tags(
            {
                "cxml.gate.decision": "promote" if decision.promote else "keep",
                "cxml.gate.champion": f"{a.name} v{a.version}",
                "cxml.gate.challenger": f"{b.name} v{b.version}",
            }
        )
        mlflow.log_dict(
            {**comparison.to_dict(), "decision": asdict(decision)}, "gate/comparison.json"
        )
        return str(run.info.run_id)
