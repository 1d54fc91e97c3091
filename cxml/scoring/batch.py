"""Batch scoring of files in chunks: validated rows in, model outputs appended, rejects aside."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxml.config import DataConfig
from cxml.data import COMMENTS, TICKETS, ReadSummary, RejectsFile, TableReader, TableWriter
from cxml.data.io import ROW, table_schema
from cxml.data.reader import check_paths, default_rejects_path
from cxml.data.times import parse_instant, to_utc, utc_ns
from cxml.errors import BadInputError, ModelNotFoundError
from cxml.scoring.checkpoint import Checkpoint
from cxml.tracking.loader import LoadedModel, load_model
from cxml.tracking.pyfunc import OUTPUT_COLUMNS

__all__ = [
    "COMMENT_MODELS",
    "TICKET_INPUTS",
    "BatchResult",
    "analyze_comments_file",
    "load_comment_models",
    "load_ticket_model",
    "score_frame",
    "score_tickets_file",
    "ticket_inputs",
    "ticket_inputs_from_columns",
]

log = logging.getLogger(__name__)

COMMENT_INPUTS = ["text", "lang"]
#: What the ticket model reads: the canonical fields known while a ticket is open, and ``as_of``.
TICKET_INPUTS = [f.name for f in TICKETS.fields if f.name != "rating"] + ["as_of"]
TICKET_MODEL = "models:/cxml-csat@champion"
_TIMES = {f.name for f in TICKETS.fields if f.kind == "datetime"} | {"as_of"}
_COUNTS = {f.name for f in TICKETS.fields if f.kind == "int" and f.name != "rating"}
#: What ``cxml analyze comments`` uses when no model is named: each one that is registered.
COMMENT_MODELS = ("models:/cxml-sentiment@champion", "models:/cxml-themes@champion")


@dataclass
class BatchResult:
    """What a batch job wrote."""

    output: Path
    rows: int
    rejects: Path | None
    data: ReadSummary
    models: list[str]
    resumed: bool = False


def score_frame(
    frame: pd.DataFrame,
    models: list[LoadedModel],
    inputs: list[str] | Callable[[pd.DataFrame], pd.DataFrame],
) -> pd.DataFrame:
    """Append every model's output columns to ``frame`` (row order and index kept).

    ``inputs`` names the columns the models read, or makes their input frame from ``frame``.
    Input columns that share a name with an output column (a ``sentiment`` label, say) are kept
    as ``<name>_input``. With several models, ``model_name`` and ``model_version`` list each
    model's, joined by ``+``. A frame without rows gives no rows with every output column.
    """
    model_input = inputs(frame) if callable(inputs) else frame[[c for c in inputs if c in frame]]
    outputs = [_predictions(m, model_input) for m in models]
    produced = {c for out in outputs for c in out.columns}
    base = frame.drop(columns=[ROW], errors="ignore")
    base = base.rename(columns={c: f"{c}_input" for c in base.columns if c in produced})
    base = base.reset_index(drop=True)
    combined = [base]
    for out in outputs:
        combined.append(out.drop(columns=["model_name", "model_version"]).reset_index(drop=True))
    result = pd.concat(combined, axis=1)
    result["model_name"] = "+".join(m.name for m in models)
    result["model_version"] = "+".join(m.version for m in models)
    result.index = frame.index
    return result


def _predictions(model: LoadedModel, inputs: pd.DataFrame) -> pd.DataFrame:
    """``model.predict(inputs)``; for no rows, no rows with the task's output columns (the
    estimators refuse an empty input)."""
    if len(inputs):
        return model.predict(inputs)
    return pd.DataFrame(
        columns=[*OUTPUT_COLUMNS.get(model.task, []), "model_name", "model_version"]
    )


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
    objects: dict[str, np.ndarray] = {}
    counts: dict[str, np.ndarray] = {}
    for name in TICKET_INPUTS:
        values = columns.get(name)
        if values is None:
            values = [None] * len(index)
        if name in _COUNTS:
            counts[name] = _floats(values)
            continue
        array = _objects(_iso_times(values) if name in _TIMES else values)
        if name == "as_of" and as_of is not None:
            array[pd.isna(array)] = as_of.isoformat()
        objects[name] = array
    # one object block (a frame of object arrays column by column would infer ``str``), then
    # the counts in their places: the quickest way to this frame for one ticket
    block = np.empty((len(index), len(objects)), dtype=object)
    for j, array in enumerate(objects.values()):
        block[:, j] = array
    inputs = pd.DataFrame(block, index=index, columns=list(objects), dtype=object, copy=False)
    for position, name in enumerate(TICKET_INPUTS):
        if name in counts:
            inputs.insert(position, name, counts[name])
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
    :mod:`cxml.data.times` (a number, a time outside the representable range) is None."""
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


