"""Qualtrics survey responses (CSV / TSV with three header rows) and the generic survey shape.

A Qualtrics export has three header rows: the column names (``Q1``, ``Q4_TEXT``,
``RecordedDate``), the question texts, and the Import IDs as JSON (``{"ImportId":"QID4_TEXT"}``,
``{"ImportId":"recordedDate","timeZone":"America/Denver"}``). A generic survey file has the
first row only. ``--field FIELD=SOURCE`` picks each comment field by column name, Import ID
(``QID4``; a text entry question's answer is ``QID4_TEXT``) or question text (the whole text, or
its start ending in ``...``):

==============  =============================================================================
cxml            source (default)
==============  =============================================================================
id              ``id`` (Qualtrics: ``ResponseId``); without one, the validator numbers rows
text            ``text`` (Qualtrics: the only text entry answer, if there is just one)
rating          ``rating``; else the ``nps`` or ``csat`` answer when one of them is named;
                ``--field rating=nps`` / ``rating=csat`` when both are
nps             ``nps``: 0-10, numbers or choice text (``10 - Extremely likely``)
csat            ``csat``: 1-5, numbers or choice text (``Very satisfied`` -> 5 ...
                ``Very dissatisfied`` -> 1)
created_at      ``created_at`` (Qualtrics: ``RecordedDate``, else ``EndDate``)
customer_id     ``customer_id``
lang            ``lang`` (Qualtrics: ``UserLanguage`` such as ``EN``, ``PT-BR``: ISO 639-1)
==============  =============================================================================

Times without an offset are in the zone their Import ID names, else in ``--field
time_zone=Area/City``, else UTC (counted in the notes). Qualtrics numbers a question's choices
from the top, and its CSAT question lists "Extremely satisfied" first, so numeric CSAT answers
of a three-row export need ``--field csat_order=best-first`` (1 is the best answer) or
``worst-first`` (1 is the worst); a generic file's numbers are read worst-first, as cxml's 1-5.
A response of a survey preview, test or spam (``Status``) is dropped and counted; ``-99`` (seen,
not answered) is no answer. A row without answer text is rejected (the comment table needs one),
saying whether it had a score.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from itertools import chain
from pathlib import Path
from typing import Any

import pandas as pd

from cxml.connectors.result import Collector, ImportResult, RecordError
from cxml.connectors.tables import Row, read_rows
from cxml.connectors.values import has_offset, text, time_zone, utc_iso
from cxml.contracts.languages import lang_code
from cxml.errors import BadInputError

__all__ = ["CSAT_LABELS", "read_export"]

VENDOR = "qualtrics"
#: CSAT choice texts (Qualtrics' library wording and the usual variants) on the 1-5 scale.
CSAT_LABELS = {
    "extremely satisfied": 5,
    "very satisfied": 5,
    "somewhat satisfied": 4,
    "moderately satisfied": 4,
    "satisfied": 4,
    "neither satisfied nor dissatisfied": 3,
    "neutral": 3,
    "somewhat dissatisfied": 2,
    "moderately dissatisfied": 2,
    "dissatisfied": 2,
    "very dissatisfied": 1,
    "extremely dissatisfied": 1,
}
_SCALES = {"nps": (0, 10), "csat": (1, 5), "rating": (0, 10)}
_ANSWERS = ("id", "text", "rating", "nps", "csat", "created_at", "customer_id", "lang")
_OPTIONS = ("time_zone", "csat_order")
_ORDERS = ("best-first", "worst-first")
#: Qualtrics' defaults for fields not named (by Import ID, then by column name).
_DEFAULTS = {
    "id": ("_recordId", "ResponseId"),
    "created_at": ("recordedDate", "RecordedDate", "endDate", "EndDate"),
    "lang": ("userLanguage", "UserLanguage"),
}
#: ``Status`` values of responses that are not answers (text export, then numeric codes).
_NOT_ANSWERS = re.compile(r"preview|test|spam|^(?:1|2|8|9|12|17)$", re.IGNORECASE)
_LEADING_NUMBER = re.compile(r"(\d{1,2})(?:\.0+)?(?:\s*[-–—:=)]\s*\D.*|\s+\D.*)?", re.DOTALL)
_NUMBER = re.compile(r"\d{1,2}(?:\.0+)?")
#: Qualtrics' code for a question seen but not answered (an export option).
_UNANSWERED = "-99"
_UTC_NOTE = "times without an offset read as UTC (name their zone with --field time_zone)"


@dataclass
class _Column:
    """One column: its name, and in a Qualtrics export its question text, Import ID and zone."""

    name: str
    question: str = ""
    import_id: str = ""
    zone: tzinfo | None = None


@dataclass
class _Plan:
    """Which column each answer field is read from, and how."""

    columns: dict[str, _Column] = field(default_factory=dict)
    zone: tzinfo | None = None
    #: Numeric CSAT answers: "best-first" (1 = best, reversed), "worst-first", or "" (unknown).
    order: str = ""
    status: str | None = None
    #: The answer the rating is: "rating" (its own column), "nps", "csat", or "" (none).
    rating_from: str = ""


def read_export(
    paths: list[Path], *, related: list[Path], fields: dict[str, str], encoding: str | None
) -> ImportResult:
    """Read survey responses into the comment table.

    Parameters
    ----------
    paths : list of Path
        Qualtrics CSV / TSV exports (three header rows) or survey files with one header row.
    related : list of Path
        Not used (a ``BadInputError`` when given).
    fields : dict of str to str
        Answer fields (``text``, ``rating``, ``nps``, ``csat``, ``id``, ``created_at``,
        ``customer_id``, ``lang``) -> a column name, Import ID or question text; ``time_zone``
        (IANA name) and ``csat_order`` (``best-first`` / ``worst-first``).
    encoding : str or None
        Text encoding (detected when None: UTF-8, UTF-16 as Qualtrics' TSV, CP1252...).
    """
    if related:
        raise BadInputError(f"{VENDOR}: --with is not used; name answers with --field")
    unknown = sorted(set(fields) - set(_ANSWERS) - set(_OPTIONS))
    if unknown:
        raise BadInputError(
            f"{VENDOR}: --field {', '.join(unknown)} is not read from a survey; expected "
            f"{', '.join(_ANSWERS + _OPTIONS)}"
        )
    order = fields.get("csat_order", "")
    if order and order not in _ORDERS:
        raise BadInputError(
            f"--field csat_order: expected best-first or worst-first, got {order!r}"
        )
    zone = time_zone(fields["time_zone"]) if "time_zone" in fields else None
    collector = Collector(VENDOR, "comments", list(paths))
    for path in paths:
        names, rows = read_rows(path, encoding)
        plan, rows = _plan(path, names, rows, fields, zone, order)
        for row in rows:
            collector.read()
            if row.error:
                collector.reject(row.where, "(record)", row.error, row.raw)
                continue
            if plan.status and _NOT_ANSWERS.search(row.cells.get(plan.status, "")):
                collector.note("survey previews, tests and spam dropped")
                collector.delete((row.where.file, row.where.line))
                continue
            try:
                key, version, answer, notes = _answer(row, plan)
            except RecordError as exc:
                collector.reject(row.where, exc.field, exc.reason, row.cells)
                continue
            collector.add(key, version, answer, notes)
    return collector.result()


def _plan(
    path: Path,
    names: list[str],
    rows: Iterator[Row],
    fields: Mapping[str, str],
    zone: tzinfo | None,
    order: str,
) -> tuple[_Plan, Iterator[Row]]:
    """Read the Qualtrics header rows if the file has them; pick each field's column."""
    head = [next(rows, None), next(rows, None)]
    columns = {name: _Column(name) for name in names}
    ids = _import_ids(head[1]) if head[0] and not head[0].error else None
    qualtrics = ids is not None
    if ids is not None and head[0] is not None:
        for name, column in columns.items():
            column.question = " ".join(head[0].cells.get(name, "").split())
            column.import_id, column.zone = ids.get(name, ("", None))
    else:
        rows = chain([row for row in head if row is not None], rows)
    plan = _Plan(zone=zone, order=order or ("" if qualtrics else "worst-first"))
    wanted = {k: v for k, v in fields.items() if k in _ANSWERS}
    for target in _ANSWERS:
        source = wanted.get(target)
        if target == "rating" and source in {"nps", "csat"}:
            continue  # read from that answer
        if source is not None:
            plan.columns[target] = _find(path, list(columns.values()), source, target)
            continue
        found = _default(list(columns.values()), target, qualtrics)
        if found is not None:
            plan.columns[target] = found
    if "text" not in plan.columns:
        raise BadInputError(f"{path}: {_text_hint(list(columns.values()))}")
    named = [k for k in ("nps", "csat") if k in plan.columns]
    if "rating" in plan.columns:
        plan.rating_from = "rating"
    elif wanted.get("rating") in {"nps", "csat"}:
        plan.rating_from = wanted["rating"]
        if plan.rating_from not in plan.columns:
            raise BadInputError(
                f"{path}: --field rating={plan.rating_from} needs --field {plan.rating_from}=QID.."
            )
    elif len(named) > 1:
        raise BadInputError(
            f"{path}: both nps and csat are named; say which is the rating: "
            "--field rating=nps or --field rating=csat"
        )
    elif named:
        plan.rating_from = named[0]
    status = next((c for c in columns.values() if c.import_id == "status"), None)
    plan.status = status.name if status else None
    return plan, rows


def _import_ids(row: Row | None) -> dict[str, tuple[str, tzinfo | None]] | None:
    """The third header row as ``{column: (Import ID, time zone)}``; None if it is not one."""
    if row is None or row.error or not row.cells:
        return None
    ids: dict[str, tuple[str, tzinfo | None]] = {}
    for name, cell in row.cells.items():
        try:
            value = json.loads(cell)
        except json.JSONDecodeError:
            return None
        if not isinstance(value, dict) or not isinstance(value.get("ImportId"), str):
            return None
        zone = value.get("timeZone")
        where = f"{row.where}, the Import ID of {name}"
        ids[name] = (value["ImportId"], time_zone(zone, where) if isinstance(zone, str) else None)
    return ids


def _find(path: Path, columns: list[_Column], source: str, target: str) -> _Column:
    """The column ``source`` names: a column name, an Import ID or a question's text."""
    wanted = " ".join(source.casefold().split())
    tests = [
        lambda c: c.name == source,
        lambda c: c.import_id.casefold() == wanted,
        lambda c: target == "text" and c.import_id.casefold() == wanted + "_text",
        lambda c: c.name.casefold() == wanted,
        lambda c: c.question.casefold() == wanted,
    ]
    stem = re.sub(r"(?:\.\.\.|…)$", "", wanted).strip()
    if stem != wanted:
        tests.append(lambda c: bool(stem) and c.question.casefold().startswith(stem))
    for test in tests:
        hits = [c for c in columns if test(c)]
        # a question's own column, not its parts ("... - Group", "... - Other - Text")
        hits = [h for h in hits if all(o.question.startswith(h.question) for o in hits)] or hits
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            listed = "; ".join(f"{c.name} ({c.question or c.import_id})" for c in hits[:5])
            raise BadInputError(
                f"{path}: --field {target}={source!r} matches several columns: {listed}"
            )
    listed = ", ".join(c.name + (f" ({c.import_id})" if c.import_id else "") for c in columns[:30])
    raise BadInputError(
        f"{path}: --field {target}={source!r} names no column, Import ID or question; "
        f"columns: {listed or '(none)'}"
    )


def _default(columns: list[_Column], target: str, qualtrics: bool) -> _Column | None:
    """The column a field is read from when ``--field`` does not name one."""
    by_name = {c.name: c for c in columns}
    if not qualtrics:
        return by_name.get(target)
    by_id = {c.import_id: c for c in columns if c.import_id}
    for source in _DEFAULTS.get(target, ()):
        if source in by_id or source in by_name:
            return by_id.get(source) or by_name[source]
    if target == "text":
        answers = [c for c in columns if c.import_id.upper().endswith("_TEXT")]
        return answers[0] if len(answers) == 1 else None
    return None


def _text_hint(columns: list[_Column]) -> str:
    answers = [c for c in columns if c.import_id.upper().endswith("_TEXT")]
    if answers:
        listed = "; ".join(f"{c.import_id} ({c.question[:60]})" for c in answers[:10])
        return f"name the answer text with --field text=QID..; text answers here: {listed}"
    return "name the answer text with --field text=COLUMN (the comment table needs one)"


def _answer(row: Row, plan: _Plan) -> tuple[Any, pd.Timestamp | None, dict[str, Any], list[str]]:
    """``(key, created_at, row, notes)`` of one response."""

    def cell(target: str) -> str | None:
        column = plan.columns.get(target)
        value = None if column is None else row.cells.get(column.name)
        return None if value is None or value.strip() == _UNANSWERED else value

    answer: dict[str, Any] = {
        target: _score(cell(target), target, plan, row)
        for target in ("nps", "csat", "rating")
        if target in plan.columns
    }
    if plan.rating_from:
        answer["rating"] = answer[plan.rating_from]
    answer["text"] = text(cell("text"), "text")
    if answer["text"] is None:
        scored = [f"{k} {v}" for k, v in answer.items() if v is not None]
        raise RecordError(
            "text",
            f"no answer text (the comment table needs one; the response gave {scored[0]})"
            if scored
            else "no answer: neither text nor a score",
        )
    for target in ("id", "customer_id"):
        if target in plan.columns:
            answer[target] = text(cell(target), target)
    if "lang" in plan.columns:
        answer["lang"] = lang_code(cell("lang") or "")
    notes: list[str] = []
    raw = cell("created_at")
    if raw is not None:
        zone = plan.columns["created_at"].zone or plan.zone
        answer["created_at"] = utc_iso(raw, "created_at", zone)
        if zone is None and not has_offset(raw):
            notes.append(_UTC_NOTE)
    key = answer.get("id") or (row.where.file, row.where.line)
    version = pd.Timestamp(answer["created_at"]) if answer.get("created_at") else None
    return key, version, answer, notes


def _score(value: str | None, target: str, plan: _Plan, row: Row) -> int | None:
    """An NPS (0-10), CSAT (1-5) or rating (0-10) answer: a number or a choice's text."""
    if value is None or not value.strip():
        return None
    low, high = _SCALES[target]
    label = " ".join(value.casefold().split())
    if label in CSAT_LABELS and target != "nps":
        return CSAT_LABELS[label]
    match = _LEADING_NUMBER.fullmatch(label)
    if match is None:
        raise RecordError(target, f"{value!r} is not a {target} answer ({low}-{high})")
    number = int(match[1])
    if not low <= number <= high:
        raise RecordError(target, f"{number} is outside the {target} scale {low}-{high}")
    if target == "csat" and _NUMBER.fullmatch(label):  # a recode value
        if not plan.order:
            raise BadInputError(
                f"{row.where}: csat answers are numbers ({value!r}), and Qualtrics numbers "
                "choices from the top (its CSAT question lists Extremely satisfied first); "
                "say which end 1 is: --field csat_order=best-first or worst-first"
            )
        if plan.order == "best-first":
            number = high + low - number
    return number
