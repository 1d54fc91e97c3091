"""Batch scoring of files in chunks: validated rows in, model outputs appended, rejects aside."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxml.config import DataConfig
from cxml.data import COMMENTS, TICKETS, ReadSummary, RejectsFile, TableReader, TableWriter
from cxml.data.io import ROW
from cxml.data.reader import default_rejects_path
from cxml.errors import BadInputError
from cxml.scoring.checkpoint import Checkpoint
from cxml.tracking.loader import LoadedModel, load_model

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
    """Append every model's output columns to ``frame`` (row order kept).

    ``inputs`` names the columns the models read, or makes their input frame from ``frame``.
    Input columns that share a name with an output column (a ``sentiment`` label, say) are kept
    as ``<name>_input``. With several models, ``model_name`` and ``model_version`` list each
    model's, joined by ``+``.
    """
    model_input = inputs(frame) if callable(inputs) else frame[[c for c in inputs if c in frame]]
    outputs = [m.predict(model_input) for m in models]
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
    return result


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
    """Times as ISO 8601 strings in UTC; strings are passed on, unreadable times are None."""
    if isinstance(values, pd.Series):
        if pd.api.types.is_string_dtype(values):
            return values
        times = pd.to_datetime(values, errors="coerce", utc=True)
        return [None if pd.isna(t) else t.isoformat() for t in times]
    given = list(values)
    if all(v is None or isinstance(v, (str, datetime)) for v in given):
        return [_iso(v) if isinstance(v, datetime) else v for v in given]
    return _iso_times(pd.Series(given, dtype=object))


def _iso(moment: datetime) -> str | None:
    if moment is pd.NaT:
        return None
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.isoformat()


def load_ticket_model(uri: str | None = None) -> LoadedModel:
    """Load the ticket model at ``uri`` (default: the ``cxml-csat`` champion)."""
    try:
        model = load_model(uri or TICKET_MODEL)
    except BadInputError:
        if uri:
            raise
        raise BadInputError(
            "no ticket model is registered: train one (cxml train csat) or name one with --model"
        ) from None
    if model.task != "csat":
        raise BadInputError(f"{model.uri!r} is a {model.task!r} model, not a ticket model")
    return model


def load_comment_models(uris: Sequence[str] | None = None) -> list[LoadedModel]:
    """Load the comment models at ``uris``, or every registered one of :data:`COMMENT_MODELS`."""
    if uris:
        loaded = [load_model(uri) for uri in uris]
    else:
        loaded = []
        for uri in COMMENT_MODELS:
            try:
                loaded.append(load_model(uri))
            except BadInputError:
                continue
        if not loaded:
            raise BadInputError(
                "no comment model is registered: train one (cxml train sentiment / themes) "
                "or name one with --model"
            )
    for model in loaded:
        if model.task not in ("sentiment", "themes"):
            raise BadInputError(f"{model.uri!r} is a {model.task!r} model, not a comment model")
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
        Where rejected rows go; default ``<output stem>.rejects.csv`` beside the output.
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
    now, fixed when the job starts, so every chunk is scored as of the same moment). Other
    parameters are those of :func:`analyze_comments_file`; ``model`` defaults to the
    ``cxml-csat`` champion.
    """
    loaded = load_ticket_model(model)
    reader = TableReader(path, TICKETS, config=config, chunksize=chunksize)
    given = None if as_of is None else as_of.isoformat()
    checkpoint = _checkpoint(
        path,
        Path(output),
        reader,
        [loaded],
        options={"as_of": given},
        state={"as_of": given or pd.Timestamp.now(tz="UTC").isoformat()},
    )
    moment = pd.Timestamp(checkpoint.state["as_of"])  # "now" of the job's first start
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
    options: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
) -> Checkpoint:
    """The checkpoint of scoring ``path`` into ``output`` with ``loaded`` models and
    ``options``; ``state`` is fixed at the job's first start."""
    source = Path(path)
    if output.resolve() == source.resolve():
        raise BadInputError(f"{output}: the output would overwrite the input")
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
    an interrupted job skips what is done and gives the same output as an uninterrupted run.
    """
    out_path = Path(output)
    checkpoint = checkpoint or _checkpoint(path, out_path, reader, loaded)
    for index, (good, rejected) in enumerate(reader):
        if not checkpoint.done(index):
            checkpoint.store(index, score(good) if len(good) else good, rejected)
        on_rows(len(good) + len(rejected))
    sink = RejectsFile(rejects or default_rejects_path(out_path))
    writer = TableWriter(out_path)
    try:
        for scored, rejected in checkpoint.chunks():
            sink.write(rejected)
            if len(scored):
                writer.write(scored)
    except BaseException:
        writer.abort()
        sink.abort()
        raise
    rejects_path = sink.close()
    if writer.rows == 0:
        writer.abort()
        checkpoint.remove()
        raise BadInputError(
            f"{path}: no valid rows to score ({reader.summary.describe()}); "
            f"see {rejects_path} for the reasons"
        )
    writer.close()
    checkpoint.remove()
    return BatchResult(
        output=out_path,
        rows=writer.rows,
        rejects=rejects_path,
        data=reader.summary,
        models=[f"{m.name}/{m.version}" for m in loaded],
        resumed=checkpoint.resumed,
    )
