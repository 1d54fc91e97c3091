"""The data contracts: the fields of a comment and of a ticket, their types and allowed values.

Input columns are mapped onto these fields in config (``data.columns: {text: "Customer Remarks"}``),
so users never rename their files. Columns that are not schema fields (segments such as region or
product) pass through untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cxml.contracts.labels import SENTIMENTS, THEME_POLARITIES
from cxml.contracts.languages import LANG_CODES

__all__ = [
    "COMMENTS",
    "POST_SURVEY_FIELDS",
    "TICKETS",
    "FieldSpec",
    "Schema",
    "get_schema",
]

Kind = Literal[
    "id", "text", "category", "int", "float", "datetime", "labels", "label_map", "rating"
]


@dataclass(frozen=True)
class FieldSpec:
    """One field of a schema.

    Parameters
    ----------
    name : str
        Field name in cxml (the column name after mapping).
    kind : str
        How values are parsed: ``id`` (unique string), ``text``, ``category`` (one of ``choices``
        when given), ``int`` / ``float`` (within ``bounds`` when given), ``datetime`` (ISO 8601),
        ``labels`` (a list of strings), ``label_map`` (an object label -> one of ``choices``) or
        ``rating`` (a whole number 1-5 or ``good`` / ``bad``, :mod:`cxml.contracts.ratings`).
    required : bool, default=False
        Whether every row needs a value (tasks may require more, e.g. a label for training).
    """

    name: str
    kind: Kind
    description: str
    required: bool = False
    choices: tuple[str, ...] | None = None
    bounds: tuple[float, float] | None = None


@dataclass(frozen=True)
class Schema:
    """A named list of fields; ``id_field`` must be unique within a file."""

    name: str
    id_field: str
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec:
        """The field called ``name``."""
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(f"{self.name} has no field {name!r}")

    @property
    def names(self) -> list[str]:
        """Field names in schema order."""
        return [f.name for f in self.fields]


COMMENTS = Schema(
    name="comments",
    id_field="id",
    fields=(
        FieldSpec("id", "id", "unique id; generated from the row number when the file has none"),
        FieldSpec("text", "text", "the comment", required=True),
        FieldSpec(
            "lang", "category", "ISO 639-1 code; detected per row when missing", choices=LANG_CODES
        ),
        FieldSpec("themes", "labels", "theme labels (list, JSON list or 'a;b')"),
        FieldSpec("theme_sentiment", "label_map", "theme -> polarity", choices=THEME_POLARITIES),
        FieldSpec("sentiment", "category", "overall sentiment", choices=SENTIMENTS),
        FieldSpec("rating", "int", "survey score, e.g. CSAT 1-5 or NPS 0-10", bounds=(0, 10)),
        FieldSpec("created_at", "datetime", "when the comment was written"),
        FieldSpec("customer_id", "text", "who wrote it (for retention and churn figures)"),
    ),
)

TICKETS = Schema(
    name="tickets",
    id_field="ticket_id",
    fields=(
        FieldSpec("ticket_id", "id", "unique ticket id", required=True),
        FieldSpec("created_at", "datetime", "ticket opened", required=True),
        FieldSpec("first_response_at", "datetime", "first agent reply; empty if none yet"),
        FieldSpec("solved_at", "datetime", "solved; empty while open"),
        FieldSpec("channel", "text", "email, chat, phone, web, social, ..."),
        FieldSpec("category", "text", "the request's category"),
        FieldSpec("priority", "text", "low, normal, high, urgent"),
        FieldSpec("customer_tier", "text", "e.g. standard, plus, vip"),
        FieldSpec("replies", "int", "public replies so far", bounds=(0, 1e6)),
        FieldSpec("reopens", "int", "times reopened", bounds=(0, 1e6)),
        FieldSpec("reassignments", "int", "group or agent hops", bounds=(0, 1e6)),
        FieldSpec("group_stations", "int", "groups passed through (incl. 1st)", bounds=(0, 1e6)),
        FieldSpec("assignee_stations", "int", "agents passed through (incl. 1st)", bounds=(0, 1e6)),
        FieldSpec("lang", "category", "ISO 639-1 code; detected when missing", choices=LANG_CODES),
        FieldSpec("text", "text", "the customer's message(s)"),
        FieldSpec("rating", "rating", "the CSAT answer: 1-5, or good / bad (binary CSAT)"),
    ),
)

#: Columns of real exports that exist only after the customer answered the survey: a model that
#: predicts the rating of an open ticket must never read them.
POST_SURVEY_FIELDS = (
    "rating",
    "survey_sent_at",
    "survey_answered_at",
    "survey_comment",
    "satisfaction_comment",
    "rated_at",
    "true_bad_probability",
)


def get_schema(name: str) -> Schema:
    """``"comments"`` or ``"tickets"``."""
    schemas = {"comments": COMMENTS, "tickets": TICKETS}
    if name not in schemas:
        raise KeyError(f"unknown schema {name!r}; expected one of {sorted(schemas)}")
    return schemas[name]
