"""The prediction log: what every scoring path scored, as day-partitioned Parquet.

Layout, under a folder or any fsspec URL (``s3://bucket/log``, ``memory://log``)::

    <root>/task=<task>/day=YYYY-MM-DD/part-<utc stamp>-<pid>-<uuid8>.parquet

Each file holds rows of one task and one UTC day, in the task's schema
(:func:`cxml.contracts.predictions.log_schema`). A file is written under a hidden temporary name
and renamed when complete, and every writer (thread or process) picks a unique name, so writers
never clash and a writer killed mid-write (``kill -9``) leaves at most a hidden temporary file,
which readers never list. A file that is nevertheless unreadable, or not in the task's schema,
is skipped and reported (:attr:`LogRead.torn`), never read as data.

:class:`LogQueue` takes rows off a request path: ``put`` never blocks, and a background thread
computes the watched inputs and writes them every ``flush_seconds``.

Examples
--------
>>> import pandas as pd
>>> from cxml.monitoring.inputs import drift_inputs
>>> log = PredictionLog("memory://doctest-log")
>>> inputs = pd.DataFrame({"text": ["Great service"], "lang": ["en"]})
>>> outputs = pd.DataFrame({"sentiment": ["positive"], "sentiment_score": [0.9],
...                         "model_name": ["cxml-sentiment"], "model_version": ["3"]})
>>> log.append("sentiment", outputs, ["c1"], drift_inputs("sentiment", None, inputs),
...            source="python", scored_at=pd.Timestamp("2026-07-01T09:00Z"))
1
>>> read = log.read("sentiment")
>>> read.frame[["id", "sentiment", "num.text_chars", "cat.lang"]].to_dict("records")
[{'id': 'c1', 'sentiment': 'positive', 'num.text_chars': 13.0, 'cat.lang': 'en'}]
"""

from __future__ import annotations

import logging
import os
import re
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import fsspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from cxml.contracts.outputs import OUTPUTS, output_names
from cxml.contracts.predictions import SOURCES, log_schema
from cxml.contracts.times import parse_instant
from cxml.errors import BadInputError
from cxml.monitoring.inputs import DriftInputs, drift_inputs

__all__ = ["LogQueue", "LogRead", "PredictionLog", "ScoringModel", "log_frame"]

logger = logging.getLogger(__name__)

_DAY = re.compile(r"/day=(\d{4}-\d{2}-\d{2})/[^/]+$")
_US_PER_DAY = 86_400_000_000


