"""Read tables in chunks (CSV, JSON Lines, Parquet, Excel) and write them atomically.

Readers yield :class:`pandas.DataFrame` chunks whose ``_row`` column holds each record's 1-based
row number in the source (the header line of a CSV is not counted), so that every later message can
name the row. Records that cannot even be parsed (a CSV line with the wrong number of fields, a JSON
line that is not an object) are yielded as rejects beside the chunk, never dropped, with their line;
a malformed CSV record that ran over several lines (a stray quote) is rejected by its first line
and the lines it swallowed are parsed again. Blank lines are counted as skipped.

Writers write to a temporary file beside the target and rename it into place when the last chunk is
in, so a crash never leaves a half-written output; the file gets the permissions of any new file.
Chunks that differ in columns or types are written with one schema (:func:`table_schema`).
"""

from __future__ import annotations

import codecs
import csv
import json
import logging
import os
import re
import secrets
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cxml.errors import DataError
from cxml.text.normalize import replace_surrogates

__all__ = [
    "FORMATS",
    "Chunk",
    "TableWriter",
    "count_rows",
    "detect_encoding",
    "detect_format",
    "iter_table",
    "read_table",
    "table_schema",
    "write_table",
    "write_text",
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
_FIELD_LIMIT = min(sys.maxsize, 2**31 - 1)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
#: Byte order marks, longest first (the UTF-32 LE mark starts with the UTF-16 LE one).
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]


@dataclass
class Chunk:
    """One chunk of a table: parsed records and the records that could not be parsed."""

    frame: pd.DataFrame
    rejects: list[dict[str, Any]] = field(default_factory=list)
    #: Records left out on purpose, by reason ("blank line").
    skipped: Counter[str] = field(default_factory=Counter)
    #: Physical lines (records for Parquet and Excel) this chunk was read from.
    lines: int = 0
    #: The line each CSV record (parsed or rejected) starts on, by its ``_row``.
    starts: dict[int, int] = field(default_factory=dict)


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
    """Guess the text encoding of ``sample``: UTF-8 (with or without BOM), UTF-16 or UTF-32 (by
    BOM, or UTF-16 by the NUL bytes of its ASCII characters), CP949/EUC-KR, Latin-1.

    Returns
    -------
    (encoding, fallback) : tuple of (str, bool)
        ``fallback`` is True when nothing fitted better than the single-byte Western encodings,
        which decode any bytes: the caller should warn.
    """
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding, False
    utf16 = _utf16_without_bom(sample)
    if utf16:
        return utf16, False
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


def _utf16_without_bom(sample: bytes) -> str | None:
    """UTF-16 LE or BE when every other byte is mostly NUL (the high bytes of ASCII characters)
    and the sample decodes so; None otherwise."""
    head = sample[: 1 << 12]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    share = {"utf-16-le": odd.count(0) / len(odd), "utf-16-be": even.count(0) / len(even)}
    other = {"utf-16-le": even.count(0) / len(even), "utf-16-be": odd.count(0) / len(odd)}
    for encoding in share:
        if share[encoding] >= 0.2 and other[encoding] < 0.05:
            try:
                codecs.getincrementaldecoder(encoding)().decode(head, final=False)
            except UnicodeDecodeError:
                continue
            return encoding
    return None


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
    """Feeds numbered lines to ``csv.reader`` and keeps the lines of the record being parsed.

    Lines given back with :meth:`again` are fed again before the rest of the file.
    """

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._again: list[tuple[int, str]] = []  # a stack: the next line last
        self.read = 0  # lines taken from the file so far: the number of the last one
        self.raw: list[tuple[int, str]] = []

    def __iter__(self) -> _LineTape:
        return self

    def __next__(self) -> str:
        if self._again:
            item = self._again.pop()
        else:
            item = (self.read + 1, next(self._lines))
            self.read += 1
        self.raw.append(item)
        return item[1]

    def take(self) -> list[tuple[int, str]]:
        """The numbered lines of the record just parsed."""
        raw, self.raw = self.raw, []
        return raw

    def again(self, lines: list[tuple[int, str]]) -> None:
        """Feed ``lines`` again, in order, before the rest of the file."""
        self._again.extend(reversed(lines))


class _Pending:
    """The records, rejects and skipped lines of the chunk being filled."""

    def __init__(self) -> None:
        self.records: list[Any] = []
        self.numbers: list[int] = []
        self.rejects: list[dict[str, Any]] = []
        self.skipped: Counter[str] = Counter()
        self.lines = 0
        self.starts: dict[int, int] = {}

    def __bool__(self) -> bool:
        return bool(self.records or self.rejects or self.skipped)


def _has_carriage_return(frame: pd.DataFrame) -> bool:
    """Whether a text cell of ``frame`` holds a carriage return."""
    return any(
        frame[column].map(lambda v: isinstance(v, str) and "\r" in v).any()
        for column in frame.columns
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column])
    )


