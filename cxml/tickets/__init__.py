"""Tickets: open-ticket features, the calibrated bad-rating model, flagging policy and reasons."""

from cxml.tickets.features import TicketFeaturizer
from cxml.tickets.model import TicketRiskModel, check_ticket_counts
from cxml.tickets.policy import FlagPolicy, choose_policy

__all__ = [
    "FlagPolicy",
    "TicketFeaturizer",
    "TicketRiskModel",
    "check_ticket_counts",
    "choose_policy",
]