class ScoringModel(Protocol):
    """A model that scored rows: what :meth:`PredictionLog.append_scored` needs of it
    (:class:`cxml.tracking.loader.LoadedModel` is one)."""

    @property
    def task(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def estimator(self) -> Any: ...


@dataclass(frozen=True)
class LogRead:
    """What :meth:`PredictionLog.read` found.

    Attributes
    ----------
    frame : DataFrame
        One row per logged row, ordered by ``scored_at``: ``id``, ``scored_at`` (UTC),
        ``model_name``, ``model_version``, ``source``, the task's outputs (lists as lists, maps
        as dicts), each watched number as ``num.<name>`` (float, NaN when missing) and category
        as ``cat.<name>`` (str or None), and ``tokens`` (list of int per row).
    files : int
        Files read.
    torn : list of str
        Files skipped: unreadable (torn, truncated) or not in the task's schema.
    """

    frame: pd.DataFrame
    files: int
    torn: list[str] = field(default_factory=list)


class PredictionLog:
    """The prediction log under ``root``: a folder or an fsspec URL.

    Parameters
    ----------
    root : str or Path
        Where the log lives; created on the first write.
    storage_options : dict, default=None
        Options of the fsspec filesystem (credentials, endpoint ...).
    """

    def __init__(self, root: str | os.PathLike[str], storage_options: dict[str, Any] | None = None):
        self.url = os.fspath(root)
        try:
            self.fs, path = fsspec.core.url_to_fs(self.url, **(storage_options or {}))
        except (ImportError, ValueError) as exc:  # an unknown protocol, a missing driver
            raise BadInputError(f"prediction log {self.url!r}: {exc}") from exc
        self.root: str = path.rstrip("/")

    def __repr__(self) -> str:
        return f"PredictionLog({self.url!r})"

    def append(
        self,
        task: str,
        outputs: pd.DataFrame,
        ids: Sequence[Any],
        drift: DriftInputs,
        *,
        source: str,
        scored_at: pd.Timestamp | None = None,
    ) -> int:
        """Log scored rows; return how many were written.

        Parameters
        ----------
        task : str
            ``csat``, ``sentiment`` or ``themes``.
        outputs : DataFrame
            The task's output columns and ``model_name`` / ``model_version``, one row per item.
        ids : sequence
            The items' ids (ticket or comment ids; None where unknown), in the same order.
        drift : DriftInputs
            The rows' watched inputs (:func:`~cxml.monitoring.inputs.drift_inputs`).
        source : str
            The scoring path: ``batch``, ``service``, ``spark`` or ``python``.
        scored_at : Timestamp, default=None
            The scoring moment (UTC when it has no offset); default now.

        Returns only once the rows are in complete files (one per UTC day of ``scored_at``).
        """
        moment = _now() if scored_at is None else parse_instant(scored_at, name="scored_at")
        table = _table(task, outputs, ids, drift, source, np.full(len(outputs), _us(moment)))
        return self.write(task, table)

    def append_scored(
        self,
        scored: pd.DataFrame,
        models: Sequence[ScoringModel],
        inputs: pd.DataFrame,
        ids: Sequence[Any],
        *,
        source: str,
        scored_at: pd.Timestamp | None = None,
    ) -> int:
        """Log rows scored by several models (a comment job's sentiment and themes), one row set
        per model's task; ``scored`` holds every model's outputs, ``inputs`` is the frame the
        models read. Returns the rows written, all tasks together."""
        written = 0
        for model in models:
            outputs = scored[list(output_names(model.task))].assign(
                model_name=model.name, model_version=model.version
            )
            drift = drift_inputs(model.task, model.estimator, inputs)
            written += self.append(
                model.task, outputs, ids, drift, source=source, scored_at=scored_at
            )
        return written

    def write(self, task: str, table: pa.Table) -> int:
        """Write a table in ``task``'s log schema, one new file per UTC day; return its rows."""
        if table.num_rows == 0:
            return 0
        days = table["scored_at"].cast(pa.int64()).to_numpy() // _US_PER_DAY
        several = len(np.unique(days)) > 1
        for day in np.unique(days):
            part = table.filter(pa.array(days == day)) if several else table
            stamp = pd.Timestamp(int(day) * _US_PER_DAY, unit="us")
            self._write_file(f"{self.root}/task={task}/day={stamp:%Y-%m-%d}", part)
        return table.num_rows

    def _write_file(self, folder: str, table: pa.Table) -> None:
        """Write ``table`` to a new file in ``folder``: a hidden temporary name, then renamed."""
        now = pd.Timestamp.now(tz="UTC")
        name = f"part-{now:%Y%m%dT%H%M%S%f}Z-{os.getpid()}-{uuid.uuid4().hex[:8]}.parquet"
        path, temporary = f"{folder}/{name}", f"{folder}/.{name}.tmp"
        self.fs.makedirs(folder, exist_ok=True)
        try:
            if isinstance(self.fs, LocalFileSystem):
                with open(temporary, "wb") as fh:
                    pq.write_table(table, fh)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(temporary, path)
            else:
                with self.fs.open(temporary, "wb") as fh:
                    pq.write_table(table, fh)
                self.fs.mv(temporary, path)
        except BaseException:
            if self.fs.exists(temporary):
                self.fs.rm(temporary)
            raise

    def files(self, task: str) -> list[str]:
        """The log's data files of ``task`` (hidden temporary files excluded), sorted."""
        pattern = f"{self.root}/task={task}/*/*.parquet"
        return sorted(p for p in self.fs.glob(pattern) if not p.rsplit("/", 1)[-1].startswith("."))

    def read(
        self,
        task: str,
        start: pd.Timestamp | str | None = None,
        end: pd.Timestamp | str | None = None,
    ) -> LogRead:
        """The rows of ``task`` scored at ``start`` or later and before ``end`` (UTC when no
        offset is given; None: no bound). Only the day folders the period touches are read."""
        schema = log_schema(task)
        first = None if start is None else parse_instant(start, name="start")
        stop = None if end is None else parse_instant(end, name="end")
        tables, torn = [], []
        for path in self.files(task):
            day = _DAY.search(path)
            if day and not _touches(pd.Timestamp(day[1], tz="UTC"), first, stop):
                continue
            table = self._read_file(path, schema) if day else None
            if table is None:
                torn.append(path)
            else:
                tables.append(table)
        table = pa.concat_tables(tables) if tables else schema.empty_table()
        times = table["scored_at"]
        keep = pa.array(np.ones(table.num_rows, dtype=bool))
        if first is not None:
            keep = pc.and_(keep, pc.greater_equal(times, pa.scalar(first, times.type)))
        if stop is not None:
            keep = pc.and_(keep, pc.less(times, pa.scalar(stop, times.type)))
        return LogRead(_frame(task, table.filter(keep)), len(tables), torn)

    def _read_file(self, path: str, schema: pa.Schema) -> pa.Table | None:
        """The file's rows in ``schema``; None when it is unreadable or in another schema."""
        try:
            with self.fs.open(path, "rb") as fh:
                table = pq.read_table(fh)
            if table.schema.names != schema.names:
                return None
            return table.cast(schema)
        except (OSError, ValueError, pa.ArrowException) as exc:
            logger.warning("prediction log: skipping %s (%s)", path, exc)
            return None


class LogQueue:
    """Rows to log, taken off the request path: a bounded queue and one writer thread.

    Parameters
    ----------
    log : PredictionLog
        Where the rows go.
    maxsize : int, default=10_000
        Rows waiting at most; a ``put`` that does not fit is dropped (and counted).
    flush_seconds : float, default=1.0
        How long the writer gathers rows before writing them (one file per task and day).

    Attributes
    ----------
    written, dropped, errors : int
        Rows written; rows refused because the queue was full or closed; rows lost to an
        error (computing their watched inputs or writing them; each is logged).
    """

    def __init__(
        self, log: PredictionLog, *, maxsize: int = 10_000, flush_seconds: float = 1.0
    ) -> None:
        self.log = log
        self.maxsize = maxsize
        self.flush_seconds = flush_seconds
        self.written = 0
        self.dropped = 0
        self.errors = 0
        self._items: list[_Item] = []
        self._rows = 0
        self._closed = False
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="cxml-prediction-log", daemon=True)
        self._thread.start()

    @property
    def depth(self) -> int:
        """Rows waiting to be written."""
        return self._rows

    def put(
        self,
        task: str,
        outputs: pd.DataFrame,
        ids: Sequence[Any],
        inputs_frame: pd.DataFrame,
        estimator: Any,
        source: str,
    ) -> bool:
        """Queue scored rows (scored now) without blocking; False when they were dropped.

        The arguments are those of :meth:`PredictionLog.append`, except that the watched inputs
        are computed later, in the writer thread, from ``inputs_frame`` (the frame the model
        read) and the fitted ``estimator``. The frames must not change after the call.
        """
        rows = len(outputs)
        item = _Item(task, outputs, ids, inputs_frame, estimator, source, _us(_now()))
        with self._wake:
            if self._closed or self._rows + rows > self.maxsize:
                self.dropped += rows
                return False
            self._items.append(item)
            self._rows += rows
            self._wake.notify()
        return True

    def close(self, timeout: float | None = 10.0) -> bool:
        """Stop taking rows, write what is queued, and wait for the writer (at most
        ``timeout`` seconds); True when it finished."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: bool(self._items) or self._closed)
                if not self._closed:  # gather more rows for a while
                    self._wake.wait_for(lambda: self._closed, timeout=self.flush_seconds)
                items, self._items = self._items, []
                self._rows = 0
            if not items:
                return
            self._write(items)

    def _write(self, items: list[_Item]) -> None:
        """Write the items, one table per task."""
        groups: dict[tuple[str, int, str], list[_Item]] = {}
        for item in items:
            groups.setdefault((item.task, id(item.estimator), item.source), []).append(item)
        tables: dict[str, list[pa.Table]] = {}
        for group in groups.values():
            tables.setdefault(group[0].task, []).extend(self._tables(group))
        for task, parts in tables.items():
            table = pa.concat_tables(parts)
            try:
                self.written += self.log.write(task, table)
            except Exception:
                logger.exception("prediction log: cannot write %d %s row(s)", len(table), task)
                self.errors += table.num_rows

    def _tables(self, group: list[_Item]) -> list[pa.Table]:
        """The rows of items of one task, model and source, their watched inputs computed in one
        call (per item, often one row each from a service, that costs more than scoring did);
        when that fails, item by item, counting the rows that cannot be logged."""
        try:
            return [_items_table(group)]
        except Exception:
            if len(group) > 1:
                return [table for item in group for table in self._tables([item])]
            rows, task = len(group[0].outputs), group[0].task
            logger.exception("prediction log: cannot log %d %s row(s)", rows, task)
            self.errors += rows
            return []


@dataclass(frozen=True)
class _Item:
    task: str
    outputs: pd.DataFrame
    ids: Sequence[Any]
    inputs: pd.DataFrame
    estimator: Any
    source: str
    scored_at: int  # microseconds since the epoch, UTC


def log_frame(
    task: str,
    outputs: pd.DataFrame,
    ids: Sequence[Any],
    drift: DriftInputs,
    scored_at: pd.Series,
    *,
    source: str = "batch",
) -> pd.DataFrame:
    """Rows as :meth:`PredictionLog.read` would give them back, without writing them: for
    monitoring a scored file. ``scored_at`` holds each row's time (UTC)."""
    moments = pd.to_datetime(scored_at, utc=True).to_numpy(dtype="datetime64[us]")
    table = _table(task, outputs, ids, drift, source, moments.astype(np.int64))
    return _frame(task, table)


