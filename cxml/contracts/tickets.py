"""The ticket model's input frame: the same rows from a file, a request body, Spark or Python.

Batch scoring, the HTTP service and the Python API build it with :func:`ticket_inputs` or
:func:`ticket_inputs_from_columns`, Spark casts its columns to the same types, and training
stores an example of it with every ticket model (its pyfunc signature).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from cxml.contracts.fields import POST_SURVEY_FIELDS, TICKETS
from cxml.contracts.times import to_utc, utc_ns

__all__ = [
    "TICKET_COUNTS",
    "TICKET_FIELDS",
    "TICKET_INPUTS",
    "TICKET_TIMES",
    "ticket_inputs",
    "ticket_inputs_from_columns",
]

#: The ticket fields a model may read: every canonical field known while the ticket is open.
TICKET_FIELDS = tuple(f.name for f in TICKETS.fields if f.name not in POST_SURVEY_FIELDS)
#: What the ticket model reads: those fields and ``as_of``, the moment the ticket is seen at.
TICKET_INPUTS = (*TICKET_FIELDS, "as_of")
#: Inputs passed as ISO 8601 strings in UTC.
TICKET_TIMES = (*(n for n in TICKET_FIELDS if TICKETS.field(n).kind == "datetime"), "as_of")
#: Inputs passed as ``float64`` (missing as NaN).
TICKET_COUNTS = tuple(n for n in TICKET_FIELDS if TICKETS.field(n).kind == "int")


def ticket_inputs(frame: pd.DataFrame, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """The ticket model's input: exactly :data:`TICKET_INPUTS`, as the pyfunc signature has them.

    Timestamps become ISO 8601 strings and counts floats (missing as NaN); absent columns are
    empty. ``as_of`` fills rows that have no ``as_of`` of their own (the scoring moment of open
    tickets). Post-survey columns are never passed on. The work is done by
    :func:`ticket_inputs_from_columns`, which the HTTP service calls with request bodies.
    """
    columns = {name: frame[name] for name in TICKET_INPUTS if name in frame}
    return ticket_inputs_from_columns(columns, frame.index, as_of)


def ticket_inputs_from_columns(
    columns: Mapping[str, pd.Series | Sequence[Any]],
    index: pd.Index,
    as_of: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """:func:`ticket_inputs` of columns given one by one, the one definition of the input.

    Parameters
    ----------
    columns : mapping of str to Series or sequence
        Values of the :data:`TICKET_INPUTS` columns there are, one per row of ``index``: a
        frame's columns, or plain lists (the service builds them from request bodies, without
        a frame in between). Times in a list are ``datetime`` objects (a naive one is UTC) or
        strings, which are passed on as they are, like a column of strings.
    index : pandas.Index
        Index of the returned frame.
    as_of : pandas.Timestamp, default=None
        Fills the rows that have no ``as_of`` of their own.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TICKET_INPUTS`: counts ``float64`` (missing as NaN), everything else
        ``object`` (times as ISO 8601 strings, missing as None).
    """
    arrays: dict[str, np.ndarray] = {}
    for name in TICKET_INPUTS:
        values = columns.get(name)
        if values is None:
            values = [None] * len(index)
        if name in TICKET_COUNTS:
            arrays[name] = _floats(values)
            continue
        array = _objects(_iso_times(values) if name in TICKET_TIMES else values)
        if name == "as_of" and as_of is not None:
            array[pd.isna(array)] = as_of.isoformat()
        arrays[name] = array
    # one object block (a frame of object arrays column by column would infer ``str``), then
    # the counts swapped in: the quickest way to this frame for one ticket
    block = np.empty((len(index), len(arrays)), dtype=object)
    for j, array in enumerate(arrays.values()):
        block[:, j] = array
    inputs = pd.DataFrame(block, index=index, columns=list(arrays), dtype=object, copy=False)
    for name in TICKET_COUNTS:
        inputs.isetitem(TICKET_INPUTS.index(name), arrays[name])
    return inputs


def _objects(values: pd.Series | Sequence[Any]) -> np.ndarray:
    """``values`` as an object array, every missing value (None, NaN, NaT, NA) as None."""
    if isinstance(values, pd.Series):
        array = values.to_numpy(dtype=object, copy=True)
    else:
        array = np.empty(len(values), dtype=object)
        array[:] = values
    missing = pd.isna(array)
    if missing.any():
        array[missing] = None
    return array


def _floats(values: pd.Series | Sequence[Any]) -> np.ndarray:
    """Numbers as float64, anything else NaN."""
    if not isinstance(values, pd.Series):
        given = list(values)
        if all(v is None or type(v) in (int, float) for v in given):
            return np.array([np.nan if v is None else v for v in given], dtype=np.float64)
        values = pd.Series(given, dtype=object)
    return pd.to_numeric(values, errors="coerce").astype("float64").to_numpy(copy=True)


def _iso_times(values: pd.Series | Sequence[Any]) -> pd.Series | list[Any]:
    """Times as ISO 8601 strings in UTC; strings are passed on, and anything that is no time by
    :mod:`cxml.contracts.times` (a number, a time outside the representable range) is None."""
    if isinstance(values, pd.Series):
        if pd.api.types.is_string_dtype(values):
            return values
        times = utc_ns(values)
        return [None if np.isnat(t) else pd.Timestamp(t, tz="UTC").isoformat() for t in times]
    given = list(values)
    if all(v is None or isinstance(v, (str, datetime)) for v in given):
        return [_iso(v) if isinstance(v, datetime) else v for v in given]
    return _iso_times(pd.Series(given, dtype=object))


def _iso(moment: datetime) -> str | None:
    stamp = to_utc(moment)
    return None if stamp is None else stamp.isoformat()
