"""At-risk flags back to the helpdesk: scored tickets in, ready-to-send API requests out.

Each request is a plain mapping ``{"method": ..., "path": ..., "body": {...}}`` (the path is
relative to the helpdesk's API host); nothing is sent from here. What each vendor gets, and why:

- **Zendesk**: ``PUT /api/v2/tickets/update_many.json`` with ``{"tickets": [...]}``, at most 100
  tickets per request (the endpoint's limit). Every ticket gets ``additional_tags`` (at risk) or
  ``remove_tags`` (not at risk any more) with the tag, which add or remove that one tag and keep
  the others, and ``custom_fields`` ``[{"id": <field id>, "value": 0.8312}]`` for the
  probability (a numeric field) and the flag (a checkbox) where their ids are given. Ticket ids
  are integers in the API: an id that is not a positive whole number is a reject.
- **Freshdesk**: one ``PUT /api/v2/tickets/{id}`` per ticket with ``{"custom_fields":
  {"cf_...": value}}``. No tags: ``tags`` on a ticket update replaces the ticket's whole list,
  and the bulk update endpoint sets the same properties on every id, so neither can add one tag
  nor carry one probability per ticket. The flag goes into a checkbox field instead.
- **Intercom**: ``PUT /conversations/{id}`` with ``{"custom_attributes": {...}}`` for the
  probability and the flag, and, with a tag id and the admin who applies it,
  ``POST /conversations/{id}/tags`` ``{"id": <tag id>, "admin_id": ...}`` for conversations at
  risk. Conversations not at risk get no untag request (one more call each, mostly for
  conversations that never had the tag): the boolean attribute carries the current state.

Probabilities are rounded to :data:`DECIMALS` decimals.

Examples
--------
>>> import pandas as pd
>>> scored = pd.DataFrame({"ticket_id": ["35436", "T-9"], "at_risk": [True, False],
...                        "bad_rating_probability": [0.83124, 0.1]})
>>> result = flag_requests(scored, FlagTarget("zendesk", probability_field="360001"))
>>> result.requests[0]["path"]
'/api/v2/tickets/update_many.json'
>>> ticket = result.requests[0]["body"]["tickets"][0]
>>> ticket["id"], ticket["additional_tags"], ticket["custom_fields"]
(35436, ['cxml_at_risk'], [{'id': 360001, 'value': 0.8312}])
>>> result.rejects["_reason"].tolist()
["ticket_id: Zendesk ticket ids are whole numbers from 1; got 'T-9'"]
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from cxml.errors import BadInputError

__all__ = [
    "DECIMALS",
    "DEFAULT_TAG",
    "FORMATS",
    "ZENDESK_BATCH",
    "FlagRequest",
    "FlagRequests",
    "FlagTarget",
    "flag_requests",
    "id_check",
    "iter_requests",
]

#: The helpdesks flags can be written for.
FORMATS = ("zendesk", "freshdesk", "intercom")
#: The Zendesk tag of tickets at risk, unless another is named.
DEFAULT_TAG = "cxml_at_risk"
#: Most tickets in one Zendesk ``update_many`` request.
ZENDESK_BATCH = 100
#: Decimals of the probability written into a field.
DECIMALS = 4
#: The columns a scored frame needs.
COLUMNS = ("ticket_id", "bad_rating_probability", "at_risk")

_NAMES = {"zendesk": "Zendesk", "freshdesk": "Freshdesk", "intercom": "Intercom"}
_WHOLE = re.compile(r"[1-9][0-9]{0,18}")
_PATH_SAFE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_MAX_ID = 2**63 - 1  # the APIs' ids are 64-bit integers


class FlagRequest(TypedDict):
    """One ready-to-send API request; ``path`` is relative to the helpdesk's API host."""

    method: str
    path: str
    body: dict[str, Any]


