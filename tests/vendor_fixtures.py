"""Helpdesk and survey exports written from each vendor's public API documentation.

Every fixture is generated here (ids, times and texts made up on the spot); nothing is copied
from a vendor or from benchmark data. Each function writes files into a folder and returns
their paths.
"""

from __future__ import annotations

import csv
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from cxml.data.synth import make_comments, make_tickets

# --- Zendesk (developer.zendesk.com: Incremental Exports, Tickets, Ticket Metrics, Ticket
# Comments, Satisfaction Ratings, Search) -------------------------------------------------------

#: Custom field ids the generated Zendesk tickets use for the category and the customer tier.
ZENDESK_CATEGORY_FIELD = 360001001
ZENDESK_TIER_FIELD = 360001002
_ZENDESK_API = "https://example.zendesk.com/api/v2"
_ZENDESK_COUNTS = ("replies", "reopens", "group_stations", "assignee_stations")


def zendesk_ticket(ticket_id: int, created_at: str, **fields: Any) -> dict[str, Any]:
    """A ticket as the Tickets API returns it; ``fields`` override or add attributes."""
    ticket: dict[str, Any] = {
        "id": ticket_id,
        "url": f"https://example.zendesk.com/api/v2/tickets/{ticket_id}.json",
        "external_id": None,
        "created_at": created_at,
        "updated_at": created_at,
        "type": "question",
        "subject": f"Request {ticket_id}",
        "description": f"Hello, this is request {ticket_id}.",
        "priority": "normal",
        "status": "open",
        "requester_id": 9000 + ticket_id,
        "submitter_id": 9000 + ticket_id,
        "assignee_id": None,
        "group_id": 20001,
        "tags": [],
        "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
        "custom_fields": [],
        "satisfaction_rating": {"score": "unoffered"},
        "generated_timestamp": 0,
    }
    ticket.update(fields)
    return ticket


def zendesk_metric_set(ticket_id: int, **fields: Any) -> dict[str, Any]:
    """A Ticket Metrics record; ``fields`` override or add attributes."""
    metric: dict[str, Any] = {
        "id": 50000 + ticket_id,
        "ticket_id": ticket_id,
        "url": f"https://example.zendesk.com/api/v2/ticket_metrics/{50000 + ticket_id}.json",
        "group_stations": 1,
        "assignee_stations": 1,
        "reopens": 0,
        "replies": 0,
        "reply_time_in_minutes": {"calendar": None, "business": None},
        "first_resolution_time_in_minutes": {"calendar": None, "business": None},
        "full_resolution_time_in_minutes": {"calendar": None, "business": None},
        "solved_at": None,
        "created_at": None,
        "updated_at": None,
    }
    metric.update(fields)
    return metric


def write_zendesk_pages(
    folder: Path,
    pages: Sequence[Sequence[Any]],
    *,
    style: str = "cursor",
    metric_sets: Sequence[Sequence[Any] | None] | None = None,
    name: str = "tickets",
) -> list[Path]:
    """Write ticket pages as saved from the Incremental Ticket Export, one file per page.

    ``style`` is ``cursor`` (``after_cursor``, ``after_url``, ``end_of_stream``), ``time``
    (``next_page``, ``end_time``, ``count``, ``end_of_stream``), ``search`` (``results``,
    ``count``, ``next_page``) or ``list`` (``tickets``, ``next_page``); ``metric_sets`` are
    side-loaded per page (``include=metric_sets``). The last page says ``end_of_stream: true``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    base = _ZENDESK_API
    paths = []
    for number, records in enumerate(pages, start=1):
        last = number == len(pages)
        cursor = f"MTU4MDc1Mzc5OC4wfHw{number:04d}fA=="
        envelopes: dict[str, dict[str, Any]] = {
            "cursor": {
                "tickets": list(records),
                "after_url": f"{base}/incremental/tickets/cursor.json?cursor={cursor}",
                "after_cursor": cursor,
                "before_url": None,
                "before_cursor": None,
                "end_of_stream": last,
            },
            "time": {
                "tickets": list(records),
                "next_page": f"{base}/incremental/tickets.json?start_time={1767225600 + number}",
                "end_time": 1767225600 + number,
                "count": len(records),
                "end_of_stream": last,
            },
            "search": {
                "results": [
                    dict(r, result_type="ticket") if isinstance(r, dict) else r for r in records
                ],
                "facets": None,
                "next_page": None if last else f"{base}/search.json?page={number + 1}",
                "previous_page": None,
                "count": sum(len(p) for p in pages),
            },
            "list": {
                "tickets": list(records),
                "next_page": None if last else f"{base}/tickets.json?page={number + 1}",
                "previous_page": None,
                "count": sum(len(p) for p in pages),
            },
        }
        body = envelopes[style]
        if metric_sets is not None and metric_sets[number - 1] is not None:
            body["metric_sets"] = list(metric_sets[number - 1] or [])
        path = folder / f"{name}-{number:03d}.json"
        path.write_text(json.dumps(body, indent=2), encoding="utf-8")
        paths.append(path)
    return paths


def write_json_lines(path: Path, records: Sequence[Any]) -> Path:
    """One JSON value per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def zendesk_comment(
    comment_id: int, author_id: int, body: str, created_at: str, *, public: bool = True
) -> dict[str, Any]:
    """A ticket comment as the Ticket Comments API lists it (no ticket id in it)."""
    return {
        "id": comment_id,
        "type": "Comment",
        "author_id": author_id,
        "body": body,
        "html_body": f'<div class="zd-comment"><p dir="auto">{body}</p></div>',
        "plain_body": body,
        "public": public,
        "attachments": [],
        "audit_id": comment_id + 1,
        "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
        "metadata": {"system": {}, "custom": {}},
        "created_at": created_at,
    }


