"""Batch scoring of files in chunks: validated rows in, model outputs appended, rejects aside."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cxml.config import DataConfig
from cxml.data import COMMENTS, ReadSummary, RejectsFile, TableReader, TableWriter
from cxml.data.io import ROW
from cxml.data.reader import default_rejects_path
from cxml.errors import BadInputError
from cxml.tracking.loader import LoadedModel, load_model

__all__ = [
    "COMMENT_MODELS",
    "BatchResult",
    "analyze_comments_file",
    "load_comment_models",
    "score_frame",
]

COMMENT_INPUTS = ["text", "lang"]
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


def score_frame(frame: pd.DataFrame, models: list[LoadedModel], inputs: list[str]) -> pd.DataFrame:
    """Append every model's output columns to ``frame`` (row order kept).

    Input columns that share a name with an output column (a ``sentiment`` label, say) are kept
    as ``<name>_input``. With several models, ``model_name`` and ``model_version`` list each
    model's, joined by ``+``.
    """
    outputs = [m.predict(frame[[c for c in inputs if c in frame]]) for m in models]
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
    out_path = Path(output)
    if out_path.resolve() == Path(path).resolve():
        raise BadInputError(f"{output}: the output would overwrite the input")
    reader = TableReader(path, COMMENTS, config=config, chunksize=chunksize)
    sink = RejectsFile(rejects or default_rejects_path(out_path))
    writer = TableWriter(out_path)
    try:
        for good, rejected in reader:
            sink.write(rejected)
            if len(good):
                writer.write(score_frame(good, loaded, COMMENT_INPUTS))
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
