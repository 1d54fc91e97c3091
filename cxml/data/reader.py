"""Read a user's file through the data contract: chunks of valid rows, rejects on the side."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from cxml.config import DataConfig
from cxml.contracts.fields import Schema
from cxml.data.io import TableWriter, iter_table
from cxml.data.validate import REJECT_COLUMNS, ReadSummary, Validator
from cxml.errors import BadInputError, DataError

__all__ = ["RejectsFile", "TableReader", "check_paths", "default_rejects_path", "read_valid"]


def default_rejects_path(output: str | Path) -> Path:
    """``scored.parquet`` -> ``scored.parquet.rejects.csv`` beside it: a name that neither the
    output nor the input of the job can have."""
    p = Path(output)
    return p.with_name(p.name + ".rejects.csv")


def check_paths(
    source: str | Path, *, output: str | Path | None = None, rejects: str | Path | None = None
) -> None:
    """Refuse a job whose output or rejects file is its input, or whose rejects are its output.

    Raises
    ------
    BadInputError
        Naming both paths.
    """
    named = [("the input", source), ("the output", output), ("the rejects file", rejects)]
    given = [(role, Path(path)) for role, path in named if path is not None]
    for i, (role, path) in enumerate(given):
        for other_role, other in given[i + 1 :]:
            if _same_file(path, other):
                raise BadInputError(
                    f"{other}: {other_role} would be the same file as {role} ({path}); "
                    "name another path"
                )


def _same_file(a: Path, b: Path) -> bool:
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


class TableReader:
    """Iterate over ``(good, rejected)`` chunks of a file validated against ``schema``.

    When the iteration ends, the whole file is checked: a file without a single row, or one
    with more unreadable lines than ``config.max_lost_share`` allows, is a :class:`DataError`.

    Parameters
    ----------
    path : str or Path
        The input file.
    schema : Schema
        The contract rows must meet.
    config : DataConfig, default=None
        Format, encoding, column mapping, text limit and share of lines that may be lost;
        defaults when None.
    require : iterable of str, default=()
        Fields the task needs on every row (a label, say).
    chunksize : int, default=10_000
        Rows per chunk.

    Attributes
    ----------
    summary : ReadSummary
        Counts of rows read, kept, rejected and skipped (complete once iteration ends).
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
            good, rejected = self.validator.validate(chunk.frame, chunk.rejects)
            self.summary.add_lines(chunk.lines, chunk.skipped)
            yield good, rejected
        self._check_whole_file()

    def _check_whole_file(self) -> None:
        summary = self.summary
        if summary.good + summary.rejected == 0:
            blank = f" and {summary.skipped.total():,} blank lines" if summary.skipped else ""
            raise DataError(
                f"{self.path}: no rows to read: the file is empty or has only a header{blank}"
            )
        allowed = self.config.max_lost_share
        lines = max(summary.lines, 1)
        if summary.unreadable > allowed * lines:
            examples = "; ".join(summary.examples.get("(record)", []))
            raise DataError(
                f"{self.path}: {summary.unreadable:,} of {lines:,} lines "
                f"({summary.unreadable / lines:.1%}) are not readable records, more than "
                f"data.max_lost_share ({allowed:.1%}) allows; e.g. {examples}. Check the "
                "file's quoting, delimiter and encoding (or raise data.max_lost_share)"
            )


class RejectsFile:
    """Collects rejected rows and writes them when the job is done.

    The file is written to a temporary name and moved into place by :meth:`close`, so a file
    already at ``path`` stays as it is until then. With no rejects, nothing is created, and a
    file already there is replaced by an empty one (header only): what is at ``path`` always
    belongs to the latest run.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._writer = TableWriter(self.path)

    def write(self, rejected: pd.DataFrame) -> None:
        if not rejected.empty:
            self._writer.write(rejected[REJECT_COLUMNS])

    @property
    def rows(self) -> int:
        return self._writer.rows

    def close(self) -> Path | None:
        """Finish the file; returns its path, or None when nothing was rejected."""
        if self._writer.rows == 0:
            if not self.path.exists():
                self._writer.abort()
                return None
            self._writer.write(pd.DataFrame(columns=REJECT_COLUMNS))
            self._writer.close()
            return None
        return self._writer.close()

    def abort(self) -> None:
        """Drop what was collected; a file already at ``path`` stays."""
        self._writer.abort()


def read_valid(
    path: str | Path,
    schema: Schema,
    *,
    config: DataConfig | None = None,
    require: Iterable[str] = (),
    rejects: str | Path | None = None,
    keep_rejects: bool = False,
) -> tuple[pd.DataFrame, ReadSummary, Path | None]:
    """Read a whole file: ``(good rows, summary, rejects path or None)``.

    Rejected rows go to ``rejects`` (or ``config.rejects``); with neither, they go to
    ``./<input file name>.rejects.csv`` when ``keep_rejects`` (training, which logs them), else
    no file is written and ``summary`` counts them, with examples (:meth:`ReadSummary.explain`).
    """
    reader = TableReader(path, schema, config=config, require=require)
    target = rejects or reader.config.rejects
    if target is None and keep_rejects:
        target = default_rejects_path(Path(path).name)
    sink = None
    if target is not None:
        check_paths(path, rejects=target)
        sink = RejectsFile(target)
    frames: list[pd.DataFrame] = []
    try:
        for good, rejected in reader:
            frames.append(good)
            if sink is not None:
                sink.write(rejected)
    except BaseException:
        if sink is not None:
            sink.abort()
        raise
    frames = [f for f in frames if len(f)] or frames[:1]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return frame, reader.summary, sink.close() if sink is not None else None
