"""Batch scoring of files in chunks: validated rows in, model outputs appended, rejects aside."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cxml.config import DataConfig
from cxml.data import COMMENTS, TICKETS, ReadSummary, RejectsFile, TableReader, TableWriter
from cxml.data.io import ROW
from cxml.data.reader import default_rejects_path
from cxml.errors import BadInputError
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
]

COMMENT_INPUTS = ["text", "lang"]
#: What the ticket model reads: the canonical fields known while a ticket is open, and ``as_of``.
TICKET_INPUTS = [f.name for f in TICKETS.fields if f.name != "rating"] + ["as_of"]
TICKET_MODEL = "models:/cxml-csat@champion"
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
    """The ticket model's input columns, timestamps as ISO 8601 strings (the pyfunc signature).

    ``as_of`` fills rows that have no ``as_of`` of their own (the scoring moment of open
    tickets); post-survey columns are never passed on.
    """
    inputs = frame[[c for c in TICKET_INPUTS if c in frame]].copy()
    if as_of is not None:
        given = inputs["as_of"] if "as_of" in inputs else pd.Series(None, index=inputs.index)
        inputs["as_of"] = given.where(given.notna(), as_of.isoformat())
    for name in ("created_at", "first_response_at", "solved_at", "as_of"):
        if name in inputs and not pd.api.types.is_string_dtype(inputs[name]):
            times = pd.to_datetime(inputs[name], errors="coerce", utc=True)
            inputs[name] = times.map(lambda t: None if pd.isna(t) else t.isoformat())
    return inputs


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
    moment = as_of if as_of is not None else pd.Timestamp.now(tz="UTC")

    return _score_file(
        path,
        output,
        TableReader(path, TICKETS, config=config, chunksize=chunksize),
        lambda good: score_frame(good, [loaded], lambda f: ticket_inputs(f, moment)),
        [loaded],
        rejects=rejects,
        on_rows=on_rows,
    )


def _score_file(
    path: str | Path,
    output: str | Path,
    reader: TableReader,
    score: Callable[[pd.DataFrame], pd.DataFrame],
    loaded: list[LoadedModel],
    *,
    rejects: str | Path | None,
    on_rows: Callable[[int], None],
) -> BatchResult:
    """Read ``path`` in chunks, score the good rows, write them atomically, rejects aside."""
    out_path = Path(output)
    if out_path.resolve() == Path(path).resolve():
        raise BadInputError(f"{output}: the output would overwrite the input")
    sink = RejectsFile(rejects or default_rejects_path(out_path))
    writer = TableWriter(out_path)
    try:
        for good, rejected in reader:
            sink.write(rejected)
            if len(good):
                writer.write(score(good))
            on_rows(len(good) + len(rejected))
    except BaseException:
        writer.abort()
        sink.abort()
        raise
    rejects_path = sink.close()
    if writer.rows == 0:
        writer.abort()
        raise BadInputError(
            f"{path}: no valid rows to score ({reader.summary.describe()}); "
            f"see {rejects_path} for the reasons"
        )
    writer.close()
    return BatchResult(
        output=out_path,
        rows=writer.rows,
        rejects=rejects_path,
        data=reader.summary,
        models=[f"{m.name}/{m.version}" for m in loaded],
    )
