"""Zendesk webhooks in: the request's signature checked, its ticket read as a ticket row.

Zendesk signs each webhook request: ``X-Zendesk-Webhook-Signature`` is
``base64(HMAC-SHA256(key=signing secret, message=timestamp + raw body))`` and
``X-Zendesk-Webhook-Signature-Timestamp`` the timestamp (ISO 8601, e.g.
``2026-03-02T09:15:00Z``). :class:`SignatureVerifier` recomputes the signature over the raw
bytes received (never a re-encoded body), refuses timestamps more than ``tolerance`` seconds
away from now (stale), and refuses a signature it already accepted within that window (a
replay). The seen signatures are kept in memory, per process.

Two bodies are read (:func:`read_body`): the JSON a trigger or automation sends from the body
template in ``docs/zendesk-webhook.md`` (``{"ticket": {"id": "{{ticket.id}}", ...}}``), and the
body of an event webhook subscribed to ticket events (``{"type":
"zen:event-type:ticket.status_changed", "detail": {<the ticket>}, ...}``). Both carry the ticket
in the Tickets API's shape, which :func:`cxml.connectors.zendesk.ticket_row` maps like an
export's tickets. Placeholders render display values (``Normal``, ``Question``), so status,
priority, type and channel are lower-cased, and a tag list rendered as text is split on spaces.

Examples
--------
>>> body = b'{"ticket": {"id": "35436", "created_at": "2026-03-02T09:15Z", "priority": "High"}}'
>>> stamp = "2026-03-02T09:20:00Z"
>>> verifier = SignatureVerifier("secret", clock=lambda: 1772443200.0)  # 09:20:00 UTC
>>> verifier.verify(body, signature("secret", stamp, body), stamp)
>>> ticket = read_body(body)
>>> ticket.event, ticket.row["ticket_id"], ticket.row["priority"]
('trigger', '35436', 'high')
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Literal

from cxml.connectors.result import RecordError
from cxml.connectors.zendesk import ticket_row

__all__ = [
    "DEFAULT_TOLERANCE",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "SignatureVerifier",
    "WebhookRefused",
    "WebhookTicket",
    "read_body",
    "signature",
]

SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"
#: Seconds a signed request stays acceptable either side of now.
DEFAULT_TOLERANCE = 300.0
#: The event types whose ``detail`` is a ticket.
TICKET_EVENTS = "zen:event-type:ticket."
_LOWERED = ("status", "priority", "type")
_NO_FIELDS: Mapping[str, str] = MappingProxyType({})


class WebhookRefused(Exception):
    """A request that is not taken: ``reason`` says why.

    ``missing`` (no signature or timestamp header) and ``bad`` (a signature that does not match,
    a timestamp that is no time) mean the sender is not shown to hold the secret; ``stale``
    (a timestamp outside the tolerance) and ``replayed`` (a signature already taken) mean a
    genuine request arrived too late or twice.
    """

    def __init__(self, reason: Literal["missing", "bad", "stale", "replayed"], detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The signature Zendesk sends for ``body`` at ``timestamp``.

    >>> signature("secret", "2026-03-02T09:15:00Z", b"{}")
    'a16uYbWqPABjMXk2gnRymvFAKuPgf8xMx4GQn2zc9/o='
    """
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class SignatureVerifier:
    """Check the signature, age and novelty of webhook requests signed with ``secret``.

    Parameters
    ----------
    secret : str
        The webhook's signing secret (Zendesk Admin Center, the webhook's page).
    tolerance : float, default=300
        Seconds a request's timestamp may be away from now, either way; a signature is
        remembered that long after its timestamp, to refuse it when it comes again.
    clock : callable, default=time.time
        Now, in seconds since the epoch.
    """

    def __init__(
        self,
        secret: str,
        *,
        tolerance: float = DEFAULT_TOLERANCE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ValueError("the signing secret is empty")
        if not tolerance > 0:
            raise ValueError(f"tolerance must be > 0 seconds, got {tolerance!r}")
        self._key = secret
        self.tolerance = tolerance
        self._clock = clock
        self._seen: dict[str, float] = {}  # signature -> when to forget it
        self._lock = threading.Lock()

    def verify(self, body: bytes, given: str | None, timestamp: str | None) -> None:
        """Accept the request, or raise :class:`WebhookRefused` saying why.

        ``given`` and ``timestamp`` are the two headers' values (None when absent); ``body`` is
        the raw body as received.
        """
        absent = [
            name
            for name, value in ((SIGNATURE_HEADER, given), (TIMESTAMP_HEADER, timestamp))
            if not value
        ]
        if absent or given is None or timestamp is None:
            raise WebhookRefused("missing", f"missing header {' and '.join(absent)}")
        expected = signature(self._key, timestamp, body)
        if not hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", "replace")):
            raise WebhookRefused("bad", f"{SIGNATURE_HEADER} does not match the body and timestamp")
        moment = _seconds(timestamp)
        if moment is None:
            raise WebhookRefused("bad", f"{TIMESTAMP_HEADER} is no ISO 8601 time: {timestamp!r}")
        now = self._clock()
        age = now - moment
        if abs(age) > self.tolerance:
            when = f"{age:.0f} s old" if age > 0 else f"{-age:.0f} s in the future"
            raise WebhookRefused(
                "stale", f"the request's timestamp is {when}; at most {self.tolerance:.0f} s"
            )
        with self._lock:
            self._seen = {k: until for k, until in self._seen.items() if until >= now}
            if expected in self._seen:
                raise WebhookRefused("replayed", "this signed request was already received")
            self._seen[expected] = max(moment, now) + self.tolerance


def _seconds(timestamp: str) -> float | None:
    """An ISO 8601 time (no offset means UTC) as seconds since the epoch; None if it is none."""
    try:
        moment = datetime.fromisoformat(timestamp.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass(frozen=True)
class WebhookTicket:
    """The ticket of one webhook request.

    Attributes
    ----------
    event : str
        The event type (``zen:event-type:ticket.comment_added``...), or ``trigger`` for the body
        of a trigger or automation.
    row : dict
        The ticket as :func:`~cxml.connectors.zendesk.ticket_row` maps it.
    """

    event: str
    row: dict[str, Any]


def read_body(body: bytes, *, fields: Mapping[str, str] = _NO_FIELDS) -> WebhookTicket:
    """The ticket of a trigger's or an event webhook's JSON body.

    Parameters
    ----------
    body : bytes
        The raw request body.
    fields : mapping of str to str, default={}
        Canonical field -> custom field id, as ``ticket_row`` takes them.

    Raises
    ------
    RecordError
        Naming the field that is missing or cannot be read (``body`` for a body that is no JSON
        object, ``type`` for an event that is not about a ticket).
    """
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise RecordError("body", f"not JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise RecordError("body", "expected a JSON object")
    if "type" in payload or "detail" in payload:
        event = payload.get("type")
        if not isinstance(event, str) or not event.startswith(TICKET_EVENTS):
            raise RecordError("type", f"not a ticket event ({TICKET_EVENTS}*): {event!r}")
        ticket, kind = payload.get("detail"), "detail"
    else:
        event, ticket, kind = "trigger", payload.get("ticket"), "ticket"
    if not isinstance(ticket, dict):
        raise RecordError(kind, "expected the ticket as a JSON object")
    return WebhookTicket(event, ticket_row(_api_values(ticket), fields=fields))


def _api_values(ticket: dict[str, Any]) -> dict[str, Any]:
    """The ticket with placeholders' display values as the API writes them."""
    out = dict(ticket)
    for key in _LOWERED:
        if isinstance(out.get(key), str):
            out[key] = out[key].strip().lower()
    via = out.get("via")
    if isinstance(via, dict) and isinstance(via.get("channel"), str):
        out["via"] = {**via, "channel": via["channel"].strip().lower()}
    if isinstance(out.get("tags"), str):
        out["tags"] = out["tags"].split()
    return out