def load_ticket_model(uri: str | None = None) -> LoadedModel:
    """Load the ticket model at ``uri`` (default: the ``cxml-csat`` champion)."""
    try:
        return load_model(uri or TICKET_MODEL, tasks=("csat",))
    except ModelNotFoundError:
        if uri:
            raise
        raise BadInputError(
            "no ticket model is registered: train one (cxml train csat) or name one with --model"
        ) from None


def load_comment_models(uris: Sequence[str] | None = None) -> list[LoadedModel]:
    """Load the comment models at ``uris``, or every registered one of :data:`COMMENT_MODELS`."""
    tasks = ("sentiment", "themes")
    if uris:
        return [load_model(uri, tasks=tasks) for uri in uris]
    loaded = []
    for uri in COMMENT_MODELS:
        try:
            loaded.append(load_model(uri, tasks=tasks))
        except ModelNotFoundError:
            continue
    if not loaded:
        raise BadInputError(
            "no comment model is registered: train one (cxml train sentiment / themes) "
            "or name one with --model"
        )
    return loaded


def analyze_comments_file(
    path: str | Path,
    output: str | Path,
    *,
    models: Sequence[str] | None = None,
    config: DataConfig | None = None,
    rejects: str | Path | None = None,
    chunksize: int = 10_000,
    on_rows: Callable[[int], None] = lambda n: None,
) -> BatchResult:
    """Score the comments in ``path`` and write them with the output columns to ``output``.

    Parameters
    ----------
    path, output : str or Path
        Input and output files (CSV, JSON Lines, Parquet or Excel; by extension).
    models : sequence of str, default=None
        URIs that :func:`cxml.tracking.load_model` accepts; None means the champions of
        ``cxml-sentiment`` and ``cxml-themes``, whichever are registered.
    config : DataConfig, default=None
        Column mapping, encoding and text limit of the input.
    rejects : str or Path, default=None
        Where rejected rows go; default ``<output file name>.rejects.csv`` beside the output
        (``scored.parquet.rejects.csv``). Neither may be the input, nor the rejects the output.
    chunksize : int, default=10_000
        Rows per chunk; memory stays bounded by it.
    on_rows : callable, default=no-op
        Called with the number of rows done after each chunk (for progress bars).
    """
    loaded = load_comment_models(models)
    return _score_file(
        path,
        output,
        TableReader(path, COMMENTS, config=config, chunksize=chunksize),
        lambda good: score_frame(good, loaded, COMMENT_INPUTS),
        loaded,
        rejects=rejects,
        on_rows=on_rows,
    )


def score_tickets_file(
    path: str | Path,
    output: str | Path,
    *,
    model: str | None = None,
    as_of: pd.Timestamp | None = None,
    config: DataConfig | None = None,
    rejects: str | Path | None = None,
    chunksize: int = 10_000,
    on_rows: Callable[[int], None] = lambda n: None,
) -> BatchResult:
    """Score the tickets in ``path``: ``bad_rating_probability``, ``at_risk`` and ``reasons``.

    ``as_of`` is the scoring moment of open tickets that carry no ``as_of`` column (default:
    now, fixed when the job starts, so every chunk is scored as of the same moment); tickets
    created after it, or solved or answered before their creation, are counted in
    ``result.data.flags`` and their durations are missing features. Other parameters are those
    of :func:`analyze_comments_file`; ``model`` defaults to the ``cxml-csat`` champion.
    """
    loaded = load_ticket_model(model)
    reader = TableReader(path, TICKETS, config=config, chunksize=chunksize)
    given = None if as_of is None else parse_instant(as_of, name="as_of").isoformat()
    checkpoint = _checkpoint(
        path,
        Path(output),
        reader,
        [loaded],
        rejects=rejects,
        options={"as_of": given},
        state={"as_of": given or pd.Timestamp.now(tz="UTC").isoformat()},
    )
    moment = pd.Timestamp(checkpoint.state["as_of"])  # "now" of the job's first start
    reader.validator.as_of = moment
    return _score_file(
        path,
        output,
        reader,
        lambda good: score_frame(good, [loaded], lambda f: ticket_inputs(f, moment)),
        [loaded],
        rejects=rejects,
        on_rows=on_rows,
        checkpoint=checkpoint,
    )


