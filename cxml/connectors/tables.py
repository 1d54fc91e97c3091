"""Read a CSV or TSV export row by row, each row with the line it starts on.

The rows come from :func:`cxml.data.io.iter_table` (strict CSV, encodings detected by
:func:`cxml.data.io.detect_encoding`, a malformed record rejected by its first line while the
lines it swallowed are read again), so an export is parsed exactly as any cxml input is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

from cxml.connectors.result import Where
from cxml.connectors.values import is_missing
from cxml.data.io import ROW, Chunk, iter_table

__all__ = ["Row", "read_rows"]


@dataclass
class Row:
    """One CSV record: its cells by column (blank cells left out), or why it is no record."""

    where: Where
    cells: dict[str, str] = field(default_factory=dict)
    #: Why the record could not be parsed (then ``raw`` holds its first line).
    error: str = ""
    raw: str = ""


def read_rows(path: Path, encoding: str | None) -> tuple[list[str], Iterator[Row]]:
    """The columns of ``path`` and its records in file order (the header line not counted).

    The columns are known once the header is read; a file without records has none.

    Raises
    ------
    DataError
        When the file cannot be read or decoded, or its header is empty or repeats a name.
    """
    chunks = iter_table(path, format="csv", encoding=encoding)
    first = next(chunks, None)
    if first is None:
        return [], iter(())
    columns = [c for c in first.frame.columns if c != ROW]
    return columns, _rows(path, columns, chain([first], chunks))


def _rows(path: Path, columns: list[str], chunks: Iterator[Chunk]) -> Iterator[Row]:
    for chunk in chunks:
        rows: list[tuple[int, Row]] = []
        for record in chunk.frame[[ROW, *columns]].itertuples(index=False, name=None):
            number = int(record[0])
            cells = {
                c: str(v) for c, v in zip(columns, record[1:], strict=True) if not is_missing(v)
            }
            rows.append((number, Row(Where(str(path), chunk.starts[number]), cells)))
        for reject in chunk.rejects:
            number = int(reject[ROW])
            where = Where(str(path), chunk.starts[number])
            rows.append((number, Row(where, error=reject["_reason"], raw=reject["_raw"])))
        for _, row in sorted(rows, key=lambda item: item[0]):
            yield row
