"""Read tables in chunks (CSV, JSON Lines, Parquet, Excel) and write them atomically.

Readers yield :class:`pandas.DataFrame` chunks whose ``_row`` column holds each record's 1-based
row number in the source (the header line of a CSV is not counted), so that every later message can
name the row. Records that cannot even be parsed (a CSV line with the wrong number of fields, a JSON
line that is not an object) are yielded as rejects beside the chunk, never dropped.

Writers write to a temporary file beside the target and rename it into place when the last chunk is
in, so a crash never leaves a half-written output.
"""

from __future__ import annotations

import codecs
import csv
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cxml.errors import DataError

__all__ = [
    "FORMATS",
    "Chunk",
    "TableWriter",
    "count_rows",
    "detect_encoding",
    "detect_format",
    "iter_table",
    "read_table",
    "write_table",
]

log = logging.getLogger(__name__)

Format = Literal["csv", "jsonl", "parquet", "excel"]
FORMATS: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "excel",
    ".xls": "excel",
}
ROW = "_row"
_SAMPLE_BYTES = 1 << 20


@dataclass
class Chunk:
    """One chunk of a table: parsed records and the records that could not be parsed."""

    frame: pd.DataFrame
    rejects: list[dict[str, Any]] = field(default_factory=list)


def detect_format(path: str | Path, declared: str = "auto") -> Format:
    """Return the table format of ``path`` from ``declared`` or the file extension."""
    if declared != "auto":
        return declared  # type: ignore[return-value]
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        known = ", ".join(sorted(FORMATS))
        raise DataError(f"{path}: cannot tell the format from {suffix!r}; use one of {known}")
    return FORMATS[suffix]


def detect_encoding(sample: bytes) -> tuple[str, bool]:
    """Guess the text encoding of ``sample``: UTF-8 (with or without BOM), CP949/EUC-KR, Latin-1.

    Returns
    -------
    (encoding, fallback) : tuple of (str, bool)
        ``fallback`` is True when nothing fitted better than the single-byte Western encodings,
        which decode any bytes: the caller should warn.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", False
    for encoding in ("utf-8", "cp949"):
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        if encoding == "utf-8":
            return encoding, False
        non_ascii = [c for c in text if ord(c) > 127]
        hangul = sum("\uac00" <= c <= "\ud7a3" for c in non_ascii)
        if non_ascii and hangul / len(non_ascii) >= 0.6:
            return encoding, False
    try:
        sample.decode("cp1252")
        return "cp1252", True
    except UnicodeDecodeError:
        return "latin-1", True


def _open_text(path: Path, encoding: str | None) -> tuple[Any, str]:
    if encoding is None:
        with path.open("rb") as fh:
            encoding, fallback = detect_encoding(fh.read(_SAMPLE_BYTES))
        if fallback:
            log.warning(
                "%s: not UTF-8 or CP949; read as %s. Pass the encoding if the text looks wrong.",
                path,
                encoding,
            )
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise DataError(f"{path}: unknown encoding {encoding!r}") from None
    return path.open("r", encoding=encoding, newline=""), encoding


class _LineTape:
    """Feeds lines to ``csv.reader`` and keeps the raw text of the record being parsed."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self.raw: list[str] = []

    def __iter__(self) -> _LineTape:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.raw.append(line)
        return line

    def take(self) -> str:
        text = "".join(self.raw)
        self.raw = []
        return text


