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
from typing import Any

__all__ = [
    "FLAG",
    "LABELS",
    "LABEL_MAP",
    "MODEL_COLUMNS",
    "OUTPUTS",
    "SCORE",
    "SCORES",
    "TEXT",
    "Output",
    "ValueType",
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
