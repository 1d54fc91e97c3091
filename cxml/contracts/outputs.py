"""What each task's model returns: its output columns, in order, and their types (a public API:
change them only on purpose).

Every pyfunc's ``predict`` returns the task's :data:`OUTPUTS` followed by :data:`MODEL_COLUMNS`
(see :mod:`cxml.tracking.pyfunc`). The pyfunc's output signature, the Spark UDF's result type
and the HTTP service's response models are derived from, or checked against, these columns.

Examples
--------
>>> output_names("csat")
('bad_rating_probability', 'at_risk', 'reasons')
>>> spark_type("sentiment")
'sentiment string, sentiment_score double, model_name string, model_version string'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

__all__ = [
    "EVIDENCE",
    "EVIDENCE_PARAM",
    "FLAG",
    "LABELS",
    "LABEL_MAP",
    "MODEL_COLUMNS",
    "OUTPUTS",
    "SCORE",
    "SCORES",
    "TEXT",
    "EvidenceSpan",
    "Output",
    "ValueType",
    "evidence_key",
    "output_names",
    "spark_type",
]


@dataclass(frozen=True)
class ValueType:
    """The type of one output column, as Python and Spark SQL write it.

    Attributes
    ----------
    python : type
        The Python type of a value (the pydantic field type): ``str``, ``list[str]``, ...
    spark : str
        The Spark SQL type (``string``, ``map<string,double>``, ...).
    """

    python: Any
    spark: str


TEXT = ValueType(str, "string")
SCORE = ValueType(float, "double")
FLAG = ValueType(bool, "boolean")
LABELS = ValueType(list[str], "array<string>")
SCORES = ValueType(dict[str, float], "map<string,double>")
LABEL_MAP = ValueType(dict[str, str], "map<string,string>")


@dataclass(frozen=True)
class Output:
    """One output column: its name, type and meaning."""

    name: str
    type: ValueType
    description: str


#: The output columns of each task, in the order ``predict`` returns them.
OUTPUTS: dict[str, tuple[Output, ...]] = {
    "sentiment": (
        Output("sentiment", TEXT, "negative, neutral or positive"),
        Output("sentiment_score", SCORE, "P(positive) - P(negative), from -1 to 1"),
    ),
    "themes": (
        Output("themes", LABELS, "the themes the comment mentions"),
        Output("theme_scores", SCORES, "theme -> probability, for every theme"),
        Output("theme_sentiment", LABEL_MAP, "theme mentioned -> polarity"),
    ),
    "csat": (
        Output("bad_rating_probability", SCORE, "calibrated probability of a 1-2 rating"),
        Output("at_risk", FLAG, "flagged by the model's policy"),
        Output("reasons", LABELS, "what drives the probability up, strongest first"),
    ),
}


class EvidenceSpan(TypedDict):
    """Words of a comment that drove a prediction: ``text == comment[start:end]`` always
    (character offsets into the text as given); ``weight`` is how much they pushed towards
    the predicted label (a logit contribution, or a drop in probability when left out)."""

    start: int
    end: int
    text: str
    weight: float


#: The pyfunc parameter that asks comment models for :data:`EVIDENCE` (boolean, default off).
EVIDENCE_PARAM = "evidence"

#: The optional output of comment models, only when asked for (``params={"evidence": True}``):
#: not in :data:`OUTPUTS`, so files stay small. Keys name what the spans explain
#: (:func:`evidence_key`); spans are strongest first.
EVIDENCE = Output(
    "evidence",
    ValueType(
        dict[str, list[EvidenceSpan]],
        "map<string,array<struct<start:int,end:int,text:string,weight:double>>>",
    ),
    "prediction -> spans of the text that drove it ('sentiment', 'theme:NAME', "
    "'theme_sentiment:NAME')",
)


def evidence_key(kind: str, theme: str | None = None) -> str:
    """The :data:`EVIDENCE` key of the overall sentiment, or of a theme or its sentiment.

    >>> evidence_key("sentiment"), evidence_key("theme", "delivery")
    ('sentiment', 'theme:delivery')
    """
    if kind not in ("sentiment", "theme", "theme_sentiment"):
        raise ValueError(f"unknown evidence kind {kind!r}")
    if (theme is None) != (kind == "sentiment"):
        raise ValueError(f"{kind!r} evidence needs a theme exactly when it is about one")
    return kind if theme is None else f"{kind}:{theme}"


#: What every model appends to its outputs: which registered model scored the row.
MODEL_COLUMNS = (
    Output("model_name", TEXT, "registered model(s) that scored the item, '+'-joined"),
    Output("model_version", TEXT, "their versions, in the same order"),
)


def output_names(task: str) -> tuple[str, ...]:
    """The output column names of ``task``, without the model columns (none for an unknown
    task)."""
    return tuple(output.name for output in OUTPUTS.get(task, ()))


def spark_type(task: str) -> str:
    """The Spark SQL struct type of ``task``'s whole pyfunc output, model columns included."""
    return ", ".join(f"{c.name} {c.type.spark}" for c in (*OUTPUTS[task], *MODEL_COLUMNS))