def _iter_csv(path: Path, encoding: str | None, chunksize: int) -> Iterator[Chunk]:
    fh, encoding = _open_text(path, encoding)
    with fh:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        tape = _LineTape(iter(fh))
        reader = csv.reader(tape, delimiter=delimiter, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise DataError(f"{path}: the file is empty (no header line)") from None
        except UnicodeDecodeError as exc:
            raise _decode_error(path, encoding, 0, exc) from None
        except csv.Error as exc:
            raise DataError(f"{path}: cannot read the header line: {exc}") from None
        tape.take()
        header = [h.strip() for h in header]
        _check_header(path, header)
        width = len(header)
        rows: list[list[str]] = []
        numbers: list[int] = []
        rejects: list[dict[str, Any]] = []
        row_no = 0
        while True:
            try:
                record = next(reader)
            except StopIteration:
                break
            except UnicodeDecodeError as exc:
                raise _decode_error(path, encoding, row_no, exc) from None
            except csv.Error as exc:
                row_no += 1
                rejects.append(_reject(row_no, "(record)", f"malformed CSV: {exc}", tape.take()))
                continue
            raw = tape.take()
            if not raw.strip():
                continue  # blank line
            row_no += 1
            if len(record) != width:
                reason = f"expected {width} fields, found {len(record)}"
                rejects.append(_reject(row_no, "(record)", reason, raw))
                continue
            rows.append(record)
            numbers.append(row_no)
            if len(rows) >= chunksize:
                yield Chunk(_frame(header, rows, numbers), rejects)
                rows, numbers, rejects = [], [], []
        if rows or rejects:
            yield Chunk(_frame(header, rows, numbers), rejects)


def _decode_error(path: Path, encoding: str, row: int, exc: UnicodeDecodeError) -> DataError:
    return DataError(
        f"{path}: after row {row}, bytes that are not {encoding} ({exc.reason}); "
        "pass the right encoding (data.encoding / --encoding) or leave it out to detect it"
    )


def _check_header(path: Path, header: list[str]) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise DataError(f"{path}: the column {name!r} appears twice in the header")
        seen.add(name)


def _frame(header: list[str], rows: list[list[str]], numbers: list[int]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame = frame.replace("", np.nan)
    frame.insert(0, ROW, np.asarray(numbers, dtype=np.int64))
    return frame


def _reject(row: int, field_name: str, reason: str, raw: str) -> dict[str, Any]:
    return {ROW: row, "_field": field_name, "_reason": reason, "_raw": raw.rstrip("\r\n")}


def _iter_jsonl(path: Path, encoding: str | None, chunksize: int) -> Iterator[Chunk]:
    fh, encoding = _open_text(path, encoding)
    with fh:
        records: list[dict[str, Any]] = []
        rejects: list[dict[str, Any]] = []
        row_no = 0
        lines = iter(fh)
        while True:
            try:
                line = next(lines)
            except StopIteration:
                break
            except UnicodeDecodeError as exc:
                raise _decode_error(path, encoding, row_no, exc) from None
            if not line.strip():
                continue
            row_no += 1
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                rejects.append(_reject(row_no, "(record)", f"invalid JSON: {exc.msg}", line))
                continue
            if not isinstance(value, dict):
                reason = f"expected a JSON object, got {type(value).__name__}"
                rejects.append(_reject(row_no, "(record)", reason, line))
                continue
            value[ROW] = row_no
            records.append(value)
            if len(records) >= chunksize:
                yield Chunk(_records_frame(records), rejects)
                records, rejects = [], []
        if records or rejects:
            yield Chunk(_records_frame(records), rejects)


def _records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records)
    if ROW in frame:
        frame.insert(0, ROW, frame.pop(ROW).astype(np.int64))
    else:
        frame[ROW] = pd.Series(dtype=np.int64)
    return frame


def _iter_parquet(path: Path, chunksize: int) -> Iterator[Chunk]:
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    start = 0
    try:
        for batch in pf.iter_batches(batch_size=chunksize):
            frame = batch.to_pandas()
            frame.insert(0, ROW, np.arange(start + 1, start + len(frame) + 1, dtype=np.int64))
            start += len(frame)
            yield Chunk(frame)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{path}: Parquet data broken after row {start} ({exc})") from None


def _iter_excel(path: Path, chunksize: int) -> Iterator[Chunk]:
    try:
        frame = pd.read_excel(path, dtype=object)
    except Exception as exc:  # openpyxl raises many unrelated types for a broken file
        raise DataError(f"{path}: not a readable Excel file ({exc})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    frame.insert(0, ROW, np.arange(1, len(frame) + 1, dtype=np.int64))
    for start in range(0, len(frame), chunksize):
        yield Chunk(frame.iloc[start : start + chunksize].reset_index(drop=True))


def count_rows(path: str | Path, format: str = "auto") -> int | None:
    """Rows in ``path`` for progress bars: exact for Parquet, lines for text (None for Excel)."""
    p = Path(path)
    fmt = detect_format(p, format)
    if fmt == "parquet":
        try:
            return int(pq.ParquetFile(p).metadata.num_rows)
        except (pa.ArrowException, OSError):
            return None
    if fmt == "excel":
        return None
    lines = 0
    last = b"\n"
    with p.open("rb") as fh:
        while block := fh.read(1 << 22):
            lines += block.count(b"\n")
            last = block[-1:]
    lines += last != b"\n"
    return max(lines - (fmt == "csv"), 0)


def iter_table(
    path: str | Path,
    *,
    format: str = "auto",
    encoding: str | None = None,
    chunksize: int = 10_000,
) -> Iterator[Chunk]:
    """Yield :class:`Chunk` objects of at most ``chunksize`` records from ``path``.

    Parameters
    ----------
    path : str or Path
        A CSV/TSV, JSON Lines, Parquet or Excel file.
    format : {"auto", "csv", "jsonl", "parquet", "excel"}, default="auto"
        "auto" decides from the file extension.
    encoding : str, default=None
        Text encoding of CSV and JSON Lines; detected when None.
    chunksize : int, default=10_000
        Records per chunk; memory is bounded by it whatever the file size.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such file")
    fmt = detect_format(p, format)
    if fmt == "csv":
        return _iter_csv(p, encoding, chunksize)
    if fmt == "jsonl":
        return _iter_jsonl(p, encoding, chunksize)
    if fmt == "parquet":
        return _iter_parquet(p, chunksize)
    return _iter_excel(p, chunksize)


def read_table(path: str | Path, **kwargs: Any) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Read a whole table: ``(frame, rejects)``; see :func:`iter_table` for the arguments."""
    frames: list[pd.DataFrame] = []
    rejects: list[dict[str, Any]] = []
    for chunk in iter_table(path, **kwargs):
        frames.append(chunk.frame)
        rejects.extend(chunk.rejects)
    frames = [f for f in frames if len(f)] or frames[:1]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({ROW: []})
    return frame, rejects


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    if isinstance(value, float) and np.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _nested_to_json(frame: pd.DataFrame) -> pd.DataFrame:
    """Encode list and dict cells as JSON text (for CSV and Excel)."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object and out[col].map(lambda v: isinstance(v, list | dict)).any():
            out[col] = out[col].map(
                lambda v: (
                    json.dumps(v, ensure_ascii=False, default=_jsonable)
                    if isinstance(v, list | dict)
                    else v
                )
            )
    return out


def _to_arrow(frame: pd.DataFrame, schema: pa.Schema | None) -> pa.Table:
    """Convert to Arrow with dict cells as ``map`` columns, so keys may differ between rows."""
    columns: dict[str, pa.Array] = {}
    for col in frame.columns:
        values = frame[col]
        if schema is not None:
            columns[col] = pa.array(
                _map_cells(values), type=schema.field(col).type, from_pandas=True
            )
        elif values.dtype == object and values.map(lambda v: isinstance(v, dict)).any():
            columns[col] = pa.array(_map_cells(values), type=_map_type(values), from_pandas=True)
        else:
            columns[col] = pa.array(values, from_pandas=True)
    return pa.table(columns)


def _map_cells(values: pd.Series) -> list[Any]:
    return [list(v.items()) if isinstance(v, dict) else v for v in values]


def _map_type(values: pd.Series) -> pa.DataType:
    items = [x for v in values if isinstance(v, dict) for x in v.values()]
    value_type = pa.array(items).type if items else pa.string()
    return pa.map_(pa.string(), value_type)


class TableWriter:
    """Write a table chunk by chunk; it appears at ``path`` only when :meth:`close` succeeds.

    Use as a context manager: on an exception the temporary file is removed and nothing appears.
    The format follows the extension (CSV, TSV, JSON Lines, Parquet or Excel).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.format = detect_format(self.path)
        self.rows = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
        )
        os.close(fd)
        self._tmp = Path(tmp)
        self._parquet: pq.ParquetWriter | None = None
        self._excel: list[pd.DataFrame] = []
        self._columns: list[str] | None = None

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame``; every chunk must have the columns of the first."""
        if self._columns is None:
            self._columns = list(frame.columns)
        elif list(frame.columns) != self._columns:
            raise ValueError(f"chunk columns {list(frame.columns)} differ from {self._columns}")
        if self.format == "parquet":
            if self._parquet is None:
                table = _to_arrow(frame, None)
                self._parquet = pq.ParquetWriter(self._tmp, table.schema)
            else:
                table = _to_arrow(frame, self._parquet.schema)
            self._parquet.write_table(table)
        elif self.format == "csv":
            sep = "\t" if self.path.suffix.lower() == ".tsv" else ","
            header = self._tmp.stat().st_size == 0
            _nested_to_json(frame).to_csv(
                self._tmp, mode="a", header=header, index=False, sep=sep, encoding="utf-8"
            )
        elif self.format == "jsonl":
            with self._tmp.open("a", encoding="utf-8") as fh:
                for record in frame.to_dict(orient="records"):
                    clean = {k: _jsonable(v) for k, v in record.items()}
                    fh.write(json.dumps(clean, ensure_ascii=False, default=_jsonable) + "\n")
        else:
            self._excel.append(_nested_to_json(frame))
        self.rows += len(frame)

    def close(self) -> Path:
        """Finish the file and move it into place atomically; returns the final path."""
        if self._parquet is not None:
            self._parquet.close()
        elif self.format == "excel":
            frames = self._excel or [pd.DataFrame(columns=self._columns or [])]
            pd.concat(frames, ignore_index=True).to_excel(self._tmp, index=False)
        elif self.format == "parquet":  # nothing written: an empty table with the known columns
            empty = {c: pa.array([], pa.string()) for c in self._columns or []}
            pq.write_table(pa.table(empty), self._tmp)
        with self._tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Drop the temporary file; nothing appears at ``path``."""
        if self._parquet is not None:
            self._parquet.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` to ``path`` atomically in the format of its extension."""
    with TableWriter(path) as writer:
        writer.write(frame)
    return writer.path