def _iter_csv(path: Path, encoding: str | None, chunksize: int) -> Iterator[Chunk]:
    csv.field_size_limit(_FIELD_LIMIT)  # huge cells are read; the validator cuts long texts
    fh, encoding = _open_text(path, encoding)
    with fh:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        tape = _LineTape(iter(fh))
        reader = csv.reader(tape, delimiter=delimiter, strict=True)
        header = _csv_header(path, reader, encoding)
        counted = len(tape.take())
        width = len(header)
        pending = _Pending()
        row_no = 0
        while True:
            problem = ""
            try:
                record = next(reader)
            except StopIteration:
                break
            except UnicodeDecodeError as exc:
                raise _decode_error(path, encoding, tape.read, exc) from None
            except csv.Error as exc:
                record, problem = [], str(exc)
            raw = tape.take()
            if not problem and not "".join(line for _, line in raw).strip():
                pending.skipped["blank line"] += 1
                continue
            row_no += 1
            pending.starts[row_no] = raw[0][0]
            if not problem and len(record) != width:
                problem = f"expected {width} fields, found {len(record)}"
            if problem:
                pending.rejects.append(_csv_reject(row_no, raw, problem))
                tape.again(raw[1:])  # the lines a stray quote swallowed are read again
                continue
            pending.records.append(record)
            pending.numbers.append(row_no)
            if len(pending.records) >= chunksize:
                pending.lines, counted = tape.read - counted, tape.read
                yield _csv_chunk(header, pending)
                pending = _Pending()
        if pending:
            pending.lines = tape.read - counted
            yield _csv_chunk(header, pending)


def _csv_header(path: Path, reader: Any, encoding: str) -> list[str]:
    try:
        header: list[str] = next(reader)
    except StopIteration:
        raise DataError(f"{path}: the file is empty (no header line)") from None
    except UnicodeDecodeError as exc:
        raise _decode_error(path, encoding, 0, exc) from None
    except csv.Error as exc:
        raise DataError(f"{path}: cannot read the header line: {exc}") from None
    header = [h.strip() for h in header]
    _check_header(path, header)
    return header


def _csv_reject(row: int, raw: list[tuple[int, str]], problem: str) -> dict[str, Any]:
    """The reject of a record that is not valid CSV; only its first line when it ran over
    several (a stray quote), whose other lines are then read again."""
    first, line = raw[0]
    reason = f"malformed CSV at line {first}: {problem}"
    if len(raw) > 1:
        reason = (
            f"malformed CSV at line {first}: a quote opened there swallowed the "
            f"{len(raw) - 1:,} line(s) up to line {raw[-1][0]} ({problem}); only line {first} "
            "is rejected, the lines after it are read again"
        )
    return _reject(row, "(record)", reason, line)


def _decode_error(path: Path, encoding: str, line: int, exc: UnicodeDecodeError) -> DataError:
    return DataError(
        f"{path}: after line {line}, bytes that are not {encoding} ({exc.reason}); "
        "pass the right encoding (data.encoding / --encoding) or leave it out to detect it"
    )


def _check_header(path: Path, header: list[str]) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise DataError(f"{path}: the column {name!r} appears twice in the header")
        seen.add(name)


def _csv_chunk(header: list[str], pending: _Pending) -> Chunk:
    frame = pd.DataFrame(pending.records, columns=header, dtype=object)
    frame = frame.replace("", np.nan)
    frame.insert(0, ROW, np.asarray(pending.numbers, dtype=np.int64))
    return Chunk(frame, pending.rejects, pending.skipped, pending.lines, pending.starts)


def _reject(row: int, field_name: str, reason: str, raw: str) -> dict[str, Any]:
    return {ROW: row, "_field": field_name, "_reason": reason, "_raw": raw.rstrip("\r\n")}


def _iter_jsonl(path: Path, encoding: str | None, chunksize: int) -> Iterator[Chunk]:
    fh, encoding = _open_text(path, encoding)
    with fh:
        pending = _Pending()
        row_no = line_no = 0
        lines = iter(fh)
        while True:
            try:
                line = next(lines)
            except StopIteration:
                break
            except UnicodeDecodeError as exc:
                raise _decode_error(path, encoding, line_no, exc) from None
            line_no += 1
            pending.lines += 1
            if not line.strip():
                pending.skipped["blank line"] += 1
                continue
            row_no += 1
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                reason = f"invalid JSON at line {line_no}: {exc.msg}"
                pending.rejects.append(_reject(row_no, "(record)", reason, line))
                continue
            if not isinstance(value, dict):
                reason = f"expected a JSON object at line {line_no}, got {type(value).__name__}"
                pending.rejects.append(_reject(row_no, "(record)", reason, line))
                continue
            if _SURROGATE_ESCAPE.search(line):
                value = _encodable(value)  # pandas cannot hold a lone surrogate in a column
            value[ROW] = row_no
            pending.records.append(value)
            if len(pending.records) >= chunksize:
                yield _jsonl_chunk(pending)
                pending = _Pending()
        if pending:
            yield _jsonl_chunk(pending)