def zendesk_comment_event(
    ticket_id: int, author_id: int, body: str, created_at: str, *, public: bool = True
) -> dict[str, Any]:
    """A ticket event of the Incremental Ticket Event Export with ``include=comment_events``."""
    return {
        "id": 7000000 + ticket_id * 10,
        "ticket_id": ticket_id,
        "timestamp": int(pd.Timestamp(created_at).timestamp()),
        "created_at": created_at,
        "updater_id": author_id,
        "via": "Web form",
        "system": {},
        "metadata": {},
        "event_type": "Audit",
        "child_events": [
            {
                "id": 7000000 + ticket_id * 10 + 1,
                "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
                "via_reference_id": None,
                "type": "Comment",
                "author_id": author_id,
                "body": body,
                "html_body": f'<div class="zd-comment"><p dir="auto">{body}</p></div>',
                "public": public,
                "attachments": [],
                "audit_id": 7000000 + ticket_id * 10,
                "created_at": created_at,
                "event_type": "Comment",
            },
            {"id": 7000000 + ticket_id * 10 + 2, "event_type": "Change", "field_name": "status"},
        ],
    }


@dataclass
class ZendeskExport:
    """A generated Zendesk export: what was written and what an import must give back."""

    #: Ticket pages (the export files), in the order they were fetched.
    pages: list[Path]
    #: ``--with`` files: ticket metrics, comments, satisfaction ratings (where asked for).
    related: list[Path]
    #: The canonical rows an import must produce (ticket_id order), times in UTC.
    truth: pd.DataFrame
    #: Ids of tickets whose latest version says ``status: deleted``.
    deleted: list[str] = field(default_factory=list)
    #: Ids of tickets exported more than once (an older version first).
    repeated: list[str] = field(default_factory=list)
    #: Records written to the pages (read by an import).
    records: int = 0


