"""Deterministic synthetic data: labelled survey comments and support tickets (English, Korean).

See ``docs/synthetic_data.md`` for the generative stories.
"""

from cxml.data.synth.comments import COMMENT_COLUMNS, THEMES, make_comments
from cxml.data.synth.drift import DRIFT_KINDS, Drift
from cxml.data.synth.tickets import (
    POST_SURVEY_COLUMNS,
    TICKET_COEFFICIENTS,
    TICKET_COLUMNS,
    make_tickets,
)

__all__ = [
    "COMMENT_COLUMNS",
    "DRIFT_KINDS",
    "POST_SURVEY_COLUMNS",
    "THEMES",
    "TICKET_COEFFICIENTS",
    "TICKET_COLUMNS",
    "Drift",
    "make_comments",
    "make_tickets",
]
