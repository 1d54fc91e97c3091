"""Request and response bodies of the scoring service (they are its OpenAPI schema).

Every request model forbids unknown fields, so a misspelt field, or a field that exists only
after the customer answered the survey (``rating``, ``survey_*``), is a 422 that names it.
"""

from __future__ import annotations

from datetime import datetime
from itertools import chain
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from cxml.contracts.languages import lang_code
from cxml.contracts.outputs import EVIDENCE, MODEL_COLUMNS, OUTPUTS
from cxml.contracts.times import RANGE, looks_numeric, read_instant, to_utc
from cxml.text.normalize import clean_text, replace_surrogates

__all__ = [
    "AnalyzeCommentsRequest",
    "AnalyzeCommentsResponse",
    "Comment",
    "CommentResult",
    "ErrorBody",
    "FlagUpdate",
    "Health",
    "ModelInfo",
    "ModelsResponse",
    "Readiness",
    "ScoreTicketsRequest",
    "ScoreTicketsResponse",
    "Ticket",
    "TicketScore",
    "WebhookScore",
]

MAX_TEXT_CHARS = 20_000
_SHORT = 200
#: What each output field means (:mod:`cxml.contracts.outputs`, which the field types follow).
_ABOUT = {c.name: c.description for c in chain(*OUTPUTS.values(), MODEL_COLUMNS)}

_COMMENT_EXAMPLE: JsonDict = {
    "id": "c-1",
    "text": "The refund took three weeks to arrive.",
    "lang": "en",
}
_TICKET_EXAMPLE: JsonDict = {
    "ticket_id": "T-1001",
    "created_at": "2024-05-02T09:14:00Z",
    "first_response_at": "2024-05-02T13:40:00Z",
    "channel": "email",
    "category": "billing",
    "priority": "high",
    "customer_tier": "plus",
    "replies": 3,
    "reopens": 1,
    "reassignments": 2,
    "text": "I was charged twice and nobody answers.",
}


def _encodable(value: Any) -> Any:
    """Lone surrogates (from a JSON escape such as ``"\\ud800"``) as U+FFFD, as batch files have
    them, rather than a 422 from the string check."""
    return replace_surrogates(value) if isinstance(value, str) else value


def _text(value: str) -> str:
    """A text cleaned as batch files clean it (:func:`~cxml.text.normalize.clean_text`); an empty
    one is a 422 naming the field, as it is a reject in batch."""
    cleaned = clean_text(value)
    if cleaned is None:
        raise ValueError("empty text: nothing but whitespace and zero-width characters")
    return cleaned


def _optional_text(value: str | None) -> str | None:
    """A category-like text cleaned as batch files clean it; an empty one is not given."""
    return None if value is None else clean_text(value)


_Text = Annotated[
    str, Field(max_length=MAX_TEXT_CHARS), BeforeValidator(_encodable), AfterValidator(_text)
]
_OptionalText = Annotated[str | None, BeforeValidator(_encodable), AfterValidator(_optional_text)]
_Id = Annotated[str, BeforeValidator(_encodable)]


def _lang(value: str) -> str:
    """The language as batch files read it (:func:`~cxml.contracts.languages.lang_code`)."""
    code = lang_code(value)
    if code is None:
        raise ValueError(f"unknown language {value!r} (expected an ISO 639-1 code, e.g. en, de)")
    return code


_Lang = Annotated[str, Field(max_length=_SHORT), AfterValidator(_lang)]


def _numeric_time(value: Any) -> Any:
    """Numbers by cxml's rule (:mod:`cxml.contracts.times`), not as pydantic's Unix times: ``12345``
    is no time (a 422 naming the field), ``20260630`` is 30 June 2026."""
    if value is None or not looks_numeric(value):
        return value
    stamp, problem = read_instant(value)
    if stamp is None:
        raise ValueError(problem)
    return stamp.to_pydatetime()


def _representable(value: datetime) -> datetime:
    """The time in UTC (no offset means UTC); one outside the range pandas represents is a 422
    naming the field, as it is a reject in batch."""
    stamp = to_utc(value)
    if stamp is None:
        raise ValueError(f"outside the representable range {RANGE} (got {value.isoformat()})")
    return stamp.to_pydatetime()