def _jsonl_chunk(pending: _Pending) -> Chunk:
    return Chunk(_records_frame(pending.records), pending.rejects, pending.skipped, pending.lines)


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
            yield Chunk(frame, lines=len(frame))
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
        part = frame.iloc[start : start + chunksize].reset_index(drop=True)
        yield Chunk(part, lines=len(part))


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
            out[col] = _map_objects(
                out[col],
                lambda v: (
                    json.dumps(v, ensure_ascii=False, default=_jsonable)
                    if isinstance(v, list | dict)
                    else v
                ),
            )
    return out


def _map_objects(values: pd.Series, function: Callable[[Any], Any]) -> pd.Series:
    """``values.map(function)`` kept as objects: pandas' string columns cannot hold what some
    texts hold (lone surrogates)."""
    return pd.Series([function(v) for v in values], index=values.index, dtype=object)


def table_schema(frames: Iterable[pd.DataFrame]) -> pa.Schema:
    """One Arrow schema for every chunk of a table, however the chunks differ.

    The columns are the union of the chunks' columns (a column new in a later chunk goes after
    the column it follows there). A column's type is the one its values have in every chunk,
    promoted where Arrow can (integers and floats are floats); a column empty everywhere is
    string, and one whose values mix types that do not promote (text in one chunk, numbers in
    another) is string.
    """
    order: list[str] = []
    types: dict[str, list[pa.DataType]] = {}
    for frame in frames:
        for i, col in enumerate(frame.columns):
            if col not in types:
                after = order.index(frame.columns[i - 1]) + 1 if i else 0
                order.insert(after, col)
                types[col] = []
            types[col].append(_arrow_type(frame[col]))
    return pa.schema([(col, _unify(types[col])) for col in order])


def _arrow_type(values: pd.Series) -> pa.DataType:
    """The Arrow type of one chunk's column: null when it holds nothing, string when its
    values mix types."""
    if values.dtype == object and values.isna().all():
        return pa.null()
    try:
        if values.dtype == object and values.map(lambda v: isinstance(v, dict)).any():
            return _map_type(values)
        return _array(values, None).type
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pa.string()


def _unify(types: list[pa.DataType]) -> pa.DataType:
    known = [t for t in types if not pa.types.is_null(t)]
    if not known:
        return pa.string()
    unified = known[0]
    for other in known[1:]:
        if other == unified:
            continue
        schemas = [pa.schema([("c", unified)]), pa.schema([("c", other)])]
        try:
            unified = pa.unify_schemas(schemas, promote_options="permissive").field("c").type
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            return pa.string()
    return unified


def _array(values: pd.Series | list[Any], type_: pa.DataType | None) -> pa.Array:
    """``pa.array`` of ``values``; lone surrogates, which UTF-8 cannot hold, become U+FFFD."""
    try:
        return pa.array(values, type=type_, from_pandas=True)
    except UnicodeEncodeError:
        return pa.array([_encodable(v) for v in values], type=type_, from_pandas=True)


def _encodable(value: Any) -> Any:
    if isinstance(value, str):
        return replace_surrogates(value)
    if isinstance(value, list | tuple | np.ndarray):
        return [_encodable(v) for v in value]
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    return value


def _to_arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """Convert to ``schema`` (from :func:`table_schema`), with dict cells as ``map`` columns so
    keys may differ between rows; a column the frame lacks is empty."""
    columns: dict[str, pa.Array] = {}
    for target in schema:
        if target.name not in frame:
            columns[target.name] = pa.nulls(len(frame), target.type)
            continue
        values = frame[target.name]
        if pa.types.is_map(target.type):
            columns[target.name] = _array(_map_cells(values), target.type)
        elif pa.types.is_string(target.type) or pa.types.is_large_string(target.type):
            columns[target.name] = _array(_strings(values), target.type)
        else:
            columns[target.name] = _array(values, target.type)
    return pa.table(columns)


def _strings(values: pd.Series) -> pd.Series:
    """A string column's values: text as it is, anything else as JSON (lists, dicts) or text."""
    if isinstance(values.dtype, pd.StringDtype):
        return values
    if values.dtype == object and values.map(lambda v: isinstance(v, str) or _missing(v)).all():
        return values
    return _map_objects(values, lambda v: v if isinstance(v, str) or _missing(v) else _as_text(v))


def _as_text(value: Any) -> str:
    if isinstance(value, list | dict | np.ndarray):
        return json.dumps(value, ensure_ascii=False, default=_jsonable)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(_jsonable(value))


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and np.isnan(value)


