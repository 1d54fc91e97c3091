"""Zendesk exports in: ticket pages (incremental, search, list) with their metrics, comments and
satisfaction ratings, as the canonical ticket table.

What is read (shapes as the Zendesk Support API documents them):

* **tickets** (the export files): Incremental Ticket Export pages, cursor based (``tickets``,
  ``after_cursor``, ``end_of_stream``) or time based (``tickets``, ``next_page``, ``end_time``,
  ``count``, ``end_of_stream``), with or without side-loaded ``metric_sets``
  (``include=metric_sets``); Search API pages (``results``, each with a ``result_type``); List
  Tickets pages (``tickets``, ``next_page``); a single ``{"ticket": {...}}``; JSON arrays and
  JSON Lines of tickets or pages.
* **related** exports (``--with``): Ticket Metrics (``ticket_metrics``, ``ticket_metric``),
  ticket comments (``comments``; the endpoint names no ticket in its comments, so a saved file
  says which ticket: a ``ticket_id`` in each comment, as JSON Lines rows, or beside the page's
  ``comments`` list), the Incremental Ticket Event Export with ``include=comment_events``
  (``ticket_events`` whose ``child_events`` of ``event_type: Comment`` carry the text) and
  Satisfaction Ratings (``satisfaction_ratings``, which carry the times a ticket's own
  ``satisfaction_rating`` lacks).

Tickets repeated across pages keep their latest version (``updated_at``); ``status: deleted``
tickets are dropped and counted; a ticket that cannot be mapped (no id, a created_at that is no
time or outside what pandas represents, a metric that is no count...) is rejected with the file,
line, field and reason. Times are written as ISO 8601 in UTC with the offset.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from cxml.connectors.pages import Page, read_pages
from cxml.connectors.result import Collector, ImportResult, RecordError, Where
from cxml.connectors.values import count, plain, tag_text, text
from cxml.contracts.times import RANGE, read_instant, to_utc
from cxml.errors import BadInputError, DataError

__all__ = ["FIELD_SOURCES", "read_export", "ticket_row"]

#: Canonical fields ``--field`` may fill from a custom field (``--field category=360001234``).
FIELD_SOURCES = ("category", "customer_tier")
_NO_FIELDS: Mapping[str, str] = MappingProxyType({})
_TICKET_KEYS = ("tickets", "results")
#: List keys of the related exports, and the kind of record each lists.
_RELATED_KEYS = {
    "ticket_metrics": "metric set",
    "metric_sets": "metric set",
    "comments": "comment",
    "ticket_events": "ticket event",
    "satisfaction_ratings": "satisfaction rating",
}
#: Single-record responses (``GET .../metrics.json``) and their kind.
_WRAPPERS = {"ticket_metric": "metric set", "satisfaction_rating": "satisfaction rating"}
_METRIC_KEYS = ("reply_time_in_minutes", "group_stations", "assignee_stations", "replies")
_COUNTS = ("replies", "reopens", "group_stations", "assignee_stations")
#: Resolution times (calendar minutes) passed through under shorter names.
_RESOLUTIONS = {
    "first_resolution_time_in_minutes": "first_resolution_minutes",
    "full_resolution_time_in_minutes": "full_resolution_minutes",
}
_ANSWERED = ("good", "bad")
_UNANSWERED = {
    "offered": "satisfaction survey offered, not answered",
    "unoffered": "satisfaction survey not offered",
}
_NO_METRICS = "tickets without metrics (no first response, solve time or counts)"
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})?")
_LONGEST_TIME = 64
_SHOWN = 60


def ticket_row(
    ticket: Mapping[str, Any],
    metrics: Mapping[str, Any] | None = None,
    *,
    fields: Mapping[str, str] = _NO_FIELDS,
) -> dict[str, Any]:
    """One Zendesk ticket (and its metric set) as a row of the canonical ticket table.

    Parameters
    ----------
    ticket : mapping
        A ticket as the Tickets API returns it (``id``, ``created_at``, ``via.channel``,
        ``priority``, ``type``, ``group_id``, ``status``, ``tags``, ``custom_fields``,
        ``description``, ``satisfaction_rating``, ``updated_at``).
    metrics : mapping, default=None
        Its Ticket Metrics record (``reply_time_in_minutes``, ``solved_at``, ``replies``,
        ``reopens``, ``group_stations``, ``assignee_stations``, resolution times).
    fields : mapping of str to str, default={}
        Canonical field -> custom field id for the fields of :data:`FIELD_SOURCES`
        (``{"category": "360001234"}``); without one, ``category`` is the ticket's ``type``.

    Returns
    -------
    dict
        ``ticket_id``, ``created_at``, ``first_response_at`` (created + the calendar minutes to
        the first reply), ``solved_at`` and the other canonical fields, then ``group``,
        ``status``, ``type``, ``tags`` (``a;b``), ``custom_field_<id>``, ``updated_at``; the
        survey (``rating`` good / bad, ``survey_comment``, ``rated_at``) as labels. Times are
        ISO 8601 in UTC.

    Raises
    ------
    RecordError
        When a field cannot be mapped: no id, a created_at that is no time, a count that is not
        a whole number >= 0, an unknown satisfaction score...

    Examples
    --------
    >>> row = ticket_row(
    ...     {"id": 35436, "created_at": "2026-03-02T18:15:00+09:00", "via": {"channel": "web"},
    ...      "satisfaction_rating": {"score": "bad", "comment": "Slow"}},
    ...     {"reply_time_in_minutes": {"calendar": 90, "business": 30}, "replies": 2},
    ... )
    >>> row["ticket_id"], row["created_at"], row["first_response_at"]
    ('35436', '2026-03-02T09:15:00+00:00', '2026-03-02T10:45:00+00:00')
    >>> row["channel"], row["replies"], row["rating"], row["survey_comment"]
    ('web', 2, 'bad', 'Slow')
    """
    return _map(ticket, metrics, fields)[0]


def read_export(
    paths: list[Path],
    *,
    related: list[Path],
    fields: dict[str, str],
    encoding: str | None,
) -> ImportResult:
    """Read Zendesk ticket exports (and the exports given with them) into the ticket table.

    Parameters
    ----------
    paths : list of Path
        Ticket pages or JSON Lines (see the module docstring for the shapes).
    related : list of Path
        Ticket metrics, comments, ticket events or satisfaction ratings exports.
    fields : dict of str to str
        ``{"category": "<custom field id>"}`` and the like (:data:`FIELD_SOURCES`).
    encoding : str or None
        Text encoding of the files (detected when None).

    Raises
    ------
    BadInputError
        For a ``fields`` key Zendesk cannot fill or a source that is no custom field id.
    DataError
        For a file that is not JSON, a related export given as tickets or the reverse, or a
        related file with nothing of use in it.
    """
    _check_fields(fields)
    collector = Collector("zendesk", "tickets", [*paths, *related])
    context = _Related(collector)
    for path in related:
        context.read(path, encoding)
    streams: list[bool] = []
    for path in paths:
        for page in read_pages(path, (*_TICKET_KEYS, *_RELATED_KEYS), encoding):
            if page.key in _RELATED_KEYS:
                raise DataError(
                    f"{page.where}: a Zendesk {page.key} export, not tickets; give it with --with"
                )
            if "end_of_stream" in page.extra:
                streams.append(page.extra["end_of_stream"] is True)
            _read_page(page, collector, context, fields)
    context.finish()
    if streams and not any(streams):
        collector.note("no page says end_of_stream: true (the export may stop early)")
    result = collector.result()
    for name in _COUNTS:
        if name in result.frame:
            result.frame[name] = result.frame[name].astype("Int64")
    return result


def _check_fields(fields: Mapping[str, str]) -> None:
    for name, source in fields.items():
        if name not in FIELD_SOURCES:
            raise BadInputError(
                f"--field {name}: Zendesk fills only {', '.join(FIELD_SOURCES)} from a custom "
                "field; the other fields have a fixed place in the export"
            )
        if not (source.strip().isascii() and source.strip().isdigit()):
            raise BadInputError(
                f"--field {name}={source}: expected a Zendesk custom field id (a number)"
            )


def _read_page(
    page: Page, collector: Collector, context: _Related, fields: Mapping[str, str]
) -> None:
    if page.error:
        collector.read()
        collector.reject(page.where, "record", page.error, page.records[0])
        return
    side = context.metric_sets(page)
    for number, record in enumerate(page.records):
        where = Where(page.where.file, page.where.line, number)
        collector.read()
        try:
            _add(record, collector, context, side, fields)
        except RecordError as exc:
            collector.reject(where, exc.field, exc.reason, _raw(record))


def _add(
    record: Any,
    collector: Collector,
    context: _Related,
    side: Mapping[str, Mapping[str, Any]],
    fields: Mapping[str, str],
) -> None:
    ticket = _unwrap(record)
    if not isinstance(ticket, Mapping):
        raise RecordError("record", f"expected a JSON object, got {_kind(ticket)}")
    result_type = ticket.get("result_type", "ticket")
    if result_type != "ticket":
        raise RecordError("result_type", f"not a ticket (got {_short(result_type)})")
    other = _related_kind(ticket) if "ticket_id" in ticket else None
    if other:
        raise RecordError("record", f"a {other}, not a ticket; give the {other}s with --with")
    key = _id(ticket.get("id"), "id")
    version = _time(ticket.get("updated_at"), "updated_at")
    if ticket.get("status") == "deleted":
        collector.delete(key, version)
        return
    own = ticket.get("satisfaction_rating")
    rating = _rating(own, context.ratings.get(key))
    if rating is not own:
        ticket = {**ticket, "satisfaction_rating": rating}
    row, notes = _map(ticket, side.get(key) or context.metrics.get(key), fields)
    text = context.comments.first(key, _optional_id(ticket.get("requester_id")))
    if text is not None:
        row["text"] = text
    collector.add(key, version, row, notes)


def _map(
    ticket: Mapping[str, Any], metrics: Mapping[str, Any] | None, fields: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """The row of :func:`ticket_row` and the findings on it (for the import's notes)."""
    if not isinstance(ticket, Mapping):
        raise RecordError("record", f"expected a JSON object, got {_kind(ticket)}")
    notes: list[str] = []
    created = _time(ticket.get("created_at"), "created_at")
    if created is None:
        raise RecordError("created_at", "missing")
    via = ticket.get("via")
    custom = _custom_fields(ticket)
    row: dict[str, Any] = {
        "ticket_id": _id(ticket.get("id"), "id"),
        "created_at": created.isoformat(),
        "channel": text(via.get("channel") if isinstance(via, Mapping) else None, "via"),
        "category": text(ticket.get("type"), "type"),
        "priority": text(ticket.get("priority"), "priority"),
        "text": text(ticket.get("description"), "description"),
    }
    for name, source in fields.items():
        value = custom.get(source.strip())
        row[name] = value if value is None or isinstance(value, str) else json.dumps(value)
        if row[name] is None:
            notes.append(f"{name}: custom field {source.strip()} empty or absent")
    row.update(_metrics(metrics, created))
    if metrics is None:
        notes.append(_NO_METRICS)
    row.update(_survey(ticket.get("satisfaction_rating"), notes))
    row["group"] = _optional_id(ticket.get("group_id"), "group_id")
    row["status"] = text(ticket.get("status"), "status")
    row["type"] = text(ticket.get("type"), "type")
    row["tags"] = _tags(ticket.get("tags"))
    row.update({f"custom_field_{k}": v for k, v in custom.items()})
    updated = _time(ticket.get("updated_at"), "updated_at")
    row["updated_at"] = updated.isoformat() if updated is not None else None
    return row, notes


def _metrics(metrics: Mapping[str, Any] | None, created: pd.Timestamp) -> dict[str, Any]:
    """The columns a metric set fills (all empty without one)."""
    if metrics is None:
        return dict.fromkeys(("first_response_at", "solved_at", *_COUNTS, *_RESOLUTIONS.values()))
    if not isinstance(metrics, Mapping):
        raise RecordError("metric_set", f"expected a JSON object, got {_kind(metrics)}")
    reply = _minutes(metrics.get("reply_time_in_minutes"), "reply_time_in_minutes")
    solved = _time(metrics.get("solved_at"), "solved_at")
    row: dict[str, Any] = {
        "first_response_at": _after(created, reply, "reply_time_in_minutes"),
        "solved_at": solved.isoformat() if solved is not None else None,
    }
    row.update({name: count(metrics.get(name), name) for name in _COUNTS})
    for name, column in _RESOLUTIONS.items():
        row[column] = _minutes(metrics.get(name), name)
    return row


def _survey(rating: Any, notes: list[str]) -> dict[str, Any]:
    """``rating`` (good / bad), ``survey_comment`` and ``rated_at`` of a satisfaction_rating."""
    row: dict[str, Any] = {"rating": None, "survey_comment": None, "rated_at": None}
    if rating is None:
        return row
    if not isinstance(rating, Mapping):
        raise RecordError("satisfaction_rating", f"expected a JSON object, got {_kind(rating)}")
    score = _score(rating)
    if score is None:
        return row
    if score in _UNANSWERED:
        notes.append(_UNANSWERED[score])
        return row
    if score not in _ANSWERED:
        raise RecordError(
            "satisfaction_rating.score",
            f"expected good, bad, offered or unoffered (got {_short(rating.get('score'))})",
        )
    rated = _time(rating.get("updated_at"), "satisfaction_rating.updated_at") or _time(
        rating.get("created_at"), "satisfaction_rating.created_at"
    )
    row["rating"] = score
    row["survey_comment"] = text(rating.get("comment"), "satisfaction_rating.comment")
    row["rated_at"] = rated.isoformat() if rated is not None else None
    return row


def _score(rating: Mapping[str, Any]) -> str | None:
    score = rating.get("score")
    if score is None:
        return None
    return score.strip().lower() if isinstance(score, str) else f"{score!r}"


def _rating(own: Any, exported: Mapping[str, Any] | None) -> Any:
    """The ticket's own satisfaction_rating, completed by the ratings export's record of it
    (same id: the export adds the times) or replaced by it where the ticket has no answer."""
    if exported is None:
        return own
    if not isinstance(own, Mapping) or _score(own) not in _ANSWERED:
        return exported
    if own.get("id") is not None and own.get("id") == exported.get("id"):
        return {**exported, **{k: v for k, v in own.items() if v is not None}}
    return own


# --- related exports ------------------------------------------------------------------------


class _Related:
    """What the ``--with`` exports say about each ticket: metrics, comments, ratings."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self.metrics: dict[str, Mapping[str, Any]] = {}
        self.comments = _CommentIndex()
        self.ratings: dict[str, Mapping[str, Any]] = {}
        self._versions: dict[tuple[str, str], float] = {}
        self._skipped: Counter[str] = Counter()
        self._first: dict[str, Where] = {}
        self._hidden = 0

    def read(self, path: Path, encoding: str | None) -> None:
        """Index one related file."""
        used = 0
        for page in read_pages(path, (*_RELATED_KEYS, *_TICKET_KEYS), encoding):
            if page.key in _TICKET_KEYS:
                raise DataError(
                    f"{page.where}: a Zendesk ticket export; name it as an export file, "
                    "not with --with"
                )
            if page.error:
                self._skip(page.where, "lines that are not JSON")
                continue
            for number, record in enumerate(page.records):
                used += self._index(page, Where(page.where.file, page.where.line, number), record)
        if not used:
            raise DataError(
                f"{path}: no Zendesk ticket metrics, comments, ticket events or satisfaction "
                "ratings with a ticket_id in it"
            )

    def finish(self) -> None:
        """Note what was skipped, with where it was first seen."""
        for reason, times in self._skipped.items():
            where = self._first[reason]
            self.collector.note(f"records skipped, {reason} (first: {where})", times)
        if self._hidden:
            self.collector.note(
                "ticket events with a comment but not its text (export them with "
                "include=comment_events)",
                self._hidden,
            )

    def metric_sets(self, page: Page) -> dict[str, Mapping[str, Any]]:
        """The metric sets side-loaded on a ticket page (``include=metric_sets``), by ticket."""
        found: dict[str, Mapping[str, Any]] = {}
        sets = page.extra.get("metric_sets")
        for number, record in enumerate(sets if isinstance(sets, list) else []):
            ticket = _optional_id(record.get("ticket_id")) if isinstance(record, Mapping) else None
            if ticket is None:
                where = Where(page.where.file, page.where.line, number)
                self._skip(where, "side-loaded metric sets without a ticket_id")
                continue
            found[ticket] = record
        return found

    def _skip(self, where: Where, reason: str) -> None:
        self._skipped[reason] += 1
        self._first.setdefault(reason, where)

    def _index(self, page: Page, where: Where, record: Any) -> int:
        kind = _RELATED_KEYS.get(page.key)
        for wrapper, wrapped in _WRAPPERS.items():
            if isinstance(record, Mapping) and isinstance(record.get(wrapper), Mapping):
                record, kind = record[wrapper], wrapped
        if not isinstance(record, Mapping):
            self._skip(where, "records that are no JSON object")
            return 0
        kind = kind or _related_kind(record)
        if kind is None:
            self._skip(where, "records of no known kind")
            return 0
        ticket = _optional_id(record.get("ticket_id")) or _optional_id(page.extra.get("ticket_id"))
        if ticket is None:
            self._skip(where, f"{kind}s without a ticket_id")
            return 0
        handlers: dict[str, Callable[[str, Mapping[str, Any]], None]] = {
            "metric set": self._metric,
            "comment": self._comment,
            "ticket event": self._event,
            "satisfaction rating": self._rating,
        }
        handlers[kind](ticket, record)
        return 1

    def _newest(self, kind: str, ticket: str, record: Mapping[str, Any]) -> bool:
        """Whether ``record`` is at least as new as the one kept for ``ticket`` (by updated_at,
        else created_at; of two equally new, the later read)."""
        moment = _lenient_time(record.get("updated_at")) or _lenient_time(record.get("created_at"))
        order = moment.value if moment is not None else -math.inf
        if self._versions.get((kind, ticket), -math.inf) > order:
            return False
        self._versions[kind, ticket] = order
        return True

    def _metric(self, ticket: str, record: Mapping[str, Any]) -> None:
        if self._newest("metric set", ticket, record):
            self.metrics[ticket] = record

    def _rating(self, ticket: str, record: Mapping[str, Any]) -> None:
        if self._newest("satisfaction rating", ticket, record):
            self.ratings[ticket] = record

    def _comment(self, ticket: str, record: Mapping[str, Any]) -> None:
        if record.get("public", True) is not True:
            return
        body = _comment_text(record)
        if body is not None:
            moment = _lenient_time(record.get("created_at"))
            self.comments.add(ticket, _optional_id(record.get("author_id")), moment, body)

    def _event(self, ticket: str, record: Mapping[str, Any]) -> None:
        children = record.get("child_events")
        for child in children if isinstance(children, list) else []:
            if not isinstance(child, Mapping):
                continue
            if child.get("event_type") == "Comment" or child.get("type") == "Comment":
                author = child.get("author_id", record.get("updater_id"))
                moment = _lenient_time(child.get("created_at", record.get("created_at")))
                body = _comment_text(child) if child.get("public", True) is True else None
                if body is not None:
                    self.comments.add(ticket, _optional_id(author), moment, body)
            elif child.get("comment_present") is True:
                self._hidden += 1


class _CommentIndex:
    """The first public comment of each ticket, overall and by author (earliest created_at;
    of equal or unreadable times, the first read)."""

    def __init__(self) -> None:
        self._first: dict[str, tuple[tuple[float, int], str]] = {}
        self._by_author: dict[tuple[str, str], tuple[tuple[float, int], str]] = {}
        self._count = 0

    def add(self, ticket: str, author: str | None, moment: pd.Timestamp | None, body: str) -> None:
        """One public comment of ``ticket``."""
        self._count += 1
        order = (moment.value if moment is not None else math.inf, self._count)
        if ticket not in self._first or order < self._first[ticket][0]:
            self._first[ticket] = (order, body)
        if author is not None:
            key = (ticket, author)
            if key not in self._by_author or order < self._by_author[key][0]:
                self._by_author[key] = (order, body)

    def first(self, ticket: str, requester: str | None) -> str | None:
        """The requester's first public comment, else the ticket's first public comment."""
        found = self._by_author.get((ticket, requester)) if requester is not None else None
        found = found or self._first.get(ticket)
        return found[1] if found else None


def _related_kind(record: Mapping[str, Any]) -> str | None:
    """What a related record is, by its shape."""
    if "child_events" in record:
        return "ticket event"
    if "score" in record:
        return "satisfaction rating"
    if any(k in record for k in _METRIC_KEYS):
        return "metric set"
    if any(k in record for k in ("body", "plain_body", "html_body", "public")):
        return "comment"
    return None


def _comment_text(record: Mapping[str, Any]) -> str | None:
    for name in ("plain_body", "body"):
        value = record.get(name)
        if isinstance(value, str) and value.strip():
            return text(value, name)
    return None


# --- values ---------------------------------------------------------------------------------


def _unwrap(record: Any) -> Any:
    """``{"ticket": {...}}`` (a single-ticket response) as the ticket."""
    if isinstance(record, Mapping) and "id" not in record:
        inner = record.get("ticket")
        return inner if isinstance(inner, Mapping) else record
    return record


def _id(value: Any, name: str) -> str:
    """A Zendesk id (a whole number > 0, or its digits as text) as text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RecordError(name, "missing")
    found = _optional_id(value)
    if found is None:
        raise RecordError(name, f"expected a Zendesk id (a whole number), got {_short(value)}")
    return found


def _optional_id(value: Any, name: str | None = None) -> str | None:
    """An id as text; None when missing, and when malformed unless ``name`` asks to raise."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
        if number > 0:
            return str(number)
    if name is not None and value is not None and value != "":
        raise RecordError(name, f"expected a Zendesk id (a whole number), got {_short(value)}")
    return None


def _time(value: Any, name: str) -> pd.Timestamp | None:
    """A time by :mod:`cxml.contracts.times`' rule (None when missing); Zendesk's own
    ``2026-03-02T09:15:00Z`` form is read directly."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise RecordError(name, f"not a date/time (got {_short(value)})")
    text = value.strip()
    if _ISO.fullmatch(text):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:  # month 13 and the like: the general rule says why
            moment = None
        if moment is not None:
            stamp = to_utc(moment)
            if stamp is None:
                raise RecordError(name, f"outside the representable range {RANGE} (got {text!r})")
            return stamp
    if len(text) > _LONGEST_TIME:
        raise RecordError(name, f"not a date/time (got {_short(text)})")
    stamp, why = read_instant(text)
    if stamp is None:
        raise RecordError(name, why)
    return stamp


def _lenient_time(value: Any) -> pd.Timestamp | None:
    """A time for ordering related records: None when it is no time."""
    try:
        return _time(value, "time")
    except RecordError:
        return None


def _after(start: pd.Timestamp, minutes: float | None, name: str) -> str | None:
    if minutes is None:
        return None
    try:
        moment = start + pd.Timedelta(minutes=minutes)
    except (OverflowError, ValueError):
        moment = None
    stamp = to_utc(moment) if moment is not None else None
    if stamp is None:
        raise RecordError(name, f"created_at + {minutes:g} minutes is outside {RANGE}")
    return stamp.isoformat()


def _minutes(value: Any, name: str) -> float | None:
    """The calendar minutes of a ``{"calendar": ..., "business": ...}`` metric."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise RecordError(name, f"expected {{calendar, business}} minutes, got {_kind(value)}")
    minutes = value.get("calendar")
    if minutes is None:
        return None
    if isinstance(minutes, bool) or not isinstance(minutes, int | float):
        raise RecordError(name, f"calendar minutes are no number (got {_short(minutes)})")
    if not math.isfinite(minutes) or minutes < 0:
        raise RecordError(name, f"calendar minutes must be a number >= 0 (got {minutes!r})")
    return float(minutes)


def _tags(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise RecordError("tags", f"expected a list of tags, got {_kind(value)}")
    return tag_text(value)


def _custom_fields(ticket: Mapping[str, Any]) -> dict[str, Any]:
    """``custom_fields`` (or the older ``fields``) as custom field id -> value (a multi-select's
    options as JSON text)."""
    entries = ticket.get("custom_fields", ticket.get("fields"))
    if entries is None:
        return {}
    if not isinstance(entries, list):
        raise RecordError("custom_fields", f"expected a list, got {_kind(entries)}")
    found: dict[str, Any] = {}
    for number, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise RecordError("custom_fields", f"entry {number} is no object ({_kind(entry)})")
        key = _optional_id(entry.get("id"))
        if key is None:
            raise RecordError("custom_fields", f"entry {number} has no id")
        found[key] = plain(entry.get("value"), f"custom_field_{key}")
    return found


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "text", bool: "true/false"}
    if value is None:
        return "null"
    return next((n for t, n in names.items() if isinstance(value, t)), type(value).__name__)


def _short(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= _SHOWN else shown[: _SHOWN - 3] + "..."


def _raw(record: Any) -> str:
    try:
        return json.dumps(record, ensure_ascii=False, default=str)
    except ValueError:  # a NaN inside is fine; a circular structure cannot come from JSON
        return repr(record)