_Time = Annotated[datetime, BeforeValidator(_numeric_time), AfterValidator(_representable)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _OneOrBatch(_Request):
    """A request with one item or a batch of them, never both."""

    one_or_batch: ClassVar[tuple[str, str]]  # the two field names

    @model_validator(mode="after")
    def _check_one_or_batch(self) -> _OneOrBatch:
        one, many = self.one_or_batch
        if (getattr(self, one) is None) == (getattr(self, many) is None):
            raise ValueError(f"give exactly one of {one!r} (one item) and {many!r} (a batch)")
        return self


class Comment(_Request):
    """One survey comment."""

    model_config = ConfigDict(json_schema_extra={"examples": [_COMMENT_EXAMPLE]})

    id: _Id | None = Field(default=None, max_length=_SHORT, description="your id, echoed back")
    text: _Text = Field(min_length=1, description="the comment")
    lang: _Lang | None = Field(default=None, description="ISO 639-1 code; detected when missing")


class AnalyzeCommentsRequest(_OneOrBatch):
    """``comment`` for one comment, ``comments`` for a batch."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"comment": _COMMENT_EXAMPLE}, {"comments": [_COMMENT_EXAMPLE]}]
        }
    )

    one_or_batch = ("comment", "comments")

    comment: Comment | None = None
    comments: list[Comment] | None = None
    evidence: bool = Field(
        default=False, description=f"add {EVIDENCE.name!r}: {EVIDENCE.description}"
    )

    @property
    def items(self) -> list[Comment]:
        """The comments, one or many."""
        return [self.comment] if self.comment is not None else list(self.comments or [])


class Ticket(_Request):
    """An open (or solved) ticket in the canonical ticket schema, without any survey field."""

    model_config = ConfigDict(json_schema_extra={"examples": [_TICKET_EXAMPLE]})

    ticket_id: _Id = Field(min_length=1, max_length=_SHORT, description="unique ticket id")
    created_at: _Time = Field(description="ticket opened (ISO 8601; no offset means UTC)")
    first_response_at: _Time | None = Field(default=None, description="first agent reply")
    solved_at: _Time | None = Field(default=None, description="solved; empty while open")
    channel: _OptionalText = Field(default=None, max_length=_SHORT, description="email, chat, ...")
    category: _OptionalText = Field(default=None, max_length=_SHORT)
    priority: _OptionalText = Field(default=None, max_length=_SHORT, description="low ... urgent")
    customer_tier: _OptionalText = Field(default=None, max_length=_SHORT)
    replies: int | None = Field(default=None, ge=0, le=1_000_000, description="replies so far")
    reopens: int | None = Field(default=None, ge=0, le=1_000_000)
    reassignments: int | None = Field(default=None, ge=0, le=1_000_000)
    group_stations: int | None = Field(
        default=None, ge=0, le=1_000_000, description="groups passed through (incl. the first)"
    )
    assignee_stations: int | None = Field(
        default=None, ge=0, le=1_000_000, description="agents passed through (incl. the first)"
    )
    lang: _Lang | None = Field(default=None, description="ISO 639-1 code; detected when missing")
    text: _Text | None = Field(default=None, description="messages")


class ScoreTicketsRequest(_OneOrBatch):
    """``ticket`` for one ticket, ``tickets`` for a batch; ``as_of`` is the scoring moment."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"ticket": _TICKET_EXAMPLE},
                {"tickets": [_TICKET_EXAMPLE], "as_of": "2024-05-03T08:00:00Z"},
            ]
        }
    )

    one_or_batch = ("ticket", "tickets")

    ticket: Ticket | None = None
    tickets: list[Ticket] | None = None
    as_of: _Time | None = Field(
        default=None,
        description="moment the tickets are seen at (default: now); no offset means UTC",
    )

    @property
    def items(self) -> list[Ticket]:
        """The tickets, one or many."""
        return [self.ticket] if self.ticket is not None else list(self.tickets or [])


class _Scored(BaseModel):
    model_name: str = Field(description=_ABOUT["model_name"])
    model_version: str = Field(description=_ABOUT["model_version"])


class Span(BaseModel):
    """Words of the comment behind a prediction (the fields of
    :class:`cxml.contracts.outputs.EvidenceSpan`): ``text == comment[start:end]``."""

    start: int = Field(description="offset of the first character (0-based)")
    end: int = Field(description="offset after the last character")
    text: str
    weight: float = Field(description="how much the words pushed towards the prediction")


class CommentResult(_Scored):
    """One analysed comment; fields of a model that is not served are null."""

    id: str | None
    lang: str = Field(description="given or detected language")
    sentiment: str | None = Field(default=None, description=_ABOUT["sentiment"])
    sentiment_score: float | None = Field(default=None, description=_ABOUT["sentiment_score"])
    themes: list[str] | None = Field(default=None, description=_ABOUT["themes"])
    theme_scores: dict[str, float] | None = Field(default=None, description=_ABOUT["theme_scores"])
    theme_sentiment: dict[str, str] | None = Field(
        default=None, description=_ABOUT["theme_sentiment"]
    )
    evidence: dict[str, list[Span]] | None = Field(
        default=None, description=f"{EVIDENCE.description}; only when asked for"
    )


class AnalyzeCommentsResponse(BaseModel):
    """The comments in request order."""

    items: list[CommentResult]
    notes: list[str] = Field(
        default_factory=list,
        description="plain notes on the answers: comments in languages a model never saw",
    )


class TicketScore(_Scored):
    """One scored ticket."""

    ticket_id: str
    bad_rating_probability: float = Field(description=_ABOUT["bad_rating_probability"])
    at_risk: bool = Field(description=_ABOUT["at_risk"])
    reasons: list[str] = Field(description=_ABOUT["reasons"])


class ScoreTicketsResponse(BaseModel):
    """The tickets in request order."""

    items: list[TicketScore]
    as_of: datetime = Field(description="the scoring moment used: the request's, else now")


class FlagUpdate(BaseModel):
    """A ready-to-send helpdesk API request (:mod:`cxml.connectors.flags`); ``path`` is relative
    to the helpdesk's API host."""

    method: str
    path: str
    body: dict[str, Any]


class WebhookScore(TicketScore):
    """The ticket of a webhook request, scored, and the request that writes its flag back."""

    event: str = Field(description="the event type, or 'trigger' for a trigger's JSON body")
    as_of: datetime = Field(description="the scoring moment: when the request arrived")
    update: FlagUpdate = Field(description="the helpdesk request that flags this ticket")


class ModelInfo(BaseModel):
    """One configured model: what it resolves to now, or why it is not loaded."""

    task: str
    uri: str = Field(description="configured URI")
    loaded: bool
    name: str | None = None
    version: str | None = None
    loaded_at: datetime | None = None
    error: str | None = None


class ModelsResponse(BaseModel):
    """Every configured model."""

    models: list[ModelInfo]


class Health(BaseModel):
    """The process is up."""

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """Ready once the first load is done and at least one model is loaded."""

    ready: bool
    models: dict[str, str] = Field(description="task -> 'name/version', or why it is missing")


class ErrorBody(BaseModel):
    """An error other than a validation error."""

    detail: str