@dataclass(frozen=True)
class FlagTarget:
    """Where the flags go in one helpdesk.

    Parameters
    ----------
    vendor : str
        One of :data:`FORMATS`.
    tag : str, default=None
        Zendesk: the tag added to tickets at risk and removed from the others (default
        :data:`DEFAULT_TAG`). Intercom: the id of the tag attached to conversations at risk (with
        ``admin_id``). Freshdesk: refused (an update replaces all of a ticket's tags).
    probability_field : str, default=None
        Where the probability goes: a Zendesk numeric custom field's id, a Freshdesk custom
        field's name (``cf_...``), an Intercom conversation attribute's name. None: nowhere.
    flag_field : str, default=None
        Where ``at_risk`` goes as true / false: a Zendesk checkbox field's id, a Freshdesk
        checkbox field's name (``cf_...``), an Intercom boolean attribute's name.
    admin_id : str, default=None
        Intercom: the admin who applies the tag.

    Raises
    ------
    BadInputError
        For an unknown vendor, an option the vendor has not, a field id or name the vendor cannot
        have, or a target that would write nothing.
    """

    vendor: str
    tag: str | None = None
    probability_field: str | None = None
    flag_field: str | None = None
    admin_id: str | None = None

    def __post_init__(self) -> None:
        if self.vendor not in FORMATS:
            raise BadInputError(
                f"unknown helpdesk {self.vendor!r}; flags can be written for {', '.join(FORMATS)}"
            )
        {"zendesk": self._check_zendesk, "freshdesk": self._check_freshdesk}.get(
            self.vendor, self._check_intercom
        )()

    def _check_zendesk(self) -> None:
        self._refuse("admin_id", "--admin-id", "only Intercom's tagging needs an admin")
        if self.tag is not None and (not self.tag or re.search(r"\s", self.tag)):
            raise BadInputError(f"zendesk: a tag is one word without spaces; got {self.tag!r}")
        for name in ("probability_field", "flag_field"):
            value = getattr(self, name)
            if value is not None and not _WHOLE.fullmatch(str(value)):
                raise BadInputError(
                    f"zendesk: {name} is a custom field's id, a whole number; got {value!r}"
                )

    def _check_freshdesk(self) -> None:
        self._refuse(
            "tag",
            "--tag",
            "a Freshdesk ticket update replaces the ticket's whole tag list; put the flag in a "
            "checkbox field with flag_field (--flag-field cf_...)",
        )
        self._refuse("admin_id", "--admin-id", "only Intercom's tagging needs an admin")
        for name in ("probability_field", "flag_field"):
            value = getattr(self, name)
            if value is not None and not re.fullmatch(r"cf_\w+", value):
                raise BadInputError(
                    f"freshdesk: {name} is a custom field's name, which starts with cf_; "
                    f"got {value!r}"
                )
        self._need_a_field("flag_field (--flag-field cf_...)")

    def _check_intercom(self) -> None:
        if (self.tag is None) != (self.admin_id is None):
            raise BadInputError(
                "intercom: tagging a conversation needs both the tag's id (--tag) and the id "
                "of the admin who applies it (--admin-id)"
            )
        for name in ("tag", "admin_id"):
            value = getattr(self, name)
            if value is not None and not _PATH_SAFE.fullmatch(value):
                raise BadInputError(f"intercom: {name} is an Intercom id; got {value!r}")
        if self.tag is None:
            self._need_a_field("the tag's id (--tag) and --admin-id, or flag_field (--flag-field)")

    def _refuse(self, name: str, option: str, why: str) -> None:
        if getattr(self, name) is not None:
            raise BadInputError(f"{self.vendor}: {name} ({option}) is not used: {why}")

    def _need_a_field(self, hint: str) -> None:
        if self.probability_field is None and self.flag_field is None:
            raise BadInputError(
                f"{self.vendor}: name where the flags go: {hint} and/or probability_field "
                "(--probability-field)"
            )

    @property
    def tag_name(self) -> str | None:
        """The tag written: Zendesk's (default :data:`DEFAULT_TAG`), Intercom's id, or None."""
        return (self.tag or DEFAULT_TAG) if self.vendor == "zendesk" else self.tag

    def options(self) -> dict[str, Any]:
        """The target as plain values (for a batch job's checkpoint key)."""
        return asdict(self)

    def id_problem(self, ticket_id: Any) -> str | None:
        """Why ``ticket_id`` cannot be written to this helpdesk, or None when it can.

        Zendesk and Freshdesk ids are positive 64-bit integers, written in the API as numbers,
        so only their plain decimal form (no sign, no leading zero, no ``.0``) round-trips;
        Intercom ids are strings that go into the request path, so they must be path-safe.
        """
        if isinstance(ticket_id, np.integer | int) and not isinstance(ticket_id, bool):
            ticket_id = str(ticket_id)
        shown = repr(ticket_id) if isinstance(ticket_id, str) else f"{ticket_id!r} (not text)"
        if self.vendor == "intercom":
            if isinstance(ticket_id, str) and _PATH_SAFE.fullmatch(ticket_id):
                return None
            return f"Intercom conversation ids are 1-64 letters, digits, _ or -; got {shown}"
        if isinstance(ticket_id, str) and _WHOLE.fullmatch(ticket_id) and int(ticket_id) <= _MAX_ID:
            return None
        return f"{_NAMES[self.vendor]} ticket ids are whole numbers from 1; got {shown}"


