"""Freshdesk tickets: API JSON (List Tickets with ``include=stats``) and the CSV ticket export.

API tickets (``GET /api/v2/tickets?include=stats``: a JSON array per page, or JSON Lines):

==================  ==========================================================================
cxml                Freshdesk
==================  ==========================================================================
ticket_id           ``id``
created_at          ``created_at``
first_response_at   ``stats.first_responded_at``
solved_at           ``stats.resolved_at``, else ``stats.closed_at`` (none while open / pending)
channel             ``source``: 1 email, 2 portal, 3 phone, 7 chat, 9 feedback_widget,
                    10 outbound_email
category            ``type`` (or ``--field category=cf_<name>``)
priority            ``priority``: 1 low, 2 normal (Freshdesk's Medium), 3 high, 4 urgent
reopens             1 when ``stats.reopened_at`` is set, else 0 (Freshdesk keeps the last
                    reopening only: "at least once")
text                ``description_text``, else ``description`` (HTML) as text
rating              ``ratings.default_question`` of the satisfaction rating (``--with``):
                    103 -> 5, 102 / 101 -> 4, 100 -> 3, -101 / -102 -> 2, -103 -> 1
survey_comment      the rating's ``feedback``;  rated_at: its ``updated_at``
==================  ==========================================================================

Passed through: ``status`` (2 open, 3 pending, 4 resolved, 5 closed), ``group`` (``group_id``),
``type``, ``tags`` (``a;b``), ``subject``, ``updated_at``, ``reopened_at`` and
``custom_field_<name>`` for each ``cf_<name>``. A ticket read again keeps its latest
``updated_at``; ``deleted`` or ``spam`` tickets are dropped and counted.

The CSV export (Tickets > Export) names its columns ``Ticket ID``, ``Subject``,
``Description``, ``Status``, ``Priority``, ``Source``, ``Type``, ``Group``, ``Created time``,
``Resolved time``, ``Closed time``, ``Last update time``, ``Initial response time`` (the first
response's time), ``Agent interactions`` (-> replies), ``Tags`` (comma separated) and ``Survey
results`` (the last rating's label); values are names or codes. Its times are in the exporting
agent's time zone without an offset: ``--field time_zone=Area/City`` says which.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

import pandas as pd

from cxml.connectors.pages import read_pages
from cxml.connectors.result import Collector, ImportResult, RecordError, Where
from cxml.connectors.tables import Row, read_rows
from cxml.connectors.values import (
    count,
    has_offset,
    html_text,
    is_missing,
    plain,
    snake,
    tag_text,
    text,
    time_zone,
    utc_iso,
)
from cxml.errors import BadInputError

__all__ = ["PRIORITIES", "RATINGS", "SOURCES", "STATUSES", "read_export"]

VENDOR = "freshdesk"
#: ``status`` codes; custom statuses (6 and up) pass through as their number.
STATUSES = {2: "open", 3: "pending", 4: "resolved", 5: "closed"}
#: ``priority`` codes, named as cxml names priorities (Freshdesk's Medium is normal).
PRIORITIES = {1: "low", 2: "normal", 3: "high", 4: "urgent"}
#: ``source`` codes (channels).
SOURCES = {
    1: "email",
    2: "portal",
    3: "phone",
    7: "chat",
    9: "feedback_widget",
    10: "outbound_email",
}
#: Satisfaction answers (``ratings.default_question``) on cxml's 1-5 scale. A survey of 2, 3 or 5
#: points uses 103 / 100 / -103 and 102 / -102; the 7-point scale adds 101 and -101.
RATINGS = {103: 5, 102: 4, 101: 4, 100: 3, -101: 2, -102: 2, -103: 1}
#: The CSV export's rating labels (``Survey results``): the codes' names; a classic survey's
#: Happy / Unhappy read like the 7-point scale's.
RATING_LABELS = {
    "extremely happy": 103,
    "very happy": 102,
    "happy": 101,
    "neutral": 100,
    "unhappy": -101,
    "very unhappy": -102,
    "extremely unhappy": -103,
}
_FIELDS = ("category", "customer_tier", "time_zone")
_CSV = {".csv", ".tsv", ".txt"}
_OPEN = {"open", "pending"}
_NO_STATS = "tickets without stats (list them with include=stats): first response, solving unknown"
#: CSV columns (matched without case) read into the table, and the column each becomes.
_CSV_PASS = {
    "subject": "subject",
    "type": "type",
    "group": "group",
    "product": "product",
    "customer interactions": "customer_interactions",
    "resolution status": "resolution_status",
    "first response status": "first_response_status",
}


@dataclass
class _Rating:
    """One satisfaction rating, or why it cannot be used."""

    where: Where
    version: Any
    rating: int | None = None
    comment: str | None = None
    rated_at: str | None = None
    error: str = ""


def read_export(
    paths: list[Path], *, related: list[Path], fields: dict[str, str], encoding: str | None
) -> ImportResult:
    """Read Freshdesk ticket pages or CSV exports, joined with satisfaction ratings.

    Parameters
    ----------
    paths : list of Path
        API ticket pages (JSON array, page object or JSON Lines) or CSV exports (``.csv``).
    related : list of Path
        Satisfaction ratings (``GET /api/v2/surveys/satisfaction_ratings`` pages).
    fields : dict of str to str
        ``category`` / ``customer_tier``: a custom field (``cf_product``) or CSV column;
        ``time_zone``: the CSV export's time zone (an IANA name).
    encoding : str or None
        Text encoding (detected when None).
    """
    unknown = sorted(set(fields) - set(_FIELDS))
    if unknown:
        raise BadInputError(
            f"{VENDOR}: --field {', '.join(unknown)} is not read from this export; "
            f"expected {', '.join(_FIELDS)}"
        )
    zone = time_zone(fields["time_zone"]) if "time_zone" in fields else None
    collector = Collector(VENDOR, "tickets", [*paths, *related])
    ratings = _read_ratings(related, encoding, collector)
    rated: set[str] = set()
    for path in paths:
        if path.suffix.lower() in _CSV:
            _read_csv(path, encoding, fields, zone, ratings, rated, collector)
        else:
            _read_api(path, encoding, fields, ratings, rated, collector)
    unused = len(set(ratings) - rated)
    if unused:
        collector.note("satisfaction ratings of tickets not in the export", unused)
    return collector.result()


def _read_api(
    path: Path,
    encoding: str | None,
    fields: Mapping[str, str],
    ratings: Mapping[str, _Rating],
    rated: set[str],
    collector: Collector,
) -> None:
    for page in read_pages(path, ["tickets", "results"], encoding):
        for number, record in enumerate(page.records):
            where = Where(page.where.file, page.where.line, number)
            collector.read()
            if page.error:
                collector.reject(where, "(record)", page.error, record)
                continue
            try:
                key, version, row, dropped = _api_row(record, fields)
                if dropped:
                    collector.note(f"{dropped} tickets dropped")
                    collector.delete(key, version)
                    continue
                _rate(row, key, ratings, rated)
            except RecordError as exc:
                collector.reject(where, exc.field, exc.reason, record)
                continue
            notes = () if "reopens" in row else (_NO_STATS,)
            collector.add(key, version, row, notes)


def _api_row(
    ticket: Any, fields: Mapping[str, str]
) -> tuple[str, pd.Timestamp | None, dict[str, Any], str]:
    """``(id, updated_at, row, "deleted" / "spam" / "")`` of one API ticket."""
    if not isinstance(ticket, dict):
        raise RecordError("(record)", f"expected a ticket object, got {type(ticket).__name__}")
    key = _ticket_id(ticket.get("id"))
    updated = utc_iso(ticket.get("updated_at"), "updated_at")
    version = pd.Timestamp(updated) if updated else None
    dropped = "deleted" if ticket.get("deleted") is True else ""
    dropped = dropped or ("spam" if ticket.get("spam") is True else "")
    stats = ticket.get("stats")
    if stats is not None and not isinstance(stats, dict):
        raise RecordError("stats", f"expected an object, got {type(stats).__name__}")
    status = _coded(ticket.get("status"), STATUSES, "status", strict=False)
    description = ticket.get("description_text")
    if is_missing(description) and isinstance(ticket.get("description"), str):
        description = html_text(ticket["description"])
    custom = ticket.get("custom_fields") or {}
    if not isinstance(custom, dict):
        raise RecordError("custom_fields", "expected an object of cf_<name> values")
    row: dict[str, Any] = {
        "ticket_id": key,
        "created_at": _required_time(ticket.get("created_at")),
        "channel": _coded(ticket.get("source"), SOURCES, "channel", strict=False),
        "priority": _coded(ticket.get("priority"), PRIORITIES, "priority", strict=True),
        "text": text(description, "text"),
        "status": status,
        "group": None if ticket.get("group_id") is None else str(ticket["group_id"]),
        "type": text(ticket.get("type"), "type"),
        "tags": _tags(ticket.get("tags")),
        "subject": text(ticket.get("subject"), "subject"),
        "updated_at": updated,
    }
    if stats is not None:
        row["first_response_at"] = utc_iso(stats.get("first_responded_at"), "first_response_at")
        solved = stats.get("resolved_at") or stats.get("closed_at")
        row["solved_at"] = None if status in _OPEN else utc_iso(solved, "solved_at")
        reopened = utc_iso(stats.get("reopened_at"), "reopens")
        row["reopens"] = int(reopened is not None)
        row["reopened_at"] = reopened
    for name, value in custom.items():
        row[f"custom_field_{snake(str(name).removeprefix('cf_'))}"] = plain(value, "custom_fields")
    for target in ("category", "customer_tier"):
        source = fields.get(target, "type" if target == "category" else "")
        if source:
            row[target] = _custom(row, source)
    return key, version, row, dropped


def _custom(row: Mapping[str, Any], source: str) -> Any:
    """The value of ``source`` (``type``, ``cf_<name>`` or ``<name>``) in a mapped row."""
    if source == "type":
        return row.get("type")
    return row.get(f"custom_field_{snake(source.removeprefix('cf_'))}")


def _read_csv(
    path: Path,
    encoding: str | None,
    fields: Mapping[str, str],
    zone: tzinfo | None,
    ratings: Mapping[str, _Rating],
    rated: set[str],
    collector: Collector,
) -> None:
    _, rows = read_rows(path, encoding)
    for row in rows:
        collector.read()
        if row.error:
            collector.reject(row.where, "(record)", row.error, row.raw)
            continue
        try:
            key, version, mapped = _csv_row(row, fields, zone)
            _rate(mapped, key, ratings, rated)
        except RecordError as exc:
            collector.reject(row.where, exc.field, exc.reason, row.cells)
            continue
        collector.add(key, version, mapped)


def _csv_row(
    row: Row, fields: Mapping[str, str], zone: tzinfo | None
) -> tuple[str, pd.Timestamp | None, dict[str, Any]]:
    cells = {" ".join(name.casefold().split()): value for name, value in row.cells.items()}

    def when(*names: str, target: str) -> str | None:
        for name in names:
            value = cells.get(name)
            if value is None:
                continue
            stamp = utc_iso(value, target, zone)
            if zone is None and not has_offset(value):
                raise BadInputError(
                    f"{row.where}: the Freshdesk CSV export writes times in the exporting "
                    f"agent's time zone without an offset ({name!r} is {value!r}); say which "
                    "with --field time_zone=Area/City (e.g. Asia/Kolkata or UTC)"
                )
            return stamp
        return None

    key = _ticket_id(cells.get("ticket id"))
    mapped: dict[str, Any] = {
        "ticket_id": key,
        "created_at": when("created time", target="created_at"),
        "first_response_at": when("initial response time", target="first_response_at"),
        "solved_at": when("resolved time", "closed time", target="solved_at"),
        "channel": _named(cells.get("source"), SOURCES, "channel", strict=False),
        "priority": _named(cells.get("priority"), PRIORITIES, "priority", strict=True),
        "replies": count(cells.get("agent interactions"), "replies"),
        "text": text(cells.get("description"), "text"),
    }
    if mapped["created_at"] is None:
        raise RecordError("created_at", "missing (Created time)")
    for column, target in _CSV_PASS.items():
        if column in cells:
            mapped[target] = text(cells[column], target)
    if "status" in cells:
        mapped["status"] = _named(cells["status"], STATUSES, "status", strict=False)
        if mapped["status"] in _OPEN:
            mapped["solved_at"] = None
    if "last update time" in cells:
        mapped["updated_at"] = when("last update time", target="updated_at")
    if "tags" in cells:
        mapped["tags"] = tag_text(cells["tags"].split(","))
    if "survey results" in cells:
        label = " ".join(cells["survey results"].casefold().split())
        if label not in RATING_LABELS:
            raise RecordError("rating", f"{cells['survey results']!r} is not a Freshdesk rating")
        mapped["rating"] = RATINGS[RATING_LABELS[label]]
    for target in ("category", "customer_tier"):
        source = fields.get(target, "type" if target == "category" else "")
        if source:
            mapped[target] = text(cells.get(" ".join(source.casefold().split())), target)
    version = pd.Timestamp(mapped["updated_at"]) if mapped.get("updated_at") else None
    return key, version, mapped


def _read_ratings(
    paths: list[Path], encoding: str | None, collector: Collector
) -> dict[str, _Rating]:
    """The latest satisfaction rating of each ticket (by ``updated_at``)."""
    ratings: dict[str, _Rating] = {}
    unusable: Counter[str] = Counter()
    for path in paths:
        for page in read_pages(path, ["satisfaction_ratings", "ratings"], encoding):
            for number, record in enumerate(page.records):
                where = Where(page.where.file, page.where.line, number)
                if page.error or not isinstance(record, dict):
                    unusable["not a rating object"] += 1
                    continue
                try:
                    key = _ticket_id(record.get("ticket_id"))
                except RecordError:
                    unusable["no ticket_id"] += 1
                    continue
                rating = _rating(record, where)
                kept = ratings.get(key)
                if kept is None or _later(rating.version, kept.version):
                    ratings[key] = rating
    for reason, n in unusable.items():
        collector.note(f"satisfaction ratings not used ({reason})", n)
    return ratings


def _rating(record: Mapping[str, Any], where: Where) -> _Rating:
    try:
        rated_at = utc_iso(record.get("updated_at") or record.get("created_at"), "rated_at")
    except RecordError as exc:
        return _Rating(where, None, error=exc.reason)
    version = pd.Timestamp(rated_at) if rated_at else None
    answers = record.get("ratings")
    code = answers.get("default_question") if isinstance(answers, dict) else None
    if isinstance(code, bool) or not isinstance(code, int) or code not in RATINGS:
        return _Rating(where, version, error=f"default_question {code!r} is not a Freshdesk rating")
    try:
        comment = text(record.get("feedback"), "survey_comment")
    except RecordError as exc:
        return _Rating(where, version, error=exc.reason)
    return _Rating(where, version, RATINGS[code], comment, rated_at)


def _later(version: Any, kept: Any) -> bool:
    """Whether a rating of ``version`` replaces one of ``kept`` (the later one read wins ties)."""
    return kept is None or (version is not None and version >= kept)


def _rate(row: dict[str, Any], key: str, ratings: Mapping[str, _Rating], rated: set[str]) -> None:
    rating = ratings.get(key)
    if rating is None:
        return
    rated.add(key)
    if rating.error:
        raise RecordError("rating", f"satisfaction rating at {rating.where}: {rating.error}")
    row.update(rating=rating.rating, survey_comment=rating.comment, rated_at=rating.rated_at)


def _ticket_id(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, float):
        raise RecordError("ticket_id", f"expected a ticket id, got {value!r}")
    key = str(value).strip()
    if not key or isinstance(value, dict | list):
        raise RecordError("ticket_id", f"expected a ticket id, got {value!r}")
    return key


def _required_time(value: Any) -> str:
    stamp = utc_iso(value, "created_at")
    if stamp is None:
        raise RecordError("created_at", "missing")
    return stamp


def _coded(value: Any, names: Mapping[int, str], field_name: str, *, strict: bool) -> str | None:
    """The name of an API code; an undocumented code is kept as its number unless ``strict``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError(field_name, f"expected a Freshdesk code, got {value!r}")
    if value in names:
        return names[value]
    if strict:
        raise RecordError(field_name, f"{value} is not a Freshdesk {field_name} code")
    return str(value)


def _named(value: str | None, names: Mapping[int, str], field_name: str, *, strict: bool) -> Any:
    """A CSV cell holding a code (``2``) or a name (``Medium``, ``Feedback Widget``)."""
    if value is None:
        return None
    if re.fullmatch(r"\s*\d+\s*", value):
        return _coded(int(value), names, field_name, strict=strict)
    name = snake(value)
    if field_name == "priority":
        name = {"medium": "normal"}.get(name, name)
        if name not in names.values():
            raise RecordError(field_name, f"{value!r} is not a Freshdesk priority")
    return name or None


def _tags(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise RecordError("tags", f"expected a list of tags, got {type(value).__name__}")
    return tag_text(value)
