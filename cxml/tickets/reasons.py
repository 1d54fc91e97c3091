"""Per-ticket reasons in plain words, from the model's own per-prediction contributions.

The booster's contributions (TreeSHAP, in log-odds) say how much each feature pushed one
ticket's risk up; the largest positive ones become phrases such as "waited 14 h for a first
reply" or "reassigned 3 times", worded from the ticket's own values. Ping-pong is worded from the
count it was judged on: "passed through 4 groups" (``group_stations``), else "reassigned 4 times".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from cxml.tickets.features import TEXT_SCORE

__all__ = ["MIN_CONTRIBUTION", "duration", "phrase", "top_reasons"]

#: Smallest push (in log-odds) worth naming as a reason.
MIN_CONTRIBUTION = 0.05
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def duration(hours: float) -> str:
    """``0.4`` -> ``"24 min"``, ``14.2`` -> ``"14 h"``, ``80`` -> ``"3.3 days"``."""
    if hours < 1:
        return f"{max(round(hours * 60), 1)} min"
    if hours < 48:
        return f"{hours:.0f} h"
    return f"{hours / 24:.1f} days"


def _times(n: float, one: str, many: str) -> str | None:
    count = int(n)
    return None if count <= 0 else one if count == 1 else many.format(n=count)


#: Phrase of each value; None where the value is no reason for risk (nothing happened).
_PHRASES: dict[str, Callable[[float, bool], str | None]] = {
    "first_response_hours": lambda v, done: (
        f"waited {duration(v)} for a first reply" if done else f"no reply yet after {duration(v)}"
    ),
    "hours_open": lambda v, done: (
        f"took {duration(v)} to solve" if done else f"open for {duration(v)}"
    ),
    "reopens": lambda v, _: _times(v, "reopened once", "reopened {n} times"),
    "reassignments": lambda v, _: _times(v, "reassigned once", "reassigned {n} times"),
    "group_stations": lambda v, _: f"passed through {int(v)} groups" if v >= 2 else None,
    "assignee_stations": lambda v, _: f"handled by {int(v)} agents" if v >= 2 else None,
    "ping_pong": lambda v, _: "passed between many groups" if v else None,
    "replies": lambda v, _: _times(v, "one reply so far", "{n} replies back and forth"),
    "out_of_hours": lambda v, _: "opened outside business hours" if v else None,
    "created_hour": lambda v, _: f"opened at {int(v):02d}:00",
    "created_weekday": lambda v, _: f"opened on a {_WEEKDAYS[int(v)]}",
    TEXT_SCORE: lambda v, _: "unhappy wording in the message" if v > 0 else None,
}
_CATEGORY_PHRASES = {
    "channel": "came in by {v}",
    "priority": "{v} priority",
    "customer_tier": "{v} customer",
    "category": "about {v}",
}


def phrase(feature: str, value: Any, done: bool = True) -> str | None:
    """Plain words for one feature's value; ``done``: replied (or solved) by now.

    None where the value cannot be a reason for risk (no reopens, a calm message).
    """
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return f"no {feature.replace('_', ' ')} given"
    if feature in _PHRASES:
        return _PHRASES[feature](float(value), done)
    if isinstance(value, str):
        return _CATEGORY_PHRASES.get(feature, feature.replace("_", " ") + ": {v}").format(v=value)
    return f"{feature.replace('_', ' ')} {float(value):g}"


def _ping_pong_count(names: list[str], row: np.ndarray) -> tuple[str, float]:
    """The count a ticket's ping-pong was judged on: ``group_stations`` where given, else
    ``reassignments`` (:class:`~cxml.tickets.features.TicketFeaturizer`)."""
    for name in ("group_stations", "reassignments"):
        if name in names and np.isfinite(row[names.index(name)]):
            return name, float(row[names.index(name)])
    return "ping_pong", 1.0


def top_reasons(
    names: list[str],
    values: np.ndarray,
    contributions: np.ndarray,
    status: dict[str, np.ndarray],
    categories: dict[str, list[str]],
    top: int,
) -> list[list[str]]:
    """The ``top`` largest positive contributions of each row, as phrases.

    ``values`` and ``contributions`` have one column per feature in ``names`` (categories as
    level codes into ``categories``); ``status`` holds each ticket's ``replied`` and ``solved``.
    """
    order = np.argsort(-contributions, axis=1, kind="stable")
    out: list[list[str]] = []
    for i, columns in enumerate(order):
        reasons: list[str] = []
        for j in columns:
            if contributions[i, j] < MIN_CONTRIBUTION or len(reasons) == top:
                break
            name, value = names[j], values[i, j]
            done = bool(status["solved"][i] if name == "hours_open" else status["replied"][i])
            if name in categories:
                value = None if np.isnan(value) else categories[name][int(value)]
            elif name == "ping_pong" and value:
                name, value = _ping_pong_count(names, values[i])
            words = phrase(name, value, done)
            if words is not None and words not in reasons:
                reasons.append(words)
        out.append(reasons)
    return out