def _map_cells(values: pd.Series) -> list[Any]:
    return [list(v.items()) if isinstance(v, dict) else v for v in values]


def _map_type(values: pd.Series) -> pa.DataType:
    items = [x for v in values if isinstance(v, dict) for x in v.values()]
    value_type = _array(items, None).type if items else pa.string()
    return pa.map_(pa.string(), value_type)


def _temp_beside(path: Path) -> Path:
    """A new empty file beside ``path`` for writing it, with the permissions any new file gets
    (0666 less the umask)."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return tmp


class TableWriter:
    """Write a table chunk by chunk; it appears at ``path`` only when :meth:`close` succeeds.

    Use as a context manager: on an exception the temporary file is removed and nothing appears.
    The format follows the extension (CSV, TSV, JSON Lines, Parquet or Excel).

    Parameters
    ----------
    path : str or Path
        The file to write.
    schema : pyarrow.Schema, default=None
        The columns and types of the whole table (:func:`table_schema` of its chunks): every
        chunk is written with these columns, cast to these types. None: every chunk must have
        the columns of the first.
    """

    def __init__(self, path: str | Path, schema: pa.Schema | None = None) -> None:
        self.path = Path(path)
        self.format = detect_format(self.path)
        self.rows = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = _temp_beside(self.path)
        self._schema = schema
        self._parquet: pq.ParquetWriter | None = None
        self._excel: list[pd.DataFrame] = []
        self._columns: list[str] | None = schema.names if schema is not None else None

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame``, conformed to the schema (or with the columns of the first chunk)."""
        frame = self._conform(frame)
        if self.format == "parquet":
            schema = self._schema or table_schema([frame])
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self._tmp, schema)
            self._parquet.write_table(_to_arrow(frame, self._parquet.schema))
        elif self.format == "csv":
            sep = "\t" if self.path.suffix.lower() == ".tsv" else ","
            header = self._tmp.stat().st_size == 0
            nested = _nested_to_json(frame)
            # The csv module quotes a field with "\n" but not one with a bare "\r", which readers
            # (this one included) take for a line end: such chunks are written fully quoted.
            # csv.QUOTE_ALL (1) or csv.QUOTE_MINIMAL (0), as the literals pandas' types take
            quoting: Literal[0, 1] = 1 if _has_carriage_return(nested) else 0
            text = nested.to_csv(None, header=header, index=False, sep=sep, quoting=quoting)
            self._append(text)
        elif self.format == "jsonl":
            lines = []
            for record in frame.to_dict(orient="records"):
                clean = {k: _jsonable(v) for k, v in record.items()}
                lines.append(json.dumps(clean, ensure_ascii=False, default=_jsonable) + "\n")
            self._append("".join(lines))
        else:
            nested = _nested_to_json(frame)
            self._excel.append(nested.apply(lambda column: _map_objects(column, _encodable)))
        self.rows += len(frame)

    def _conform(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self._columns is None:
            self._columns = list(frame.columns)
        elif self._schema is None and list(frame.columns) != self._columns:
            raise ValueError(f"chunk columns {list(frame.columns)} differ from {self._columns}")
        if self._schema is None or self.format == "parquet":
            return frame
        frame = frame.reindex(columns=self._columns)
        for target in self._schema:
            if pa.types.is_string(target.type) or pa.types.is_large_string(target.type):
                frame[target.name] = _strings(frame[target.name])
        return frame

    def _append(self, text: str) -> None:
        with self._tmp.open("a", encoding="utf-8", newline="") as fh:
            fh.write(replace_surrogates(text))

    def close(self) -> Path:
        """Finish the file and move it into place atomically; returns the final path."""
        try:
            if self._parquet is not None:
                self._parquet.close()
            elif self.format == "excel":
                frames = self._excel or [pd.DataFrame(columns=self._columns or [])]
                pd.concat(frames, ignore_index=True).to_excel(self._tmp, index=False)
            elif self.format == "parquet":  # nothing written: an empty table with the columns
                schema = self._schema or pa.schema([(c, pa.string()) for c in self._columns or []])
                pq.write_table(schema.empty_table(), self._tmp)
            with self._tmp.open("rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(self._tmp, self.path)
        except BaseException:
            self._tmp.unlink(missing_ok=True)
            raise
        return self.path

    def abort(self) -> None:
        """Drop the temporary file; nothing appears at ``path``."""
        try:
            if self._parquet is not None:
                self._parquet.close()
        finally:
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


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically, with the permissions of any new file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(target)
    try:
        tmp.write_text(replace_surrogates(text), encoding="utf-8")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` to ``path`` atomically in the format of its extension."""
    with TableWriter(path) as writer:
        writer.write(frame)
    return writer.path
