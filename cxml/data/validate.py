"""Row-level validation: map columns onto a schema, parse every field, split good rows from rejects.

A row that breaks the contract (empty text, an unparseable date, a duplicate id, a rating of 7 on a
1-5 scale, ...) is rejected with its row number, the field and the reason; every other row goes on.
A problem with the whole file (a mapped column that is not there) is a :class:`DataError`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cxml.contracts.fields import FieldSpec, Schema
from cxml.contracts.labels import is_missing, parse_label_map, parse_labels
from cxml.contracts.languages import lang_code
from cxml.contracts.ratings import parse_ratings
from cxml.contracts.times import DateColumns, time_flags
from cxml.data.io import ROW
from cxml.errors import ConfigError, DataError
from cxml.text.lang import detect_lang
from cxml.text.normalize import clean_text

__all__ = ["REJECT_COLUMNS", "ReadSummary", "Validator"]

REJECT_COLUMNS = [ROW, "_field", "_reason", "_raw"]
_EXAMPLES = 3  # rejects of each field kept as examples for messages


@dataclass
class ReadSummary:
    """What reading and validating one file did, for the one-line summary and MLflow."""

    source: str
    rows: int = 0
    good: int = 0
    rejected: int = 0
    truncated: int = 0
    lang_detected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    #: Data-quality findings on rows that were kept (e.g. "solved_at before created_at").
    flags: Counter[str] = field(default_factory=Counter)
    #: Records left out on purpose, by reason ("blank line"); ``rows`` counts them.
    skipped: Counter[str] = field(default_factory=Counter)
    #: Physical lines read (records for Parquet, Excel and frames).
    lines: int = 0
    #: Records that could not be parsed at all (a malformed CSV or JSON line): lines lost.
    unreadable: int = 0
    #: The first few rejects of each field: ``row N: reason | raw record``.
    examples: dict[str, list[str]] = field(default_factory=dict)

    def describe(self) -> str:
        """One line: ``1,000 rows: 997 good, 2 rejected (text: 1, id: 1), 1 skipped (blank
        line: 1)``; rows read = good + rejected + skipped."""
        text = f"{self.rows:,} rows: {self.good:,} good, {self.rejected:,} rejected"
        if self.reasons:
            text += " (" + ", ".join(f"{k}: {v:,}" for k, v in self.reasons.most_common()) + ")"
        if self.skipped:
            skipped = ", ".join(f"{k}: {v:,}" for k, v in self.skipped.most_common())
            text += f", {self.skipped.total():,} skipped ({skipped})"
        if self.truncated:
            text += f"; {self.truncated:,} texts truncated"
        for flag, count in self.flags.most_common():
            text += f"; {count:,} {flag}"
        return text

    def explain(self, fields: int = 5) -> list[str]:
        """The most common reject fields, each with its count and first examples."""
        lines = []
        for name, count in self.reasons.most_common(fields):
            lines.append(f"{name}: {count:,} rejected, e.g.")
            lines.extend(f"  {example}" for example in self.examples.get(name, []))
        return lines

    def add_lines(self, lines: int, skipped: Mapping[str, int]) -> None:
        """Count ``lines`` read and the records ``skipped`` on purpose (part of ``rows``)."""
        self.lines += lines
        self.skipped.update(skipped)
        self.rows += sum(skipped.values())

    def _add_examples(self, rejected: pd.DataFrame) -> None:
        for row, fields, reason, raw in rejected[REJECT_COLUMNS].itertuples(index=False):
            for name in str(fields).split(","):
                shown = self.examples.setdefault(name, [])
                if len(shown) < _EXAMPLES:
                    shown.append(f"row {row}: {reason} | {_shorten(str(raw))}")


#: A row rule of a task: parsed chunk -> ``(field, bad rows mask, reason or reasons)`` triples.
RowCheck = Callable[[pd.DataFrame], Iterable[tuple[str, np.ndarray, pd.Series | str]]]


class Validator:
    """Validate chunks of one file against ``schema``.

    Parameters
    ----------
    schema : Schema
        :data:`~cxml.contracts.fields.COMMENTS` or :data:`~cxml.contracts.fields.TICKETS`.
    source : str
        The file name, used in every message.
    columns : mapping of str to str, default=None
        Schema field -> column of the file.
    require : iterable of str, default=()
        Fields the task needs on every row, on top of the schema's required fields (e.g. a label
        for training).
    max_text_chars : int, default=20_000
        Longer texts are cut to this length (counted in the summary; the row is kept).
    dayfirst : bool, default=None
        Read day/month dates such as ``01/08/2023`` day first (True) or month first (False);
        None: a file whose dates are ambiguous is a :class:`DataError` that asks for it (see
        :mod:`cxml.contracts.times`).
    as_of : pandas.Timestamp, default=None
        The scoring moment: a ``created_at`` after it (or after the row's own ``as_of``) is
        flagged in the summary.

    Attributes
    ----------
    summary : ReadSummary
        The counts so far; ``flags`` counts kept rows whose times are out of order (a reply or
        solve before creation, a creation after the scoring moment).
    checks : list of callable
        Further rules of a task (empty at first): each takes the parsed chunk and returns
        ``(field, bad rows mask, reason or reasons)`` triples; those rows are rejected like any
        other (e.g. ticket ids a helpdesk cannot have, :func:`cxml.connectors.flags.id_check`).
    """

    def __init__(
        self,
        schema: Schema,
        *,
        source: str,
        columns: Mapping[str, str] | None = None,
        require: Iterable[str] = (),
        max_text_chars: int = 20_000,
        dayfirst: bool | None = None,
        as_of: pd.Timestamp | None = None,
    ) -> None:
        self.schema = schema
        self.source = source
        self.columns = dict(columns or {})
        self.require = {f.name for f in schema.fields if f.required} | set(require)
        self.max_text_chars = max_text_chars
        self.as_of = as_of
        self.checks: list[RowCheck] = []
        self.summary = ReadSummary(source=source)
        self._dates = DateColumns(source, dayfirst)
        self._first_row_of_id: dict[str, int] = {}
        self._checked = False
        unknown = [k for k in self.columns if k not in schema.names]
        if unknown:
            raise ConfigError(
                f"data.columns maps unknown field(s) {unknown}; {schema.name} fields are "
                f"{', '.join(schema.names)}"
            )

    def _check_columns(self, frame: pd.DataFrame) -> None:
        present = set(frame.columns)
        for name, column in self.columns.items():
            if column not in present:
                raise DataError(
                    f"{self.source}: data.columns maps {name!r} to the column {column!r}, which "
                    f"the file does not have. Columns in the file: {_listing(present)}"
                )
            if name in present and name != column:
                raise DataError(
                    f"{self.source}: {name!r} is mapped to {column!r} but the file also has a "
                    f"column named {name!r}; rename one of them or map {name!r} to it"
                )
        missing = sorted(n for n in self.require if self.columns.get(n, n) not in present)
        if missing:
            hints = ", ".join(f"data.columns.{n}=<column>" for n in missing)
            raise DataError(
                f"{self.source}: no column for required field(s) {missing}; map them with "
                f"{hints}. Columns in the file: {_listing(present)}"
            )
        self._checked = True

    def validate(
        self, frame: pd.DataFrame, rejects: Iterable[dict[str, Any]] = ()
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Return ``(good, rejected)`` for one chunk.

        ``good`` has the schema fields parsed (``_row`` first, then the fields present, then the
        other columns untouched); ``rejected`` has :data:`REJECT_COLUMNS`: the row number, the
        field(s), the reason(s) and the original record as JSON (or the raw line where it could not
        be parsed). ``rejects`` are the reader's records of lines it could not parse.
        """
        if not self._checked and len(frame):
            self._check_columns(frame)
        parse_rejects = list(rejects)
        raw = frame
        rename = {col: name for name, col in self.columns.items()}
        frame = frame.rename(columns=rename)
        for name in self.require:
            if name not in frame:
                frame[name] = np.nan
        n = len(frame)
        problems: list[tuple[str, np.ndarray, pd.Series | str]] = []
        out = frame.copy()
        for spec in self.schema.fields:
            if spec.name not in frame:
                if spec.kind == "id":
                    out[spec.name] = "row-" + frame[ROW].astype(str)
                continue
            values, bad, reason = self._parse(spec, frame[spec.name], frame[ROW])
            out[spec.name] = values
            if spec.name in self.require:
                missing = _is_missing(values) & ~bad
                if missing.any():
                    empty = "empty text" if spec.name == "text" else "missing value"
                    problems.append((spec.name, missing, empty))
            if bad.any():
                problems.append((spec.name, bad, reason))
        for check in self.checks:
            problems.extend(check(out))
        if "lang" in self.schema.names and "lang" not in frame and "text" in frame:
            out["lang"] = detect_lang(out["text"])  # of the cleaned texts
            self.summary.lang_detected += n
        if "lang" in frame and "text" in out:
            unknown = _is_missing(out["lang"]) & ~_is_missing(out["text"])
            if unknown.any():
                out["lang"] = out["lang"].astype(object)  # an all-empty column reads as float
                out.loc[unknown, "lang"] = detect_lang(out.loc[unknown, "text"])
                self.summary.lang_detected += int(unknown.sum())
        id_field = self.schema.id_field
        bad_any = np.zeros(n, dtype=bool)
        for _, mask, _ in problems:
            bad_any |= mask
        dup_mask, dup_reason = self._duplicates(out[id_field], out[ROW], ~bad_any)
        if dup_mask.any():
            problems.append((id_field, dup_mask, dup_reason))
            bad_any |= dup_mask
        rejected = self._rejects(raw, problems, bad_any, parse_rejects)
        self.summary.flags.update(time_flags(out.loc[~bad_any], self.as_of))
        good = out.loc[~bad_any]
        fields = [f for f in self.schema.names if f in good]
        rest = [c for c in good.columns if c not in fields and c != ROW]
        good = good[[ROW, *fields, *rest]].reset_index(drop=True)
        self.summary.rows += n + len(parse_rejects)
        self.summary.good += len(good)
        self.summary.rejected += len(rejected)
        self.summary.unreadable += len(parse_rejects)
        self.summary._add_examples(rejected)
        return good, rejected

    def _parse(
        self, spec: FieldSpec, values: pd.Series, rows: pd.Series
    ) -> tuple[pd.Series, np.ndarray, Any]:
        if spec.kind == "datetime":
            times = self._dates.parse(spec.name, values, rows)
            return times.values, times.bad, pd.Series(times.reasons)
        parse = _PARSERS[spec.kind]
        if spec.kind == "text":
            parsed, bad, reason = parse(spec, values)
            if spec.name != "text":
                return parsed, bad, reason
            too_long = parsed.str.len().fillna(0).to_numpy() > self.max_text_chars
            if too_long.any():
                parsed = parsed.where(~too_long, parsed.str.slice(0, self.max_text_chars))
                self.summary.truncated += int(too_long.sum())
            return parsed, bad, reason
        if spec.name == "lang":
            parsed, bad, reason = _parse_lang(values)
            return parsed, bad, reason
        return parse(spec, values)

    def _duplicates(
        self, ids: pd.Series, rows: pd.Series, candidates: np.ndarray
    ) -> tuple[np.ndarray, pd.Series]:
        """Mark every occurrence of an id after its first (earlier chunks included)."""
        dup = np.zeros(len(ids), dtype=bool)
        first_rows: list[int] = []
        seen = self._first_row_of_id
        for i, (key, row, ok) in enumerate(
            zip(ids.tolist(), rows.tolist(), candidates, strict=True)
        ):
            if not ok or is_missing(key):
                first_rows.append(0)
                continue
            first = seen.setdefault(str(key), int(row))
            if first != row:
                dup[i] = True
            first_rows.append(first)
        reason = pd.Series([f"duplicate id, first seen on row {r}" for r in first_rows])
        return dup, reason

    def _rejects(
        self,
        raw: pd.DataFrame,
        problems: list[tuple[str, np.ndarray, pd.Series | str]],
        bad_any: np.ndarray,
        parse_rejects: list[dict[str, Any]],
    ) -> pd.DataFrame:
        fields: list[list[str]] = [[] for _ in range(len(raw))]
        reasons: list[list[str]] = [[] for _ in range(len(raw))]
        for name, mask, reason in problems:
            for i in np.flatnonzero(mask):
                fields[i].append(name)
                text = reason if isinstance(reason, str) else str(reason.iloc[i])
                reasons[i].append(f"{name}: {text}")
        idx = np.flatnonzero(bad_any)
        for i in idx:
            for name in dict.fromkeys(fields[i]):
                self.summary.reasons[name] += 1
        for rec in parse_rejects:
            self.summary.reasons[rec["_field"]] += 1
        records = raw.drop(columns=[ROW]).iloc[idx].to_dict(orient="records")
        rejected = pd.DataFrame(
            {
                ROW: raw[ROW].to_numpy()[idx],
                "_field": [",".join(dict.fromkeys(fields[i])) for i in idx],
                "_reason": ["; ".join(reasons[i]) for i in idx],
                "_raw": [_json_record(r) for r in records],
            },
            columns=REJECT_COLUMNS,
        )
        if parse_rejects:
            rejected = pd.concat([pd.DataFrame(parse_rejects), rejected], ignore_index=True)
            rejected = rejected.sort_values(ROW, kind="stable")
        return rejected[REJECT_COLUMNS].reset_index(drop=True)


def _json_record(record: Mapping[Any, Any]) -> str:
    clean = {k: v for k, v in record.items() if not is_missing(v)}
    return json.dumps(clean, ensure_ascii=False, default=str)


def _shorten(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _listing(columns: Iterable[str]) -> str:
    names = sorted(c for c in columns if c != ROW)
    return ", ".join(repr(c) for c in names[:30]) + (" ..." if len(names) > 30 else "")


def _is_missing(values: pd.Series) -> np.ndarray:
    return np.fromiter((is_missing(v) for v in values), dtype=bool, count=len(values))


def _as_text(values: pd.Series) -> pd.Series:
    """Values as text, missing as NaN; objects, as pandas' string columns cannot hold every
    text (a lone surrogate)."""
    text = [np.nan if is_missing(v) else str(v) for v in values]
    return pd.Series(text, index=values.index, dtype=object)


def _parse_text(spec: FieldSpec, values: pd.Series) -> tuple[pd.Series, np.ndarray, str]:
    """Texts cleaned by :func:`~cxml.text.normalize.clean_text`; one empty once cleaned is a
    missing one (NaN): where the task requires the field, that is an "empty text" reject."""
    text = _as_text(values)
    cleaned = [np.nan if is_missing(v) else clean_text(v) for v in text]
    out = pd.Series(cleaned, index=text.index, dtype=object)
    return out.where(out.notna(), np.nan), np.zeros(len(values), dtype=bool), ""


def _parse_id(spec: FieldSpec, values: pd.Series) -> tuple[pd.Series, np.ndarray, str]:
    text = _as_text(values)
    text = text.where(_is_missing(text), text.str.strip())
    blank = (text == "").to_numpy()
    return text.where(~blank, np.nan), np.zeros(len(values), dtype=bool), ""


def _parse_category(spec: FieldSpec, values: pd.Series) -> tuple[pd.Series, np.ndarray, pd.Series]:
    text = _as_text(values)
    missing = _is_missing(text)
    text = text.where(missing, text.str.strip().str.lower())
    allowed = set(spec.choices or ())
    bad = ~missing & ~text.isin(allowed).to_numpy() if allowed else np.zeros(len(text), bool)
    reason = text.map(lambda v: f"{v!r} is not one of {', '.join(spec.choices or ())}")
    return text, bad, reason


def _parse_lang(values: pd.Series) -> tuple[pd.Series, np.ndarray, pd.Series]:
    text = _as_text(values)
    missing = _is_missing(text)
    codes = text.map(lambda v: lang_code(v) if isinstance(v, str) else None)
    bad = ~missing & codes.isna().to_numpy()
    reason = text.map(lambda v: f"unknown language {v!r} (expected an ISO 639-1 code, e.g. en, de)")
    return codes.where(~missing, text), bad, reason


def _parse_number(spec: FieldSpec, values: pd.Series) -> tuple[pd.Series, np.ndarray, pd.Series]:
    missing = _is_missing(values)
    numbers = pd.to_numeric(values.astype(object).where(~missing, None), errors="coerce")
    not_number = ~missing & numbers.isna().to_numpy()
    bad = not_number.copy()
    reasons = pd.Series(np.where(not_number, "not a number", ""), dtype=object)
    if spec.kind == "int":
        fractional = ~numbers.isna().to_numpy() & (numbers.fillna(0) % 1 != 0).to_numpy()
        reasons[fractional] = "not a whole number"
        bad |= fractional
    if spec.bounds is not None:
        lo, hi = spec.bounds
        out = ~numbers.isna().to_numpy() & ((numbers < lo) | (numbers > hi)).to_numpy()
        reasons[out & ~bad] = f"outside {lo:g}..{hi:g}"
        bad |= out
    kept = numbers.where(~bad)
    values_out = kept.round().astype("Int64") if spec.kind == "int" else kept.astype(float)
    reasons = reasons.where(
        ~bad, [f"{r} (got {v!r})" for r, v in zip(reasons, values, strict=True)]
    )
    return values_out, bad, reasons


def _parse_labels(spec: FieldSpec, values: pd.Series) -> tuple[pd.Series, np.ndarray, pd.Series]:
    return _parse_each(values, parse_labels)


def _parse_label_map(spec: FieldSpec, values: pd.Series) -> tuple[pd.Series, np.ndarray, pd.Series]:
    return _parse_each(values, lambda value: parse_label_map(value, spec.choices))


def _parse_each(
    values: pd.Series, parse: Callable[[Any], tuple[Any, str]]
) -> tuple[pd.Series, np.ndarray, pd.Series]:
    """``parse`` each value: parsed values (None where rejected), the rejected mask, reasons."""
    parsed: list[Any] = []
    reasons: list[str] = []
    for value in values.tolist():
        result, problem = parse(value)
        parsed.append(None if problem else result)
        reasons.append(problem)
    bad = np.array([bool(r) for r in reasons], dtype=bool)
    return pd.Series(parsed, index=values.index, dtype=object), bad, pd.Series(reasons)


def _parse_rating(spec: FieldSpec, values: pd.Series) -> tuple[pd.Series, np.ndarray, pd.Series]:
    return parse_ratings(values)


_PARSERS: dict[str, Any] = {
    "id": _parse_id,
    "text": _parse_text,
    "category": _parse_category,
    "int": _parse_number,
    "float": _parse_number,
    "labels": _parse_labels,
    "label_map": _parse_label_map,
    "rating": _parse_rating,
}
