"""What the prediction log stores of each scored row: one Arrow schema per task.

A row says which item was scored (``id``), when (``scored_at``), by which registered model
(``model_name``, ``model_version``) and by which scoring path (``source``); then the task's
outputs as :data:`cxml.contracts.outputs.OUTPUTS` declares them, and the watched inputs that
drift is measured on (:mod:`cxml.monitoring.inputs`): ``numbers`` and ``categories`` as maps from
input name to value, and the text's hashed word ``tokens``.

Examples
--------
>>> log_schema("sentiment").names
['id', 'scored_at', 'model_name', 'model_version', 'source', 'sentiment', 'sentiment_score', \
'numbers', 'categories', 'tokens']
>>> log_schema("csat").field("reasons").type
ListType(list<item: string>)
"""

from __future__ import annotations

from typing import Any, get_args, get_origin

import pyarrow as pa

from cxml.contracts.outputs import OUTPUTS, ValueType

__all__ = ["DRIFT_COLUMNS", "ROW_COLUMNS", "SOURCES", "arrow_type", "log_schema"]

#: The scoring paths that write to the log.
SOURCES = ("batch", "service", "spark", "python")

#: The columns before a row's outputs: the item, the moment, the model and the scoring path.
ROW_COLUMNS: tuple[pa.Field, ...] = (
    pa.field("id", pa.string()),
    pa.field("scored_at", pa.timestamp("us", tz="UTC")),
    pa.field("model_name", pa.string()),
    pa.field("model_version", pa.string()),
    pa.field("source", pa.string()),
)

#: The columns after a row's outputs: the watched inputs (:class:`~cxml.monitoring.inputs.
#: DriftInputs`).
DRIFT_COLUMNS: tuple[pa.Field, ...] = (
    pa.field("numbers", pa.map_(pa.string(), pa.float64())),
    pa.field("categories", pa.map_(pa.string(), pa.string())),
    pa.field("tokens", pa.list_(pa.int64())),
)

_SCALARS = {str: pa.string(), float: pa.float64(), bool: pa.bool_()}


def arrow_type(value_type: ValueType) -> pa.DataType:
    """The Arrow type of an output type: ``list[str]`` a list, ``dict[str, float]`` a map.

    >>> from cxml.contracts.outputs import SCORES
    >>> arrow_type(SCORES)
    MapType(map<string, double>)
    """
    python: Any = value_type.python
    origin, args = get_origin(python), get_args(python)
    if origin is list:
        return pa.list_(_SCALARS[args[0]])
    if origin is dict:
        return pa.map_(_SCALARS[args[0]], _SCALARS[args[1]])
    return _SCALARS[python]


def log_schema(task: str) -> pa.Schema:
    """The schema of ``task``'s log files (a :class:`KeyError` for an unknown task)."""
    outputs = [pa.field(o.name, arrow_type(o.type)) for o in OUTPUTS[task]]
    return pa.schema([*ROW_COLUMNS, *outputs, *DRIFT_COLUMNS], metadata={"cxml_task": task})