def _items_table(items: list[_Item]) -> pa.Table:
    """The log rows of queued items of one task, model and source."""
    first = items[0]
    if any(not item.outputs.columns.equals(first.outputs.columns) for item in items):
        raise ValueError("queued items differ in their output columns")
    outputs = pd.concat([item.outputs for item in items], ignore_index=True)
    inputs = pd.concat([item.inputs for item in items], ignore_index=True)
    ids = [i for item in items for i in item.ids]
    drift = drift_inputs(first.task, first.estimator, inputs)
    times = np.repeat([item.scored_at for item in items], [len(item.outputs) for item in items])
    return _table(first.task, outputs, ids, drift, first.source, times)


def _now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


def _us(moment: pd.Timestamp) -> int:
    return int(moment.value // 1000)


def _touches(day: pd.Timestamp, start: pd.Timestamp | None, end: pd.Timestamp | None) -> bool:
    """Whether the UTC day starting at ``day`` overlaps ``[start, end)``."""
    after_start = start is None or day + pd.Timedelta(days=1) > start
    return after_start and (end is None or day < end)


def _table(
    task: str,
    outputs: pd.DataFrame,
    ids: Sequence[Any],
    drift: DriftInputs,
    source: str,
    scored_at: np.ndarray,
) -> pa.Table:
    """The log rows of one scoring call, in ``task``'s schema; ``scored_at`` in microseconds."""
    if task not in OUTPUTS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(OUTPUTS)}")
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    rows = len(outputs)
    sizes = {len(ids), len(drift.numbers), len(drift.categories), len(drift.tokens), rows}
    if sizes != {rows}:
        raise ValueError(f"outputs, ids and drift inputs differ in length: {sorted(sizes)}")
    schema = log_schema(task)
    columns: dict[str, pa.Array] = {
        "id": pa.array([None if _missing(v) else str(v) for v in ids], pa.string()),
        "scored_at": pa.array(scored_at, pa.int64()).cast(schema.field("scored_at").type),
        "model_name": _column(outputs["model_name"], pa.string()),
        "model_version": _column(outputs["model_version"], pa.string()),
        "source": pa.array([source] * rows, pa.string()),
    }
    for output in OUTPUTS[task]:
        columns[output.name] = _column(outputs[output.name], schema.field(output.name).type)
    columns["numbers"] = _map(drift.numbers, schema.field("numbers").type)
    columns["categories"] = _map(drift.categories, schema.field("categories").type)
    columns["tokens"] = pa.array(drift.tokens, schema.field("tokens").type)
    return pa.Table.from_pydict(columns, schema=schema)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _column(values: pd.Series, kind: pa.DataType) -> pa.Array:
    """An output column as Arrow: lists from lists or arrays, maps from dicts or pairs."""
    if pa.types.is_map(kind):
        items = [None if _missing(v) else list(dict(v).items()) for v in values]
        return pa.array(items, kind)
    if pa.types.is_list(kind):
        return pa.array([None if _missing(v) else list(v) for v in values], kind)
    if pa.types.is_string(kind):
        return pa.array([None if _missing(v) else str(v) for v in values], kind)
    return pa.array(values.to_numpy(dtype=object), kind, from_pandas=True)


