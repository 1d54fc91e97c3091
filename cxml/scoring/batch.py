"""Batch scoring of files in chunks: validated rows in, model outputs appended, rejects aside."""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any

import pandas as pd

from cxml.config import DataConfig
from cxml.connectors.flags import FlagTarget, id_check, iter_requests
from cxml.contracts.fields import COMMENTS, TICKETS
from cxml.contracts.outputs import EVIDENCE, EVIDENCE_PARAM, MODEL_COLUMNS, output_names
from cxml.contracts.tickets import ticket_inputs
from cxml.contracts.times import parse_instant
from cxml.data import ReadSummary, RejectsFile, TableReader, TableWriter
from cxml.data.io import ROW, table_schema
from cxml.data.reader import check_paths, default_rejects_path
from cxml.errors import BadInputError, ModelNotFoundError
from cxml.monitoring.log import PredictionLog
from cxml.scoring.checkpoint import Checkpoint
from cxml.scoring.languages import lang_counts, unseen_lang_notes
from cxml.tracking.loader import LoadedModel, load_model

__all__ = [
    "COMMENT_MODELS",
    "BatchResult",
    "analyze_comments_file",
    "load_comment_models",
    "load_ticket_model",
    "model_inputs",
    "score_frame",
    "score_tickets_file",
]

log = logging.getLogger(__name__)

COMMENT_INPUTS = ["text", "lang"]
TICKET_MODEL = "models:/cxml-csat@champion"
#: What ``cxml analyze comments`` uses when no model is named: each one that is registered.
COMMENT_MODELS = ("models:/cxml-sentiment@champion", "models:/cxml-themes@champion")


@dataclass
class BatchResult:
    """What a batch job wrote: ``rows`` scored rows (``data.good``), to ``output`` as a table or,
    with flags, as ``requests`` helpdesk requests; ``notes`` for the summary (rows in languages a
    model never saw, :mod:`cxml.scoring.languages`)."""

    output: Path
    rows: int
    rejects: Path | None
    data: ReadSummary
    models: list[str]
    resumed: bool = False
    requests: int | None = None
    notes: list[str] = field(default_factory=list)


def score_frame(
    frame: pd.DataFrame,
    models: list[LoadedModel],
    inputs: list[str] | Callable[[pd.DataFrame], pd.DataFrame],
    *,
    evidence: bool = False,
) -> pd.DataFrame:
    """Append every model's output columns to ``frame`` (row order and index kept).

    ``inputs`` names the columns the models read, or makes their input frame from ``frame``.
    Input columns that share a name with an output column (a ``sentiment`` label, say) are kept
    as ``<name>_input``. With several models, ``model_name`` and ``model_version`` list each
    model's, joined by ``+``. A frame without rows gives no rows with every output column.
    With ``evidence``, comment models add one ``evidence`` column, every model's spans in it
    (:data:`~cxml.contracts.outputs.EVIDENCE`).
    """
    model_input = model_inputs(frame, inputs)
    outputs = [_predictions(m, model_input, evidence) for m in models]
    if evidence:
        outputs = _merged_evidence(outputs, len(model_input))
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


def model_inputs(
    frame: pd.DataFrame, inputs: list[str] | Callable[[pd.DataFrame], pd.DataFrame]
) -> pd.DataFrame:
    """What the models read of ``frame``: the columns ``inputs`` names, or ``inputs(frame)``."""
    return inputs(frame) if callable(inputs) else frame[[c for c in inputs if c in frame]]


def _predictions(model: LoadedModel, inputs: pd.DataFrame, evidence: bool = False) -> pd.DataFrame:
    """``model.predict(inputs)``; for no rows, no rows with the task's output columns (the
    estimators refuse an empty input). With ``evidence``, a model that cannot give it (logged
    before cxml could) is a :class:`BadInputError`."""
    if not len(inputs):
        extra = [EVIDENCE.name] if evidence else []
        return pd.DataFrame(
            columns=[*output_names(model.task), *extra, *(c.name for c in MODEL_COLUMNS)]
        )
    if not evidence:
        return model.predict(inputs)
    out = model.predict(inputs, params={EVIDENCE_PARAM: True})
    if EVIDENCE.name not in out:
        raise BadInputError(
            f"{model.name} version {model.version} cannot give evidence: it was logged before "
            "cxml could; train it again to have evidence"
        )
    return out


