"""Intercom conversations: List / Search Conversations pages, or single conversation objects.

==================  ==========================================================================
cxml                Intercom (times are Unix seconds)
==================  ==========================================================================
ticket_id           ``id``
created_at          ``created_at``
first_response_at   ``statistics.first_admin_reply_at``
solved_at           ``statistics.last_close_at`` while ``state`` is closed
channel             ``source.type`` (``conversation``, Messenger chat, as ``chat``)
category            ``--field category=<custom attribute>``
priority            ``priority``: ``priority`` -> high, ``not_priority`` -> normal
customer_tier       ``--field customer_tier=<custom attribute>``
replies             teammates' replies among ``conversation_parts`` (when the file has them all)
reopens             ``statistics.count_reopens``
reassignments       ``statistics.count_assignments`` - 1 (the first assignment is no hop)
text                ``source.body`` (HTML) as text, else ``source.subject``
rating              ``conversation_rating.rating`` (1-5)
survey_comment      ``conversation_rating.remark``;  rated_at: ``conversation_rating.created_at``
==================  ==========================================================================

Passed through: ``status`` (``state``), ``delivered_as`` (``source.delivered_as``), ``group``
(``team_assignee_id``), ``tags`` (``tags.tags[].name`` as ``a;b``), ``subject``,
``time_to_admin_reply`` and ``count_assignments`` (Intercom's seconds and counts), ``updated_at``
and ``custom_field_<name>`` for each custom attribute. A conversation read again keeps its latest
``updated_at``. ``time_to_admin_reply`` leaves out office hours, so the first response time is
taken from ``first_admin_reply_at``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from cxml.connectors.pages import read_pages
from cxml.connectors.result import Collector, ImportResult, RecordError, Where
from cxml.connectors.values import (
    count,
    html_text,
    is_missing,
    plain,
    snake,
    tag_text,
    text,
    unix_iso,
)
from cxml.errors import BadInputError

__all__ = ["CHANNELS", "PRIORITIES", "read_export"]

VENDOR = "intercom"
#: ``source.type`` values renamed; others (``email``, ``phone_call``, ``whatsapp``...) are kept.
CHANNELS = {"conversation": "chat"}
#: ``priority`` as cxml names priorities.
PRIORITIES = {"priority": "high", "not_priority": "normal"}
_FIELDS = ("category", "customer_tier")
_PARTS_CUT = "conversations whose parts were cut short: replies unknown"


def read_export(
    paths: list[Path], *, related: list[Path], fields: dict[str, str], encoding: str | None
) -> ImportResult:
    """Read Intercom conversations (pages under ``conversations``, JSON Lines, single objects).

    Parameters
    ----------
    paths : list of Path
        Saved List / Search Conversations pages, Retrieve Conversation objects, or JSON Lines.
    related : list of Path
        Not used (a ``BadInputError`` when given).
    fields : dict of str to str
        ``category`` / ``customer_tier``: the custom attribute that holds each.
    encoding : str or None
        Text encoding (detected when None).
    """
    if related:
        raise BadInputError(f"{VENDOR}: --with is not used; conversations carry their rating")
    unknown = sorted(set(fields) - set(_FIELDS))
    if unknown:
        raise BadInputError(
            f"{VENDOR}: --field {', '.join(unknown)} is not read from this export; "
            f"expected {', '.join(_FIELDS)}"
        )
    collector = Collector(VENDOR, "tickets", list(paths))
    for path in paths:
        for page in read_pages(path, ["conversations"], encoding):
            for number, record in enumerate(page.records):
                where = Where(page.where.file, page.where.line, number)
                collector.read()
                if page.error:
                    collector.reject(where, "(record)", page.error, record)
                    continue
                try:
                    key, version, row, notes = conversation_row(record, fields)
                except RecordError as exc:
                    collector.reject(where, exc.field, exc.reason, record)
                    continue
                collector.add(key, version, row, notes)
    return collector.result()


def conversation_row(
    conversation: Any, fields: Mapping[str, str]
) -> tuple[str, pd.Timestamp | None, dict[str, Any], list[str]]:
    """``(id, updated_at, row, notes)`` of one conversation object.

    Raises
    ------
    RecordError
        For a field that cannot be mapped.
    """
    if not isinstance(conversation, dict):
        raise RecordError("(record)", f"expected a conversation, got {type(conversation).__name__}")
    kind = conversation.get("type", "conversation")
    if kind != "conversation":
        raise RecordError("(record)", f"expected a conversation, got type {kind!r}")
    key = conversation.get("id")
    if isinstance(key, bool) or not isinstance(key, str | int) or not str(key).strip():
        raise RecordError("ticket_id", f"expected a conversation id, got {key!r}")
    created = unix_iso(conversation.get("created_at"), "created_at")
    if created is None:
        raise RecordError("created_at", "missing")
    updated = unix_iso(conversation.get("updated_at"), "updated_at")
    source = _object(conversation.get("source"), "source")
    statistics = _object(conversation.get("statistics"), "statistics")
    state = conversation.get("state")
    body = source.get("body")
    if body is not None and not isinstance(body, str):
        raise RecordError("text", f"expected the HTML body, got {type(body).__name__}")
    subject = text(html_text(source["subject"]), "subject") if source.get("subject") else None
    channel = source.get("type")
    assignments = count(statistics.get("count_assignments"), "reassignments")
    notes: list[str] = []
    row: dict[str, Any] = {
        "ticket_id": str(key).strip(),
        "created_at": created,
        "first_response_at": unix_iso(statistics.get("first_admin_reply_at"), "first_response_at"),
        "solved_at": None,
        "channel": CHANNELS.get(channel, channel) if isinstance(channel, str) else None,
        "priority": _priority(conversation.get("priority")),
        "replies": _replies(conversation.get("conversation_parts"), notes),
        "reopens": count(statistics.get("count_reopens"), "reopens"),
        "reassignments": None if assignments is None else max(assignments - 1, 0),
        "text": text(html_text(body), "text") if body else None,
        "status": state if isinstance(state, str) else None,
        "delivered_as": text(source.get("delivered_as"), "delivered_as"),
        "group": _optional(conversation.get("team_assignee_id")),
        "tags": _tags(conversation.get("tags")),
        "subject": subject,
        "time_to_admin_reply": count(statistics.get("time_to_admin_reply"), "time_to_admin_reply"),
        "count_assignments": assignments,
        "updated_at": updated,
    }
    if row["text"] is None:
        row["text"] = subject
    if state == "closed" or (state is None and conversation.get("open") is False):
        row["solved_at"] = unix_iso(statistics.get("last_close_at"), "solved_at")
        if row["solved_at"] is None:
            notes.append("closed conversations without statistics.last_close_at")
    row |= _rating(conversation.get("conversation_rating"))
    custom = _object(conversation.get("custom_attributes"), "custom_attributes")
    for name, value in custom.items():
        row[f"custom_field_{snake(str(name))}"] = plain(value, "custom_attributes")
    for target in _FIELDS:
        if target in fields:
            row[target] = row.get(f"custom_field_{snake(fields[target])}")
    version = pd.Timestamp(updated) if updated else None
    return row["ticket_id"], version, row, notes


def _object(value: Any, field_name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError(field_name, f"expected an object, got {type(value).__name__}")
    return value


def _priority(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in PRIORITIES:
        raise RecordError("priority", f"expected priority or not_priority, got {value!r}")
    return PRIORITIES[value]


def _replies(parts: Any, notes: list[str]) -> int | None:
    """Teammates' replies (``comment`` parts by an ``admin``) when every part is in the file."""
    if parts is None:
        return None
    listed = _object(parts, "replies").get("conversation_parts")
    if not isinstance(listed, list):
        raise RecordError("replies", "expected conversation_parts.conversation_parts as a list")
    total = parts.get("total_count", len(listed))
    if total != len(listed):
        notes.append(_PARTS_CUT)
        return None
    return sum(
        isinstance(part, dict)
        and part.get("part_type") == "comment"
        and isinstance(part.get("author"), dict)
        and part["author"].get("type") == "admin"
        for part in listed
    )


def _rating(rating: Any) -> dict[str, Any]:
    """``rating``, ``survey_comment`` and ``rated_at`` of a ``conversation_rating``."""
    rating = _object(rating, "rating")
    score = rating.get("rating")
    if score is None:
        return {}
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise RecordError("rating", f"expected a rating 1-5, got {score!r}")
    return {
        "rating": score,
        "survey_comment": text(rating.get("remark"), "survey_comment"),
        "rated_at": unix_iso(rating.get("created_at"), "rated_at"),
    }


def _tags(tags: Any) -> str | None:
    listed = _object(tags, "tags").get("tags")
    if listed is None:
        return None
    if not isinstance(listed, list):
        raise RecordError("tags", "expected tags.tags as a list")
    names = [tag.get("name") if isinstance(tag, dict) else tag for tag in listed]
    return tag_text(names)


def _optional(value: Any) -> str | None:
    return None if is_missing(value) else str(value)