def zendesk_export(
    folder: Path,
    n: int = 60,
    *,
    seed: int = 0,
    pages: int = 3,
    style: str = "cursor",
    metrics: str = "side",
    open_share: float = 0.2,
    repeated: int = 5,
    deleted: int = 2,
    comments: bool = False,
    ratings_file: bool = False,
    first_id: int = 1001,
) -> ZendeskExport:
    """Synthetic tickets (:func:`cxml.data.synth.make_tickets`) as a Zendesk export.

    Each ticket becomes a Tickets API record (``via.channel``, ``priority``, ``group_id``, tags,
    the category and tier in custom fields :data:`ZENDESK_CATEGORY_FIELD` and
    :data:`ZENDESK_TIER_FIELD`, the text as ``description``, ratings 1-2 as ``bad`` and 3-5 as
    ``good``, open tickets ``unoffered``) with a Ticket Metrics record (whole calendar minutes
    to the first reply, ``solved_at``, counts, ``group_stations`` = reassignments + 1).
    ``metrics`` is ``side`` (side-loaded ``metric_sets``), ``file`` (a ``ticket_metrics``
    export for ``--with``) or ``none``. ``repeated`` tickets are first exported in an older
    version (open, unrated, fewer replies); ``deleted`` tickets get a last version with
    ``status: deleted``. Pages are ordered by ``updated_at`` as the incremental export is.
    ``comments`` writes a comments export (JSON Lines with ``ticket_id``) whose requester's
    first public comment is the text (the description then says something else);
    ``ratings_file`` writes the satisfaction ratings export that gives ``rated_at``. Ticket
    ids count up from ``first_id``.
    """
    rng = np.random.default_rng(seed)
    frame = make_tickets(n, seed=seed, open_share=open_share, spike=False)
    versions: list[tuple[pd.Timestamp, dict[str, Any], dict[str, Any]]] = []
    truth, comment_rows, rating_rows = [], [], []
    for i, row in enumerate(frame.itertuples(index=False)):
        ticket_id = first_id + i
        created = pd.Timestamp(row.created_at, tz="UTC")
        solved = pd.Timestamp(row.solved_at, tz="UTC") if isinstance(row.solved_at, str) else None
        first = (
            pd.Timestamp(row.first_response_at, tz="UTC")
            if isinstance(row.first_response_at, str)
            else None
        )
        minutes = int((first - created).total_seconds() // 60) if first is not None else None
        score = None if pd.isna(row.rating) else ("bad" if int(row.rating) <= 2 else "good")
        answered = (
            pd.Timestamp(row.survey_answered_at, tz="UTC")
            if score is not None and isinstance(row.survey_answered_at, str)
            else None
        )
        comment = row.survey_comment if isinstance(row.survey_comment, str) else None
        updated = max(t for t in (created, first, solved, answered) if t is not None)
        updated += pd.Timedelta(minutes=int(rng.integers(1, 90)))
        category = row.category if isinstance(row.category, str) else None
        satisfaction: dict[str, Any] = {"score": "unoffered"}
        if score is not None:
            satisfaction = {"id": 880000 + i, "score": score, "comment": comment}
        elif solved is not None:
            satisfaction = {"score": "offered"}
        ticket = zendesk_ticket(
            ticket_id,
            _z(created),
            updated_at=_z(updated),
            priority=row.priority,
            status="solved" if solved is not None else "open",
            via={"channel": row.channel, "source": {"from": {}, "to": {}, "rel": None}},
            group_id=20001 + int(rng.integers(0, 4)),
            tags=[t for t in (category, row.customer_tier) if t],
            custom_fields=[
                {"id": ZENDESK_CATEGORY_FIELD, "value": category},
                {"id": ZENDESK_TIER_FIELD, "value": row.customer_tier},
            ],
            description=row.text if not comments else f"(sent by email) {row.text[:20]}",
            satisfaction_rating=satisfaction,
        )
        metric = zendesk_metric_set(
            ticket_id,
            replies=int(row.replies),
            reopens=int(row.reopens),
            group_stations=int(row.reassignments) + 1,
            assignee_stations=int(row.reassignments) + 1,
            reply_time_in_minutes={"calendar": minutes, "business": minutes},
            solved_at=_z(solved) if solved is not None else None,
            created_at=_z(created),
            updated_at=_z(updated),
        )
        versions.append((updated, ticket, metric))
        if score is not None:
            rating_rows.append(
                {
                    "id": 880000 + i,
                    "url": f"{_ZENDESK_API}/satisfaction_ratings/{880000 + i}.json",
                    "assignee_id": 7001,
                    "group_id": ticket["group_id"],
                    "requester_id": ticket["requester_id"],
                    "ticket_id": ticket_id,
                    "score": score,
                    "comment": comment,
                    "created_at": _z(answered or updated),
                    "updated_at": _z(answered or updated),
                }
            )
        if comments:
            comment_rows += [
                zendesk_comment(
                    ticket_id * 10 + 1,
                    7001,
                    "Internal: check the order.",
                    _z(created - pd.Timedelta(seconds=1)),
                    public=False,
                ),
                zendesk_comment(ticket_id * 10 + 2, ticket["requester_id"], row.text, _z(created)),
            ]
            if first is not None:
                comment_rows.append(
                    zendesk_comment(ticket_id * 10 + 3, 7001, "Thanks, we are on it.", _z(first))
                )
        truth.append(
            {
                "ticket_id": str(ticket_id),
                "created_at": created.isoformat(),
                "first_response_at": (
                    (created + pd.Timedelta(minutes=minutes)).isoformat()
                    if minutes is not None
                    else None
                ),
                "solved_at": solved.isoformat() if solved is not None else None,
                "channel": row.channel,
                "category": category,
                "priority": row.priority,
                "customer_tier": row.customer_tier,
                "replies": int(row.replies),
                "reopens": int(row.reopens),
                "text": row.text,
                "rating": score,
                "group_stations": int(row.reassignments) + 1,
                "assignee_stations": int(row.reassignments) + 1,
                "survey_comment": comment if score is not None else None,
                "rated_at": answered.isoformat() if answered is not None and ratings_file else None,
                "updated_at": updated.isoformat(),
            }
        )
    export_ids = [str(first_id + i) for i in range(n)]
    picked = rng.permutation(n)
    repeats = sorted(int(i) for i in picked[:repeated])
    deletes = sorted(int(i) for i in picked[repeated : repeated + deleted])
    for i in repeats:  # an older version: still open, unrated, fewer replies
        updated, ticket, metric = versions[i]
        earlier = pd.Timestamp(ticket["created_at"]) + pd.Timedelta(seconds=30)
        old = dict(ticket, status="open", updated_at=_z(earlier), satisfaction_rating=None)
        old_metric = dict(metric, replies=0, solved_at=None, updated_at=_z(earlier))
        versions.append((earlier, old, old_metric))
    for i in deletes:
        updated, ticket, metric = versions[i]
        later = updated + pd.Timedelta(days=1)
        versions.append((later, dict(ticket, status="deleted", updated_at=_z(later)), metric))
    versions.sort(key=lambda v: v[0])
    size = -(-len(versions) // pages)
    chunks = [versions[k : k + size] for k in range(0, len(versions), size)]
    folder.mkdir(parents=True, exist_ok=True)
    side = [[m for _, _, m in chunk] for chunk in chunks] if metrics == "side" else None
    paths = write_zendesk_pages(
        folder, [[t for _, t, _ in chunk] for chunk in chunks], style=style, metric_sets=side
    )
    related = []
    if metrics == "file":
        latest = {m["ticket_id"]: m for _, _, m in versions}
        path = folder / "ticket_metrics.json"
        path.write_text(json.dumps({"ticket_metrics": list(latest.values())}), encoding="utf-8")
        related.append(path)
    if comments:
        related.append(write_json_lines(folder / "comments.jsonl", _with_ids(comment_rows)))
    if ratings_file:
        path = folder / "satisfaction_ratings.json"
        body = {"satisfaction_ratings": rating_rows, "next_page": None, "count": len(rating_rows)}
        path.write_text(json.dumps(body), encoding="utf-8")
        related.append(path)
    expected = pd.DataFrame(truth)
    gone = [export_ids[i] for i in deletes]
    expected = expected[~expected["ticket_id"].isin(gone)].reset_index(drop=True)
    if metrics == "none":
        for name in ("first_response_at", "solved_at", *_ZENDESK_COUNTS):
            expected[name] = None
    return ZendeskExport(
        pages=paths,
        related=related,
        truth=expected,
        deleted=gone,
        repeated=[export_ids[i] for i in repeats],
        records=len(versions),
    )


def _z(moment: pd.Timestamp) -> str:
    """Zendesk's time form: UTC with a ``Z``."""
    return moment.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _with_ids(comments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Comments saved as JSON Lines, each with the ticket id it was fetched for."""
    return [dict(c, ticket_id=c["id"] // 10) for c in comments]


# --- Freshdesk (developer.freshdesk.com/api: List Tickets with include=stats, Surveys >
# satisfaction_ratings; the Tickets > Export CSV) ----------------------------------------------

#: Synthetic channels as Freshdesk ``source`` codes, and the names the API's codes stand for.
_FRESHDESK_SOURCES = {"email": 1, "web": 2, "phone": 3, "chat": 7, "social": 9}
_FRESHDESK_SOURCE_NAMES = {1: "Email", 2: "Portal", 3: "Phone", 7: "Chat", 9: "Feedback Widget"}
_FRESHDESK_PRIORITIES = {"low": (1, "Low"), "normal": (2, "Medium"), "high": (3, "High")}
_FRESHDESK_PRIORITIES |= {"urgent": (4, "Urgent")}
_FRESHDESK_STATUSES = {2: "Open", 4: "Resolved", 5: "Closed"}
#: 1-5 ratings as a 5-point Freshdesk survey codes them, and the labels its CSV export writes.
FRESHDESK_RATING_CODES = {5: 103, 4: 102, 3: 100, 2: -102, 1: -103}
_FRESHDESK_LABELS = {103: "Extremely Happy", 102: "Very Happy", 100: "Neutral"}
_FRESHDESK_LABELS |= {-102: "Very Unhappy", -103: "Extremely Unhappy"}
#: The columns of Freshdesk's ticket CSV export (a custom field "Tier" last).
FRESHDESK_CSV_COLUMNS = [
    "Ticket ID", "Subject", "Description", "Status", "Priority", "Source", "Type", "Agent",
    "Group", "Created time", "Due by Time", "Resolved time", "Closed time", "Last update time",
    "Initial response time", "Time tracked", "First response time (in hrs)",
    "Resolution time (in hrs)", "Agent interactions", "Customer interactions",
    "Resolution status", "First response status", "Tags", "Survey results", "Product", "Tier",
]  # fmt: skip


@dataclass
class VendorExport:
    """A generated helpdesk or survey export: the files and what an import must give back."""

    files: list[Path]
    #: ``--with`` files (Freshdesk satisfaction ratings).
    related: list[Path]
    #: The canonical rows an import must produce (id order), times in UTC.
    truth: pd.DataFrame
    #: Records written (read by an import).
    records: int
    #: ``--field`` options the import needs.
    fields: dict[str, str] = field(default_factory=dict)
    #: Ids dropped on purpose (deleted, spam, survey previews).
    dropped: list[str] = field(default_factory=list)
    #: Ids written more than once (an older version too).
    repeated: list[str] = field(default_factory=list)


def _utc(value: Any) -> pd.Timestamp | None:
    """A synthetic time (naive text, UTC) as an aware Timestamp; None when missing."""
    return pd.Timestamp(value, tz="UTC") if isinstance(value, str) else None


def _iso(moment: pd.Timestamp | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _synthetic_tickets(n: int, seed: int) -> list[dict[str, Any]]:
    """Synthetic tickets as plain dicts, times as aware Timestamps (None when missing)."""
    frame = make_tickets(n, seed=seed, open_share=0.2, spike=False)
    rows = []
    for row in frame.to_dict(orient="records"):
        for name in ("created_at", "first_response_at", "solved_at", "survey_answered_at"):
            row[name] = _utc(row[name])
        row["rating"] = None if pd.isna(row["rating"]) else int(row["rating"])
        row["category"] = row["category"] if isinstance(row["category"], str) else None
        if not isinstance(row["survey_comment"], str) or row["rating"] is None:
            row["survey_comment"] = None
        rows.append(row)
    return rows


def freshdesk_export(
    folder: Path, n: int = 40, *, seed: int = 0, repeated: int = 4, no_stats: int = 3
) -> VendorExport:
    """Synthetic tickets as Freshdesk List Tickets pages (``include=stats``) with ratings.

    Page 1 is a JSON array, page 2 JSON Lines. Codes as the API writes them: ``status`` 2 / 4 /
    5, ``priority`` 1-4, ``source`` 1 / 2 / 3 / 7 / 9 (ticket 0: 11, a code Freshdesk does not
    name), the category as ``type``, the tier in ``custom_fields.cf_tier``. Resolved tickets
    have ``resolved_at`` (closed ones also a later ``closed_at``; every sixth only
    ``closed_at``), reopened ones ``reopened_at``; ``no_stats`` tickets have no ``stats``.
    ``repeated`` tickets are also written in an older version (open, no stats) at the end of
    the last page; the last two are deleted and spam. ``satisfaction_ratings.json`` codes 1-5
    as a 5-point survey does, with an older rating written after a newer one and a rating of a
    ticket not in the export.
    """
    rng = np.random.default_rng(seed)
    rows = _synthetic_tickets(n, seed)
    bare = set(rng.choice(np.arange(1, n - 2), no_stats, replace=False).tolist())
    tickets, ratings, truth = [], [], []
    for i, row in enumerate(rows):
        ticket_id = 5001 + i
        created, first, solved = row["created_at"], row["first_response_at"], row["solved_at"]
        status = 2 if solved is None else (5 if i % 3 == 0 else 4)
        reopened = (
            first + pd.Timedelta(minutes=30) if first is not None and row["reopens"] else None
        )
        source = 11 if i == 0 else _FRESHDESK_SOURCES[row["channel"]]
        stats: dict[str, Any] = {
            "agent_responded_at": _z_or_none(first),
            "first_responded_at": _z_or_none(first),
            "resolved_at": _z_or_none(solved) if i % 6 else None,
            "closed_at": None,
            "reopened_at": _z_or_none(reopened),
            "pending_since": None,
        }
        if solved is not None and (status == 5 or not i % 6):
            stats["closed_at"] = _z(solved + pd.Timedelta(days=2 if i % 6 else 0))
        ticket = {
            "id": ticket_id,
            "subject": f"Request {ticket_id}",
            "description": f"<div>{html.escape(row['text'])}</div>",
            "description_text": row["text"],
            "status": status,
            "priority": _FRESHDESK_PRIORITIES[row["priority"]][0],
            "source": source,
            "type": row["category"],
            "group_id": 43000000 + i % 3,
            "responder_id": 43100000 + i % 5,
            "requester_id": 43200000 + i,
            "tags": ["synthetic", row["channel"]],
            "custom_fields": {"cf_tier": row["customer_tier"], "cf_order_ref": None},
            "spam": False,
            "created_at": _z(created),
            "updated_at": _z((solved or first or created) + pd.Timedelta(hours=2)),
            "due_by": _z(created + pd.Timedelta(days=3)),
        }
        if i not in bare:
            ticket["stats"] = stats
        tickets.append(ticket)
        if row["rating"] is not None:
            ratings.append(
                _freshdesk_rating(
                    ticket_id, row["rating"], row["survey_comment"], row["survey_answered_at"]
                )
            )
        named = {1: "email", 2: "portal", 3: "phone", 7: "chat", 9: "feedback_widget"}
        truth.append(
            {
                "ticket_id": str(ticket_id),
                "created_at": _iso(created),
                "first_response_at": None if i in bare else _iso(first),
                "solved_at": None if i in bare else _iso(solved),
                "channel": named.get(source, str(source)),
                "category": row["category"],
                "priority": row["priority"],
                "customer_tier": row["customer_tier"],
                "reopens": None if i in bare else int(reopened is not None),
                "text": row["text"],
                "rating": row["rating"],
                "survey_comment": row["survey_comment"],
                "rated_at": _iso(row["survey_answered_at"]) if row["rating"] else None,
            }
        )
    tickets[-2]["deleted"] = True
    tickets[-1]["spam"] = True
    repeats = rng.choice(np.arange(n - 2), repeated, replace=False).tolist()
    older = [
        dict(tickets[i], status=2, updated_at=tickets[i]["created_at"], stats=None) for i in repeats
    ]
    older = [{k: v for k, v in t.items() if k != "stats"} for t in older]
    half = n // 2
    folder.mkdir(parents=True, exist_ok=True)
    first_page = folder / "tickets-001.json"
    first_page.write_text(json.dumps(tickets[:half], indent=1), encoding="utf-8")
    second_page = write_json_lines(folder / "tickets-002.jsonl", tickets[half:] + older)
    if ratings:
        newest = ratings[0]
        ratings.append(
            dict(
                newest,
                id=newest["id"] + 1,
                ratings={"default_question": 100},
                updated_at=_z(pd.Timestamp(newest["updated_at"]) - pd.Timedelta(days=1)),
            )
        )
    ratings.append(_freshdesk_rating(999999, 5, None, pd.Timestamp("2026-06-01", tz="UTC")))
    rated = folder / "satisfaction_ratings.json"
    rated.write_text(json.dumps(ratings), encoding="utf-8")
    return VendorExport(
        files=[first_page, second_page],
        related=[rated],
        truth=pd.DataFrame(truth[:-2]),
        records=n + len(older),
        fields={"customer_tier": "cf_tier"},
        dropped=[str(5001 + n - 2), str(5001 + n - 1)],
        repeated=[str(5001 + i) for i in repeats],
    )


def _z_or_none(moment: pd.Timestamp | None) -> str | None:
    return None if moment is None else _z(moment)


def _freshdesk_rating(
    ticket_id: int, rating: int, comment: str | None, answered: pd.Timestamp | None
) -> dict[str, Any]:
    """A record of ``GET /api/v2/surveys/satisfaction_ratings``."""
    moment = _z(answered) if answered is not None else "2026-06-01T00:00:00Z"
    return {
        "id": 43900000 + ticket_id,
        "survey_id": 43000089898,
        "user_id": 43200000,
        "agent_id": 43100000,
        "feedback": comment or "",
        "group_id": None,
        "ticket_id": ticket_id,
        "ratings": {"default_question": FRESHDESK_RATING_CODES[rating]},
        "created_at": moment,
        "updated_at": moment,
    }


def freshdesk_csv(
    folder: Path,
    n: int = 30,
    *,
    seed: int = 0,
    zone: str = "Asia/Kolkata",
    encoding: str = "utf-8",
    codes: bool = False,
) -> VendorExport:
    """Synthetic tickets as Freshdesk's CSV ticket export (:data:`FRESHDESK_CSV_COLUMNS`).

    Times are written ``YYYY-MM-DD HH:MM:SS`` in ``zone`` (the exporting agent's), without an
    offset; status, priority and source as names (or, with ``codes``, as the API's numbers);
    ``Tags`` comma separated; ``Survey results`` the rating's label; ``Agent interactions`` the
    replies. The first description has characters outside ASCII (for ``cp1252``).
    """
    rows = _synthetic_tickets(n, seed)
    local = ZoneInfo(zone)
    records, truth = [], []
    for i, row in enumerate(rows):
        ticket_id = 7001 + i
        created, first, solved = row["created_at"], row["first_response_at"], row["solved_at"]
        status = 2 if solved is None else (5 if i % 3 == 0 else 4)
        source = _FRESHDESK_SOURCES[row["channel"]]
        priority = _FRESHDESK_PRIORITIES[row["priority"]]
        text = row["text"] + (" Merci, très bien — 5€." if i == 0 else "")
        code = FRESHDESK_RATING_CODES.get(row["rating"] or 0)

        def when(moment: pd.Timestamp | None) -> str:
            return "" if moment is None else moment.tz_convert(local).strftime("%Y-%m-%d %H:%M:%S")

        updated = (solved or first or created) + pd.Timedelta(hours=2)
        records.append(
            {
                "Ticket ID": ticket_id,
                "Subject": f"Request {ticket_id}",
                "Description": text,
                "Status": status if codes else _FRESHDESK_STATUSES[status],
                "Priority": priority[0] if codes else priority[1],
                "Source": source if codes else _FRESHDESK_SOURCE_NAMES[source],
                "Type": row["category"] or "",
                "Agent": f"Agent {i % 4}",
                "Group": f"Group {i % 3}",
                "Created time": when(created),
                "Due by Time": when(created + pd.Timedelta(days=3)),
                "Resolved time": when(solved),
                "Closed time": when(solved) if status == 5 else "",
                "Last update time": when(updated),
                "Initial response time": when(first),
                "Time tracked": "00:00",
                "First response time (in hrs)": "01:30:00",
                "Resolution time (in hrs)": "",
                "Agent interactions": row["replies"],
                "Customer interactions": 1,
                "Resolution status": "Within SLA" if solved is not None else "",
                "First response status": "Within SLA",
                "Tags": f"synthetic,{row['channel']}",
                "Survey results": _FRESHDESK_LABELS[code] if code else "",
                "Product": "Example Store",
                "Tier": row["customer_tier"],
            }
        )
        truth.append(
            {
                "ticket_id": str(ticket_id),
                "created_at": _iso(created.floor("s")),
                "first_response_at": _iso(first.floor("s")) if first is not None else None,
                "solved_at": _iso(solved.floor("s")) if solved is not None else None,
                "channel": {1: "email", 2: "portal", 3: "phone", 7: "chat"}.get(
                    source, "feedback_widget"
                ),
                "category": row["category"],
                "priority": row["priority"],
                "customer_tier": row["customer_tier"],
                "replies": row["replies"],
                "text": text,
                "rating": row["rating"],
            }
        )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tickets.csv"
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.DictWriter(fh, FRESHDESK_CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(records)
    return VendorExport(
        files=[path],
        related=[],
        truth=pd.DataFrame(truth),
        records=n,
        fields={"time_zone": zone, "customer_tier": "Tier"},
    )


# --- Intercom (developers.intercom.com REST API 2.x: the Conversation model, List / Search
# Conversations, Retrieve a Conversation) ---------------------------------------------------

#: Synthetic channels as Intercom ``source.type``, and the channel an import gives back.
_INTERCOM_SOURCES = {"email": "email", "chat": "conversation", "web": "conversation"}
_INTERCOM_SOURCES |= {"phone": "phone_call", "social": "whatsapp"}


def intercom_export(
    folder: Path, n: int = 30, *, seed: int = 0, repeated: int = 3, retrieved: int = 4
) -> VendorExport:
    """Synthetic tickets as Intercom conversations.

    Two List Conversations pages (``{"type": "conversation.list", "conversations": [...],
    "pages": {...}}``) hold all but the last ``retrieved`` conversations, which are written as
    Retrieve Conversation objects with their ``conversation_parts`` (the teammates' replies as
    ``comment`` parts by an ``admin``; the last one's parts cut short, ``total_count`` larger).
    ``statistics`` give ``first_admin_reply_at``, ``last_close_at``, ``count_reopens`` and
    ``count_assignments`` (reassignments + 1); high and urgent tickets are ``priority``; the
    category and tier are custom attributes ``Category`` and ``Tier``; ratings come with their
    ``remark``. ``repeated`` conversations are also written in an older version (open, unrated)
    at the end of the second page.
    """
    rng = np.random.default_rng(seed)
    rows = _synthetic_tickets(n, seed)
    conversations, truth = [], []
    for i, row in enumerate(rows):
        created, first, solved = row["created_at"], row["first_response_at"], row["solved_at"]
        single = i >= n - retrieved

        conversation: dict[str, Any] = {
            "type": "conversation",
            "id": str(8001 + i),
            "title": None,
            "created_at": _unix(created),
            "updated_at": _unix((solved or first or created) + pd.Timedelta(hours=1)),
            "waiting_since": None,
            "snoozed_until": None,
            "open": solved is None,
            "state": "open" if solved is None else "closed",
            "read": True,
            "priority": "priority" if row["priority"] in {"high", "urgent"} else "not_priority",
            "admin_assignee_id": 814860 + i % 4,
            "team_assignee_id": 5017690 + i % 3,
            "tags": {
                "type": "tag.list",
                "tags": [
                    {
                        "type": "tag",
                        "id": "901",
                        "name": row["channel"],
                        "applied_at": _unix(created),
                        "applied_by": {"type": "admin", "id": "1"},
                    }
                ],
            },
            "conversation_rating": None,
            "source": {
                "type": _INTERCOM_SOURCES[row["channel"]],
                "id": str(403918300 + i),
                "delivered_as": "customer_initiated",
                "subject": "",
                "body": _paragraphs(row["text"]),
                "author": {"type": "user", "id": f"u{i}", "name": "A customer", "email": ""},
                "attachments": [],
                "url": None,
                "redacted": False,
            },
            "custom_attributes": {"Category": row["category"], "Tier": row["customer_tier"]},
            "statistics": {
                "type": "conversation_statistics",
                "time_to_assignment": 0,
                "time_to_admin_reply": None
                if first is None
                else int((first - created).total_seconds()),
                "first_contact_reply_at": _unix(created),
                "first_assignment_at": _unix(created),
                "first_admin_reply_at": None if first is None else _unix(first),
                "first_close_at": None if solved is None else _unix(solved),
                "last_close_at": None if solved is None else _unix(solved),
                "count_reopens": row["reopens"],
                "count_assignments": row["reassignments"] + 1,
                "count_conversation_parts": row["replies"] + 2,
            },
        }
        if row["rating"] is not None:
            conversation["conversation_rating"] = {
                "rating": row["rating"],
                "remark": row["survey_comment"],
                "created_at": _unix(row["survey_answered_at"]),
                "contact": {"type": "contact", "id": f"u{i}"},
                "teammate": {"type": "admin", "id": "814860"},
            }
        replies: int | None = None
        if single:
            parts = [
                {"type": "conversation_part", "id": str(10 * i + k), "part_type": "comment",
                 "body": "<p>On it.</p>", "author": {"type": "admin", "id": "814860"}}
                for k in range(row["replies"])
            ]  # fmt: skip
            parts.append(
                {
                    "type": "conversation_part",
                    "id": str(10 * i + 9),
                    "part_type": "note",
                    "body": "<p>internal</p>",
                    "author": {"type": "admin", "id": "1"},
                }
            )
            cut = i == n - 1
            conversation["conversation_parts"] = {
                "type": "conversation_part.list",
                "conversation_parts": parts,
                "total_count": len(parts) + (5 if cut else 0),
            }
            replies = None if cut else row["replies"]
        conversations.append(conversation)
        truth.append(
            {
                "ticket_id": str(8001 + i),
                "created_at": _iso(created.floor("s")),
                "first_response_at": _iso(first.floor("s")) if first is not None else None,
                "solved_at": _iso(solved.floor("s")) if solved is not None else None,
                "channel": {"conversation": "chat"}.get(
                    _INTERCOM_SOURCES[row["channel"]], _INTERCOM_SOURCES[row["channel"]]
                ),
                "category": row["category"],
                "priority": "high" if row["priority"] in {"high", "urgent"} else "normal",
                "customer_tier": row["customer_tier"],
                "replies": replies,
                "reopens": row["reopens"],
                "reassignments": row["reassignments"],
                "text": "\n".join(row["text"].split("\n\n")),
                "rating": row["rating"],
                "survey_comment": row["survey_comment"],
                "rated_at": _iso(row["survey_answered_at"].floor("s"))
                if row["rating"] is not None
                else None,
            }
        )
    repeats = rng.choice(np.arange(n - retrieved), repeated, replace=False).tolist()
    older = [
        dict(
            conversations[i],
            state="open",
            open=True,
            conversation_rating=None,
            updated_at=conversations[i]["created_at"],
        )
        for i in repeats
    ]
    listed = conversations[: n - retrieved]
    half = len(listed) // 2
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for number, part in enumerate((listed[:half], listed[half:] + older), start=1):
        body = {
            "type": "conversation.list",
            "pages": {"type": "pages", "page": number, "per_page": 20, "total_pages": 2},
            "total_count": len(listed),
            "conversations": part,
        }
        path = folder / f"conversations-{number:03d}.json"
        path.write_text(json.dumps(body, indent=1), encoding="utf-8")
        files.append(path)
    for conversation in conversations[n - retrieved :]:
        path = folder / f"conversation-{conversation['id']}.json"
        path.write_text(json.dumps(conversation), encoding="utf-8")
        files.append(path)
    return VendorExport(
        files=files,
        related=[],
        truth=pd.DataFrame(truth),
        records=n + len(older),
        fields={"category": "Category", "customer_tier": "Tier"},
        repeated=[str(8001 + i) for i in repeats],
    )


def _paragraphs(text: str) -> str:
    """A text as the HTML body Intercom stores: one ``<p>`` per paragraph."""
    return "".join(f"<p>{html.escape(part)}</p>" for part in text.split("\n\n"))


def _unix(moment: pd.Timestamp) -> int:
    """Intercom's time form: whole seconds since 1970 (UTC)."""
    return int(moment.timestamp())


# --- Qualtrics (qualtrics.com/support: Understanding Your Dataset, Export Data) --------------

#: CSAT choices of Qualtrics' library question, top (recode 1) to bottom (recode 5).
QUALTRICS_CSAT_CHOICES = [
    "Extremely satisfied",
    "Somewhat satisfied",
    "Neither satisfied nor dissatisfied",
    "Somewhat dissatisfied",
    "Extremely dissatisfied",
]
#: A 1-5 rating as a 0-10 likelihood to recommend (the NPS question of the generated survey).
_NPS_OF_RATING = {1: 2, 2: 5, 3: 7, 4: 9, 5: 10}
_QUALTRICS_COLUMNS = [
    # (column name, question text, Import ID JSON); ``{zone}`` is the export's time zone
    ("StartDate", "Start Date", '{"ImportId":"startDate","timeZone":"{zone}"}'),
    ("EndDate", "End Date", '{"ImportId":"endDate","timeZone":"{zone}"}'),
    ("Status", "Response Type", '{"ImportId":"status"}'),
    ("IPAddress", "IP Address", '{"ImportId":"ipAddress"}'),
    ("Progress", "Progress", '{"ImportId":"progress"}'),
    ("Duration (in seconds)", "Duration (in seconds)", '{"ImportId":"duration"}'),
    ("Finished", "Finished", '{"ImportId":"finished"}'),
    ("RecordedDate", "Recorded Date", '{"ImportId":"recordedDate","timeZone":"{zone}"}'),
    ("ResponseId", "Response ID", '{"ImportId":"_recordId"}'),
    ("ExternalReference", "External Data Reference", '{"ImportId":"externalDataReference"}'),
    ("DistributionChannel", "Distribution Channel", '{"ImportId":"distributionChannel"}'),
    ("UserLanguage", "User Language", '{"ImportId":"userLanguage"}'),
    ("Q1", "How likely are you to recommend Example Store to a friend or colleague?",
     '{"ImportId":"QID1"}'),
    ("Q1_NPS_GROUP", "How likely are you to recommend Example Store to a friend or colleague? "
     "- Group", '{"ImportId":"QID1_NPS_GROUP"}'),
    ("Q2", "Overall, how satisfied or dissatisfied are you with our support?\n(Select one)",
     '{"ImportId":"QID2"}'),
    ("Q3", "What is the main reason for your score?", '{"ImportId":"QID3_TEXT"}'),
]  # fmt: skip


def qualtrics_export(
    folder: Path,
    n: int = 30,
    *,
    seed: int = 0,
    zone: str = "America/Denver",
    numeric: bool = False,
    encoding: str = "utf-8",
    tsv: bool = False,
) -> VendorExport:
    """Synthetic comments as a Qualtrics response export with its three header rows.

    Columns as Qualtrics writes them (``StartDate`` ... ``UserLanguage``, then the NPS question
    ``Q1`` (QID1) with its group, the CSAT question ``Q2`` (QID2, whose text runs over two
    lines) and the text entry ``Q3`` (QID3_TEXT)); dates ``YYYY-MM-DD HH:MM:SS`` in ``zone``
    as the Import IDs say. ``numeric`` writes recode values (CSAT 1 = Extremely satisfied, as
    Qualtrics numbers choices from the top; -99 for seen but unanswered), else choice text
    (``10 - Extremely likely``). Besides the ``n`` answers: a survey preview, a response
    without any answer and one with scores but no text. ``tsv`` writes tab-separated
    ``responses.tsv``; the first text has characters outside ASCII (for ``cp1252``).
    """
    comments = make_comments(n, seed=seed, spike=False)
    local = ZoneInfo(zone)
    names = [c[0] for c in _QUALTRICS_COLUMNS]
    header = [names, [c[1] for c in _QUALTRICS_COLUMNS]]
    header.append([c[2].replace("{zone}", zone) for c in _QUALTRICS_COLUMNS])
    records, truth = [], []
    for i, row in enumerate(comments.to_dict(orient="records")):
        recorded = pd.Timestamp(row["created_at"], tz="UTC")
        csat = int(row["rating"])
        nps = _NPS_OF_RATING[csat]
        text = row["text"] + (" Très bien, café à 5€." if i == 0 else "")
        text = text.encode(encoding, "replace").decode(encoding)  # what the encoding can hold
        records.append(
            _qualtrics_response(f"R_{i:04d}{seed}x", recorded, local, nps, csat, text, numeric)
        )
        truth.append(
            {
                "id": f"R_{i:04d}{seed}x",
                "text": text,
                "lang": "en",
                "rating": csat,
                "created_at": _iso(recorded.floor("s")),
                "nps": nps,
                "csat": csat,
            }
        )
    moment = pd.Timestamp("2026-03-01T12:00:00Z")
    preview = _qualtrics_response("R_preview", moment, local, 9, 4, "testing", numeric)
    preview["Status"] = "1" if numeric else "Survey Preview"
    blank = "-99" if numeric else ""
    empty = _qualtrics_response("R_empty", moment, local, None, None, blank, numeric)
    scores_only = _qualtrics_response("R_scores", moment, local, 10, 5, blank, numeric)
    records += [preview, empty, scores_only]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ("responses.tsv" if tsv else "responses.csv")
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter="\t" if tsv else ",")
        writer.writerows(header)
        writer.writerows([record[name] for name in names] for record in records)
    fields = {
        "text": "QID3",
        "nps": "How likely are you to recommend Example Store...",
        "csat": "QID2",
        "rating": "csat",
    }
    if numeric:
        fields["csat_order"] = "best-first"
    return VendorExport(
        files=[path],
        related=[],
        truth=pd.DataFrame(truth),
        records=n + 3,
        fields=fields,
        dropped=["R_preview"],
    )


def _qualtrics_response(
    response_id: str,
    recorded: pd.Timestamp,
    zone: ZoneInfo,
    nps: int | None,
    csat: int | None,
    text: str,
    numeric: bool,
) -> dict[str, Any]:
    """One response row: choice text or recode values, times in ``zone``."""

    def local(moment: pd.Timestamp) -> str:
        return moment.tz_convert(zone).strftime("%Y-%m-%d %H:%M:%S")

    missing = "-99" if numeric else ""
    if nps is None:
        nps_cell, group = missing, missing
    elif numeric:
        nps_cell, group = str(nps), str(1 if nps <= 6 else 2 if nps <= 8 else 3)
    else:
        labels = {0: "0 - Not at all likely", 10: "10 - Extremely likely"}
        nps_cell = labels.get(nps, str(nps))
        group = "Detractor" if nps <= 6 else "Passive" if nps <= 8 else "Promoter"
    if csat is None:
        csat_cell = missing
    elif numeric:
        csat_cell = str(6 - csat)  # recode 1 is the top choice, Extremely satisfied
    else:
        csat_cell = QUALTRICS_CSAT_CHOICES[5 - csat]
    return {
        "StartDate": local(recorded - pd.Timedelta(minutes=3)),
        "EndDate": local(recorded),
        "Status": "0" if numeric else "IP Address",
        "IPAddress": "",
        "Progress": "100",
        "Duration (in seconds)": "180",
        "Finished": "1" if numeric else "True",
        "RecordedDate": local(recorded),
        "ResponseId": response_id,
        "ExternalReference": "",
        "DistributionChannel": "anonymous",
        "UserLanguage": "EN",
        "Q1": nps_cell,
        "Q1_NPS_GROUP": group,
        "Q2": csat_cell,
        "Q3": text,
    }


def survey_csv(folder: Path, n: int = 20, *, seed: int = 0) -> VendorExport:
    """Synthetic comments in the generic survey shape: one header row, the user's own names.

    Columns ``response_id``, ``submitted`` (ISO 8601 with a +09:00 offset), ``comment``,
    ``likelihood`` (NPS 0-10) and ``customer``.
    """
    comments = make_comments(n, seed=seed, spike=False)
    records, truth = [], []
    for row in comments.to_dict(orient="records"):
        moment = pd.Timestamp(row["created_at"], tz="UTC")
        nps = _NPS_OF_RATING[int(row["rating"])]
        records.append(
            {
                "response_id": row["id"],
                "submitted": moment.tz_convert("Asia/Seoul").isoformat(),
                "comment": row["text"],
                "likelihood": nps,
                "customer": row["customer_id"],
            }
        )
        truth.append(
            {
                "id": row["id"],
                "text": row["text"],
                "rating": nps,
                "created_at": _iso(moment),
                "customer_id": row["customer_id"],
                "nps": nps,
            }
        )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "survey.csv"
    pd.DataFrame(records).to_csv(path, index=False)
    fields = {"id": "response_id", "created_at": "submitted", "text": "comment"}
    fields |= {"nps": "likelihood", "customer_id": "customer"}
    return VendorExport(
        files=[path], related=[], truth=pd.DataFrame(truth), records=n, fields=fields
    )


def assert_imported(frame: pd.DataFrame, truth: pd.DataFrame) -> None:
    """``frame`` holds exactly ``truth``'s rows (by its first column) and values (missing ones
    as missing, whole floats as the integers they are)."""
    key = truth.columns[0]
    got = frame.set_index(key).sort_index()
    want = truth.set_index(key).sort_index()
    assert list(got.index) == list(want.index), set(got.index) ^ set(want.index)
    for column in want.columns:
        assert column in got, f"{column} missing from the import"
        pairs = zip(map(_plain_value, got[column]), map(_plain_value, want[column]), strict=True)
        wrong = [(i, g, w) for i, (g, w) in zip(want.index, pairs, strict=True) if g != w]
        assert not wrong, f"{column}: {len(wrong)} values differ, e.g. {wrong[:3]}"


def _plain_value(value: Any) -> Any:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    return value.item() if isinstance(value, np.generic) else value