@dataclass
class FlagRequests:
    """The requests for a scored frame, and the tickets that cannot be flagged.

    Attributes
    ----------
    requests : list of FlagRequest
        In the frame's order.
    rejects : DataFrame
        ``ticket_id``, ``_field``, ``_reason`` of each ticket left out (the frame's index kept).
    tickets : int
        Tickets the requests cover.
    """

    requests: list[FlagRequest]
    rejects: pd.DataFrame
    tickets: int


@dataclass(frozen=True)
class _Flag:
    """One ticket's flag, checked."""

    id: str
    probability: float
    at_risk: bool


def flag_requests(scored: pd.DataFrame, target: FlagTarget) -> FlagRequests:
    """The requests that write ``scored``'s flags to ``target``'s helpdesk.

    Parameters
    ----------
    scored : DataFrame
        Scored tickets (:func:`cxml.score_tickets`, ``cxml score tickets``): ``ticket_id``,
        ``bad_rating_probability`` and ``at_risk``; other columns are ignored.
    target : FlagTarget
        The helpdesk and where the flags go in it.

    Returns
    -------
    FlagRequests
        A ticket whose id the helpdesk cannot have, or whose probability or flag is missing or
        out of range, is a reject with its reason; the others are in the requests.

    Raises
    ------
    BadInputError
        When a needed column is missing.
    """
    flags, rejects = _flags(scored, target)
    index = pd.Index([r[0] for r in rejects], name=scored.index.name, dtype=scored.index.dtype)
    columns = ["ticket_id", "_field", "_reason"]
    frame = pd.DataFrame([r[1:] for r in rejects], index=index, columns=columns)
    return FlagRequests(list(_requests(flags, target)), frame, len(flags))


def iter_requests(frames: Iterable[pd.DataFrame], target: FlagTarget) -> Iterator[FlagRequest]:
    """The requests for scored ``frames`` (chunks of one job) in order, one at a time.

    Zendesk batches run across the frames' boundaries. The frames' ids must have passed
    :func:`id_check` (a batch job rejects the others as it reads them).

    Raises
    ------
    BadInputError
        At the first ticket that cannot be flagged, naming it.
    """

    def checked() -> Iterator[_Flag]:
        for frame in frames:
            flags, rejects = _flags(frame, target)
            if rejects:
                _, ticket_id, _, reason = rejects[0]
                raise BadInputError(f"ticket {ticket_id!r} cannot be flagged: {reason}")
            yield from flags

    return _requests(checked(), target)


def id_check(
    target: FlagTarget,
) -> Callable[[pd.DataFrame], list[tuple[str, np.ndarray, pd.Series]]]:
    """A row check for :attr:`cxml.data.Validator.checks`: ``ticket_id`` values the helpdesk
    cannot have are rejected with the reason (missing ids are left to the required-field rule)."""

    def check(frame: pd.DataFrame) -> list[tuple[str, np.ndarray, pd.Series]]:
        reasons = [
            None if _missing(value) else target.id_problem(value)
            for value in frame["ticket_id"].tolist()
        ]
        bad = np.array([reason is not None for reason in reasons], dtype=bool)
        return [("ticket_id", bad, pd.Series(reasons, dtype=object))]

    return check


