"""``POST /v1/webhooks/zendesk``: the ticket of a signed Zendesk webhook request, scored, with
the request that writes its flag back.

The raw body is verified (:class:`~cxml.connectors.webhook.SignatureVerifier`): a missing or
wrong signature is a 401, a stale or replayed request a 403, a body without a readable ticket
a 422 naming the field. The ticket is mapped by :func:`cxml.connectors.webhook.read_body`, kept
to the fields the ticket model reads (as ``POST /v1/tickets:score`` takes them), scored as of
the request's arrival, and answered with its score, flag, reasons and the Zendesk
``update_many`` request for it (:mod:`cxml.connectors.flags`). The trigger's body template is
in ``docs/zendesk-webhook.md``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import pandas as pd
from fastapi import Header, HTTPException, Request
from pydantic import ValidationError

from cxml.connectors.flags import FlagTarget, flag_requests
from cxml.connectors.result import RecordError
from cxml.connectors.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SignatureVerifier,
    WebhookRefused,
    read_body,
)
from cxml.scoring.api import (
    MAX_TEXT_CHARS,
    ErrorBody,
    FlagUpdate,
    Ticket,
    TicketScore,
    WebhookScore,
)
from cxml.scoring.settings import ServiceSettings

__all__ = ["OPENAPI", "RESPONSES", "zendesk_webhook"]

#: Scores one ticket as of a moment.
Score = Callable[[Ticket, datetime], Awaitable[TicketScore]]

_TRIGGER_EXAMPLE = {
    "ticket": {
        "id": "35436",
        "created_at": "2026-03-02T09:15Z",
        "status": "Open",
        "priority": "High",
        "type": "Question",
        "via": {"channel": "Web form"},
        "group_id": "98738",
        "tags": "vip billing",
        "description": "I was charged twice and nobody answers.",
    }
}
_EVENT_EXAMPLE = {
    "type": "zen:event-type:ticket.comment_added",
    "account_id": 12345,
    "id": "2b1a2bd7-9c16-4bb4-a8c8-5ad3b1e9a6b0",
    "time": "2026-03-02T13:40:00Z",
    "zendesk_event_version": "2022-11-06",
    "subject": "zen:ticket:35436",
    "detail": {
        "id": "35436",
        "created_at": "2026-03-02T09:15:00Z",
        "updated_at": "2026-03-02T13:40:00Z",
        "status": "OPEN",
        "priority": "HIGH",
        "via": {"channel": "web"},
        "group_id": "98738",
        "tags": ["vip", "billing"],
        "description": "I was charged twice and nobody answers.",
    },
    "event": {},
}
#: The request body in the OpenAPI document (the endpoint reads the raw body itself).
OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A trigger's body (docs/zendesk-webhook.md) or a ticket event's.",
        "content": {
            "application/json": {
                "schema": {"type": "object", "additionalProperties": True},
                "examples": {
                    "trigger": {"summary": "trigger or automation", "value": _TRIGGER_EXAMPLE},
                    "event": {"summary": "event webhook", "value": _EVENT_EXAMPLE},
                },
            }
        },
    }
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing or wrong API key or webhook signature"},
    403: {"model": ErrorBody, "description": "a stale or replayed webhook request"},
    422: {"model": ErrorBody, "description": "no ticket that can be read in the body"},
    503: {"model": ErrorBody, "description": "no signing secret set, or no ticket model loaded"},
}


def zendesk_webhook(
    settings: ServiceSettings, scorer: Callable[[], Score]
) -> Callable[..., Awaitable[WebhookScore]]:
    """The endpoint function, for ``settings``; ``scorer()`` gives the function that scores a
    ticket with the model loaded now, or raises the service's 503 when none is."""
    secret = settings.zendesk_signing_secret
    verifier = (
        SignatureVerifier(secret.get_secret_value(), tolerance=settings.webhook_tolerance_seconds)
        if secret is not None
        else None
    )
    target = FlagTarget(
        "zendesk",
        tag=settings.zendesk_tag,
        probability_field=settings.zendesk_probability_field,
        flag_field=settings.zendesk_flag_field,
    )

    async def zendesk_webhook(
        request: Request,
        signature: Annotated[
            str | None, Header(alias=SIGNATURE_HEADER, description="base64 HMAC-SHA256")
        ] = None,
        timestamp: Annotated[
            str | None, Header(alias=TIMESTAMP_HEADER, description="the signed timestamp")
        ] = None,
    ) -> WebhookScore:
        """Score the ticket of a signed Zendesk trigger or ticket-event webhook request and
        answer the Zendesk update that flags it."""
        if verifier is None:
            raise HTTPException(503, "the Zendesk webhook is off: set CXML_ZENDESK_SIGNING_SECRET")
        score = scorer()  # a 503 before the request's signature is used up
        body = await request.body()
        try:
            verifier.verify(body, signature, timestamp)
        except WebhookRefused as exc:
            status = 401 if exc.reason in ("missing", "bad") else 403
            raise HTTPException(status, exc.detail) from None
        try:
            found = read_body(body)
            problem = target.id_problem(found.row["ticket_id"])
            if problem is not None:  # beyond the API's 64-bit ids: no update could name it
                raise RecordError("id", problem)
            ticket = _ticket(found.row)
        except RecordError as exc:
            raise HTTPException(422, f"{exc.field}: {exc.reason}") from None
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            raise HTTPException(422, problems) from None
        as_of = datetime.now(UTC)
        scored = await score(ticket, as_of)
        frame = pd.DataFrame([scored.model_dump()])
        (update,) = flag_requests(frame, target).requests
        return WebhookScore(
            **scored.model_dump(), event=found.event, as_of=as_of, update=FlagUpdate(**update)
        )

    return zendesk_webhook


def _ticket(row: dict[str, Any]) -> Ticket:
    """The request model of a mapped ticket: its model fields only (never survey fields), the
    text cut to the longest the service takes, as batch files cut it."""
    values = {k: row[k] for k in Ticket.model_fields if row.get(k) is not None}
    if isinstance(values.get("text"), str):
        values["text"] = values["text"][:MAX_TEXT_CHARS]
    return Ticket.model_validate(values)