def _merged_evidence(outputs: list[pd.DataFrame], n: int) -> list[pd.DataFrame]:
    """The outputs with one ``evidence`` column, after the last model's outputs, holding every
    model's spans."""
    merged: list[dict[str, Any]] = [{} for _ in range(n)]
    for out in outputs:
        for row, found in zip(merged, out[EVIDENCE.name].tolist(), strict=True):
            row.update(found)
    outputs = [out.drop(columns=[EVIDENCE.name]) for out in outputs]
    last = outputs[-1]
    last.insert(list(last.columns).index(MODEL_COLUMNS[0].name), EVIDENCE.name, merged)
    return outputs


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
    log: str | None = None,
    evidence: bool = False,
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
    log : str, default=None
        A prediction log (folder or fsspec URL, :class:`~cxml.monitoring.log.PredictionLog`)
        that gets the scored rows (``source="batch"``, one row set per model's task, scored at
        the job's first start) once the output is complete: a job that fails logs nothing, and
        a resumed one logs each row once.
    evidence : bool, default=False
        Add the ``evidence`` column: the words behind each prediction
        (:mod:`cxml.comments.evidence`).
    """
    prediction_log = PredictionLog(log) if log else None
    loaded = load_comment_models(models)
    reader = TableReader(path, COMMENTS, config=config, chunksize=chunksize)
    checkpoint = None
    if evidence:  # a job with evidence never resumes one without
        options = {"evidence": True}
        out = Path(output)
        checkpoint = _checkpoint(path, out, reader, loaded, rejects=rejects, options=options)
    return _score_file(
        path,
        output,
        reader,
        lambda good: score_frame(good, loaded, COMMENT_INPUTS, evidence=evidence),
        loaded,
        rejects=rejects,
        on_rows=on_rows,
        checkpoint=checkpoint,
        prediction_log=prediction_log,
        inputs=COMMENT_INPUTS,
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
    log: str | None = None,
    flags: FlagTarget | None = None,
) -> BatchResult:
    """Score the tickets in ``path``: ``bad_rating_probability``, ``at_risk`` and ``reasons``.

    ``as_of`` is the scoring moment of open tickets that carry no ``as_of`` column (default:
    now, fixed when the job starts, so every chunk is scored as of the same moment); tickets
    created after it, or solved or answered before their creation, are counted in
    ``result.data.flags`` and their durations are missing features. Other parameters are those
    of :func:`analyze_comments_file`; ``model`` defaults to the ``cxml-csat`` champion. Logged
    rows are scored at the job's scoring moment (``as_of``, default its first start).

    With ``flags``, ``output`` gets the requests that write the flags to that helpdesk, as JSON
    Lines (one request a line, :mod:`cxml.connectors.flags`) instead of the table, and tickets
    whose id the helpdesk cannot have are rejects (``ticket_id``) with the others.
    """
    prediction_log = PredictionLog(log) if log else None
    loaded = load_ticket_model(model)
    reader = TableReader(path, TICKETS, config=config, chunksize=chunksize)
    if flags is not None:
        _check_requests_path(Path(output))
        reader.validator.checks.append(id_check(flags))
    given = None if as_of is None else parse_instant(as_of, name="as_of").isoformat()
    checkpoint = _checkpoint(
        path,
        Path(output),
        reader,
        [loaded],
        rejects=rejects,
        options={"as_of": given, "flags": flags.options() if flags else None},
        state={"as_of": given or pd.Timestamp.now(tz="UTC").isoformat()},
    )
    moment = pd.Timestamp(checkpoint.state["as_of"])  # "now" of the job's first start
    reader.validator.as_of = moment
    inputs = partial(ticket_inputs, as_of=moment)
    return _score_file(
        path,
        output,
        reader,
        lambda good: score_frame(good, [loaded], inputs),
        [loaded],
        rejects=rejects,
        on_rows=on_rows,
        checkpoint=checkpoint,
        prediction_log=prediction_log,
        inputs=inputs,
        flags=flags,
    )


def _check_requests_path(output: Path) -> None:
    """Refuse a requests file named like a table (a scored table would be expected there)."""
    if output.suffix.lower() not in (".jsonl", ".ndjson"):
        raise BadInputError(
            f"{output}: flags are written as JSON Lines, one request a line; name a .jsonl file"
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
    started = {"started": pd.Timestamp.now(tz="UTC").isoformat()}
    return Checkpoint(output, job, {**started, **(state or {})})


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
    prediction_log: PredictionLog | None = None,
    inputs: list[str] | Callable[[pd.DataFrame], pd.DataFrame],
    flags: FlagTarget | None = None,
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
    langs: Counter[str] = Counter()
    try:
        for index, (good, rejected) in enumerate(reader):
            langs.update(lang_counts(good))
            if not checkpoint.done(index):
                checkpoint.store(index, score(good) if len(good) else good, rejected)
            on_rows(len(good) + len(rejected))
        rows, requests, rejects_path = _write_outputs(
            checkpoint, out_path, _rejects_path(out_path, rejects), path, reader.summary, flags
        )
        if prediction_log is not None:
            id_field = reader.validator.schema.id_field
            _log_chunks(checkpoint, prediction_log, loaded, inputs, id_field)
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
        requests=requests,
        notes=unseen_lang_notes(langs, loaded),
    )


def _log_chunks(
    checkpoint: Checkpoint,
    prediction_log: PredictionLog,
    loaded: list[LoadedModel],
    inputs: list[str] | Callable[[pd.DataFrame], pd.DataFrame],
    id_field: str,
) -> None:
    """Append the stored chunks' rows to the prediction log, skipping chunks a previous run of
    the job logged; they are scored at the job's moment (``as_of``, else its first start)."""
    moment = checkpoint.state.get("as_of") or checkpoint.state.get("started")
    for index, (scored, _) in enumerate(checkpoint.chunks()):
        if len(scored) and not checkpoint.logged(index):
            prediction_log.append_scored(
                scored,
                loaded,
                model_inputs(scored, inputs),
                scored[id_field].tolist() if id_field in scored else [None] * len(scored),
                source="batch",
                scored_at=None if moment is None else pd.Timestamp(moment),
            )
            checkpoint.mark_logged(index)


def _write_outputs(
    checkpoint: Checkpoint,
    output: Path,
    rejects: Path,
    source: str | Path,
    data: ReadSummary,
    flags: FlagTarget | None = None,
) -> tuple[int, int | None, Path | None]:
    """Write the stored chunks to ``output`` (or, with ``flags``, their requests) and their
    rejects to ``rejects``: ``(rows scored, requests written or None, rejects path or None)``."""
    sink = RejectsFile(rejects)
    writer: TableWriter | None = None
    try:
        scored_chunks = _scored_writing_rejects(checkpoint, sink)
        schema = None
        if flags is None:
            schema = table_schema(scored_chunks)
        else:  # requests have no table schema: only the rejects are written here
            deque(scored_chunks, maxlen=0)
        if data.good == 0:
            sink_path = sink.close()
            where = f"; see {sink_path} for the reasons" if sink_path else ""
            raise BadInputError(f"{source}: no valid rows to score ({data.describe()}){where}")
        writer = TableWriter(output, schema=schema)
        scored = (scored for scored, _ in checkpoint.chunks() if len(scored))
        for frame in scored if flags is None else _request_frames(scored, flags):
            writer.write(frame)
    except BaseException:
        sink.abort()
        if writer is not None:
            writer.abort()
        raise
    rejects_path = sink.close()
    writer.close()
    if flags is None:
        return writer.rows, None, rejects_path
    return data.good, writer.rows, rejects_path


def _request_frames(
    scored: Iterator[pd.DataFrame], flags: FlagTarget, size: int = 1000
) -> Iterator[pd.DataFrame]:
    """The flag requests of the ``scored`` chunks, ``size`` a frame (``method``, ``path``,
    ``body`` columns, written one request a line)."""
    requests = iter_requests(scored, flags)
    while batch := list(islice(requests, size)):
        yield pd.DataFrame(batch, columns=["method", "path", "body"])


def _scored_writing_rejects(checkpoint: Checkpoint, sink: RejectsFile) -> Iterator[pd.DataFrame]:
    """The stored chunks' scored rows (non-empty chunks), their rejects written to ``sink``."""
    for scored, rejected in checkpoint.chunks():
        sink.write(rejected)
        if len(scored):
            yield scored