def _checkpoint(
    path: str | Path,
    output: Path,
    reader: TableReader,
    loaded: list[LoadedModel],
    *,
    rejects: str | Path | None,
    options: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
) -> Checkpoint:
    """The checkpoint of scoring ``path`` into ``output`` (rejects to ``rejects``) with
    ``loaded`` models and ``options``; ``state`` is fixed at the job's first start."""
    source = Path(path)
    check_paths(source, output=output, rejects=_rejects_path(output, rejects))
    stat = source.stat()
    job = {
        "input": str(source.resolve()),
        "size": stat.st_size,
        "modified": stat.st_mtime_ns,
        "models": [f"{m.uri} {m.version}" for m in loaded],
        "chunksize": reader.chunksize,
        "data": reader.config.model_dump(mode="json"),
        "options": options or {},
    }
    return Checkpoint(output, job, state)


def _rejects_path(output: Path, rejects: str | Path | None) -> Path:
    return Path(rejects) if rejects is not None else default_rejects_path(output)


def _score_file(
    path: str | Path,
    output: str | Path,
    reader: TableReader,
    score: Callable[[pd.DataFrame], pd.DataFrame],
    loaded: list[LoadedModel],
    *,
    rejects: str | Path | None,
    on_rows: Callable[[int], None],
    checkpoint: Checkpoint | None = None,
) -> BatchResult:
    """Read ``path`` in chunks, score the good rows, write them atomically, rejects aside.

    Scored chunks are checkpointed (:class:`~cxml.scoring.checkpoint.Checkpoint`): rerunning
    an interrupted job (Ctrl-C, a kill) skips what is done and gives the same output as an
    uninterrupted run. A job that fails with an error leaves neither its checkpoint nor
    temporary files behind. The output is written from the stored chunks with one schema for
    them all (:func:`~cxml.data.io.table_schema`), so chunks may differ in columns and types.
    """
    out_path = Path(output)
    checkpoint = checkpoint or _checkpoint(path, out_path, reader, loaded, rejects=rejects)
    try:
        for index, (good, rejected) in enumerate(reader):
            if not checkpoint.done(index):
                checkpoint.store(index, score(good) if len(good) else good, rejected)
            on_rows(len(good) + len(rejected))
        rows, rejects_path = _write_outputs(
            checkpoint, out_path, _rejects_path(out_path, rejects), path, reader.summary
        )
    except KeyboardInterrupt:
        log.warning(
            "interrupted: %d scored chunk(s) are kept in %s; run the same command again to "
            "continue from there",
            checkpoint.stored(),
            checkpoint.folder,
        )
        raise
    except BaseException:
        checkpoint.remove()
        raise
    checkpoint.remove()
    return BatchResult(
        output=out_path,
        rows=rows,
        rejects=rejects_path,
        data=reader.summary,
        models=[f"{m.name}/{m.version}" for m in loaded],
        resumed=checkpoint.resumed,
    )


def _write_outputs(
    checkpoint: Checkpoint, output: Path, rejects: Path, source: str | Path, data: ReadSummary
) -> tuple[int, Path | None]:
    """Write the stored chunks to ``output`` and their rejects to ``rejects``: ``(rows written,
    rejects path or None)``."""
    sink = RejectsFile(rejects)
    writer: TableWriter | None = None
    try:
        schema = table_schema(_scored_writing_rejects(checkpoint, sink))
        if data.good == 0:
            sink_path = sink.close()
            where = f"; see {sink_path} for the reasons" if sink_path else ""
            raise BadInputError(f"{source}: no valid rows to score ({data.describe()}){where}")
        writer = TableWriter(output, schema=schema)
        for scored, _ in checkpoint.chunks():
            if len(scored):
                writer.write(scored)
    except BaseException:
        sink.abort()
        if writer is not None:
            writer.abort()
        raise
    rejects_path = sink.close()
    writer.close()
    return writer.rows, rejects_path


def _scored_writing_rejects(checkpoint: Checkpoint, sink: RejectsFile) -> Iterator[pd.DataFrame]:
    """The stored chunks' scored rows (non-empty chunks), their rejects written to ``sink``."""
    for scored, rejected in checkpoint.chunks():
        sink.write(rejected)
        if len(scored):
            yield scored