def _map(frame: pd.DataFrame, kind: pa.MapType) -> pa.Array:
    """Each row of ``frame`` as a map from column name to value (missing values kept)."""
    rows, width = frame.shape
    keys = pa.array(np.tile(np.asarray(frame.columns, dtype=object), rows), pa.string())
    values = frame.to_numpy(dtype=object if pa.types.is_string(kind.item_type) else np.float64)
    items = pa.array(values.ravel(), kind.item_type, from_pandas=pa.types.is_string(kind.item_type))
    offsets = pa.array(np.arange(rows + 1, dtype=np.int32) * width, pa.int32())
    return pa.MapArray.from_arrays(offsets, keys, items, type=kind)


def _frame(task: str, table: pa.Table) -> pd.DataFrame:
    """The log rows as :attr:`LogRead.frame` gives them."""
    data: dict[str, Any] = {
        name: table[name].to_pandas() for name in ("id", "scored_at", "model_name", "model_version")
    }
    data["source"] = table["source"].to_pandas()
    for output in OUTPUTS[task]:
        column = table[output.name]
        if pa.types.is_map(column.type):
            data[output.name] = [None if v is None else dict(v) for v in column.to_pylist()]
        elif pa.types.is_list(column.type):
            data[output.name] = column.to_pylist()
        else:
            data[output.name] = column.to_pandas()
    data.update(_expand(table["numbers"], "num.", np.float64))
    data.update(_expand(table["categories"], "cat.", object))
    data["tokens"] = table["tokens"].to_pylist()
    frame = pd.DataFrame(data)
    return frame.sort_values("scored_at", kind="stable", ignore_index=True)


def _expand(column: pa.ChunkedArray, prefix: str, dtype: Any) -> dict[str, pd.Series]:
    """A map column as one array per key (``prefix + key``), NaN or None where a row lacks it."""
    array = column.combine_chunks() if column.num_chunks else pa.array([], column.type)
    offsets = array.offsets.to_numpy()
    keys = array.keys.slice(offsets[0], offsets[-1] - offsets[0]).to_numpy(zero_copy_only=False)
    values = array.items.slice(offsets[0], offsets[-1] - offsets[0])
    values = values.to_numpy(zero_copy_only=False)
    rows = np.repeat(np.arange(len(array)), np.diff(offsets))
    out = {}
    for key in dict.fromkeys(keys):
        filled = np.full(len(array), np.nan if dtype is np.float64 else None, dtype=dtype)
        mask = keys == key
        filled[rows[mask]] = values[mask]
        out[prefix + str(key)] = pd.Series(filled, dtype=dtype)
    return out