def _flags(
    frame: pd.DataFrame, target: FlagTarget
) -> tuple[list[_Flag], list[tuple[Any, Any, str, str]]]:
    """The checked flags of ``frame``, and its rejects as ``(index, ticket id, field, reason)``."""
    missing = [c for c in COLUMNS if c not in frame]
    if missing:
        raise BadInputError(
            f"a scored ticket frame needs the columns {', '.join(COLUMNS)}; missing "
            f"{', '.join(missing)} (score the tickets first: cxml score tickets)"
        )
    flags: list[_Flag] = []
    rejects: list[tuple[Any, Any, str, str]] = []
    rows = zip(
        frame.index,
        frame["ticket_id"].tolist(),
        frame["bad_rating_probability"].tolist(),
        frame["at_risk"].tolist(),
        strict=True,
    )
    for index, ticket_id, probability, at_risk in rows:
        problem = _problem(target, ticket_id, probability, at_risk)
        if problem is None:
            flags.append(_Flag(str(ticket_id), float(probability), bool(at_risk)))
        else:
            rejects.append((index, ticket_id, problem[0], f"{problem[0]}: {problem[1]}"))
    return flags, rejects


def _problem(
    target: FlagTarget, ticket_id: Any, probability: Any, at_risk: Any
) -> tuple[str, str] | None:
    """The first field of one ticket that cannot be written, and why."""
    if _missing(ticket_id):
        return "ticket_id", "missing value"
    id_problem = target.id_problem(ticket_id)
    if id_problem is not None:
        return "ticket_id", id_problem
    if (
        isinstance(probability, bool)
        or not isinstance(probability, float | int)
        or not 0 <= probability <= 1  # NaN fails this too
    ):
        return "bad_rating_probability", f"a probability from 0 to 1; got {probability!r}"
    if not isinstance(at_risk, bool | np.bool_):
        return "at_risk", f"true or false; got {at_risk!r}"
    return None


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _requests(flags: Iterable[_Flag], target: FlagTarget) -> Iterator[FlagRequest]:
    if target.vendor == "zendesk":
        return _zendesk(flags, target)
    if target.vendor == "freshdesk":
        return (_freshdesk(flag, target) for flag in flags)
    return (request for flag in flags for request in _intercom(flag, target))


def _zendesk(flags: Iterable[_Flag], target: FlagTarget) -> Iterator[FlagRequest]:
    batch: list[dict[str, Any]] = []
    for flag in flags:
        tags = "additional_tags" if flag.at_risk else "remove_tags"
        ticket: dict[str, Any] = {"id": int(flag.id), tags: [target.tag_name]}
        fields = [
            {"id": int(field), "value": value}
            for field, value in _field_values(flag, target).items()
        ]
        if fields:
            ticket["custom_fields"] = fields
        batch.append(ticket)
        if len(batch) == ZENDESK_BATCH:
            yield _update_many(batch)
            batch = []
    if batch:
        yield _update_many(batch)


def _update_many(tickets: list[dict[str, Any]]) -> FlagRequest:
    return {
        "method": "PUT",
        "path": "/api/v2/tickets/update_many.json",
        "body": {"tickets": tickets},
    }


def _freshdesk(flag: _Flag, target: FlagTarget) -> FlagRequest:
    body = {"custom_fields": _field_values(flag, target)}
    return {"method": "PUT", "path": f"/api/v2/tickets/{flag.id}", "body": body}


def _intercom(flag: _Flag, target: FlagTarget) -> list[FlagRequest]:
    requests: list[FlagRequest] = []
    attributes = _field_values(flag, target)
    if attributes:
        path = f"/conversations/{flag.id}"
        requests.append({"method": "PUT", "path": path, "body": {"custom_attributes": attributes}})
    if flag.at_risk and target.tag is not None:
        body = {"id": target.tag, "admin_id": target.admin_id}
        requests.append({"method": "POST", "path": f"/conversations/{flag.id}/tags", "body": body})
    return requests


def _field_values(flag: _Flag, target: FlagTarget) -> dict[str, Any]:
    """Field (id or name) -> value, for the fields the target names."""
    values: dict[str, Any] = {}
    if target.probability_field is not None:
        values[target.probability_field] = round(flag.probability, DECIMALS)
    if target.flag_field is not None:
        values[target.flag_field] = flag.at_risk
    return values
