"""Read a user's file through the data contract: chunks of valid rows, rejects on the side."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from cxml.config import DataConfig
from cxml.data.io import TableWriter, iter_table
from cxml.data.schema import Schema
from cxml.data.validate import REJECT_COLUMNS, ReadSummary, Validator

__all__ = ["RejectsFile", "TableReader", "default_rejects_path", "read_valid"]


def default_rejects_path(path: str | Path) -> Path:
    """``scored.parquet`` -> ``scored.rejects.csv`` in the same folder."""
    p = Path(path)
    return p.with_name(p.name.split(".")[0] + ".rejects.csv")


class TableReader:
    """Iterate over ``(good, rejected)`` chunks of a file validated against ``schema``.

    Parameters
    ----------
    path : str or Path
        The input file.
    schema : Schema
        The contract rows must meet.
    config : DataConfig, default=None
        Format, encoding, column mapping and text limit; defaults when None.
    require : iterable of str, default=()
        Fields the task needs on every row (a label, say).
    chunksize : int, default=10_000
        Rows per chunk.

    Attributes
    ----------
    summary : ReadSummary
        Counts of rows read, kept and rejected (complete once iteration ends).
    """

    def __init__(
        self,
        path: str | Path,
        schema: Schema,
        *,
        config: DataConfig | None = None,
        require: Iterable[str] = (),
        chunksize: int = 10_000,
    ) -> None:
        self.path = Path(path)
        self.config = config or DataConfig()
        self.chunksize = chunksize
        self.validator = Validator(
            schema,
            source=str(self.path),
            columns=self.config.columns,
            require=require,
            max_text_chars=self.config.max_text_chars,
            dayfirst=self.config.dayfirst,
        )

    @property
    def summary(self) -> ReadSummary:
        return self.validator.summary

    def __iter__(self) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
        chunks = iter_table(
            self.path,
            format=self.config.format,
            encoding=self.config.encoding,
            chunksize=self.chunksize,
        )
        for chunk in chunks:
            yield self.validator.validate(chunk.frame, chunk.rejects)


class RejectsFile:
    """Collects rejected rows; the file appears (atomically) only if there are any.

    A rejects file left by an earlier run at the same path is removed, so what is there always
    belongs to the latest run.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.unlink(missing_ok=True)
        self._writer: TableWriter | None = None

    def write(self, rejected: pd.DataFrame) -> None:
        if rejected.empty:
            return
        if self._writer is None:
            self._writer = TableWriter(self.path)
        self._writer.write(rejected[REJECT_COLUMNS])

    @property
    def rows(self) -> int:
        return self._writer.rows if self._writer else 0

    def close(self) -> Path | None:
        """Finish the file; returns its path, or None when nothing was rejected."""
        return self._writer.close() if self._writer else None

    def abort(self) -> None:
        if self._writer:
            self._writer.abort()


def read_valid(
    path: str | Path,
    schema: Schema,
    *,
    config: DataConfig | None = None,
    require: Iterable[str] = (),
    rejects: str | Path | None = None,
) -> tuple[pd.DataFrame, ReadSummary, Path | None]:
    """Read a whole file: ``(good rows, summary, rejects path or None)``.

    Rejected rows go to ``rejects`` (default :func:`default_rejects_path` of ``path`` in the
    current folder, or ``config.rejects``).
    """
    reader = TableReader(path, schema, config=config, require=require)
    target = rejects or reader.config.rejects or Path.cwd() / default_rejects_path(path).name
    sink = RejectsFile(target)
    frames: list[pd.DataFrame] = []
    try:
        for good, rejected in reader:
            frames.append(good)
            sink.write(rejected)
    except BaseException:
        sink.abort()
        raise
    frames = [f for f in frames if len(f)] or frames[:1]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return frame, reader.summary, sink.close()
