"""A change injected into a generated stream at a given week, for monitoring tests and demos.

Weeks run Monday to Sunday; week 0 is the one that holds the window's ``start`` (the Monday on or
before it), as the monitor counts them when the first row falls on the start day. Rows created
before the change are exactly the rows generated without it. What each kind does at
``strength`` = 1 (measured on 16 weeks x 1,000 rows, ``lang="mixed"``, ``spike=False``):

``category_surge``
    Tickets: the ``target`` category (default ``account``) gains 16 points (12 % -> 28 % of the
    tickets with a category); the extra tickets describe new problems (account takeover,
    two-factor codes, passkeys ...) in wording the generator never uses otherwise. Comments:
    the ``target`` theme (default ``billing_payment``) weighs 4 times as much (mentioned in
    8 % -> 28 % of the comments).
``slow_queues``
    Tickets: the first reply's delay after the next opening x3 on channel ``target`` (default
    every channel): the email median 10 h -> 23 h, and through the rating model more bad
    ratings (23 % -> 27 %). Comments: ``waiting_time`` weighs 2.5 times as much and is
    negative at 3 times the odds (negative mentions 9 % -> 23 %, mean rating 3.14 -> 3.02).
``language_mix``
    Korean share +15 points (30 % -> 45 %); needs ``lang="mixed"``.
``new_theme``
    Tickets: 30 % of the tickets describe a new problem (the support chatbot) in new wording;
    the rating model is unchanged. Comments: 25 % of the comments add a negative clause about
    the chatbot, a theme outside ``THEMES`` (never in ``themes``) that counts as a negative
    theme for the sentiment and the rating (negative 42 % -> 51 %).

Shares move by ``strength`` times the stated points (capped at 95 %); factors are raised to the
power ``strength``. Everything else in the story stays as it is, the rating model included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

__all__ = ["DRIFT_KINDS", "Drift", "DriftKind"]

DriftKind = Literal["category_surge", "slow_queues", "language_mix", "new_theme"]
DRIFT_KINDS: tuple[DriftKind, ...] = get_args(DriftKind)
_TARGETED = ("category_surge", "slow_queues")


@dataclass(frozen=True)
class Drift:
    """A change of ``kind`` from week ``week`` of the generated window on.

    Parameters
    ----------
    kind : {"category_surge", "slow_queues", "language_mix", "new_theme"}
        What changes (module docstring).
    week : int
        First changed week, 0-based; rows created before its Monday are as without drift.
    strength : float, default=1.0
        Scales the change: shares move ``strength`` times the stated points, factors are raised
        to the power ``strength``.
    target : str or None, default=None
        The category or theme of a ``category_surge``, the channel of ``slow_queues`` (None:
        the generator's default); other kinds take none.

    Examples
    --------
    >>> drift = Drift("category_surge", week=8)
    >>> drift.start_hours(np.datetime64("2026-01-01T00:00:00"))  # Monday 2026-02-23
    1272.0
    """

    kind: DriftKind
    week: int
    strength: float = 1.0
    target: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in DRIFT_KINDS:
            raise ValueError(
                f"drift kind must be one of {', '.join(DRIFT_KINDS)}; got {self.kind!r}"
            )
        if isinstance(self.week, bool) or not isinstance(self.week, int) or self.week < 0:
            raise ValueError(f"drift week must be a non-negative integer, got {self.week!r}")
        if not (math.isfinite(self.strength) and self.strength > 0):
            raise ValueError(f"drift strength must be a positive number, got {self.strength!r}")
        if self.target is not None and self.kind not in _TARGETED:
            raise ValueError(f"drift {self.kind!r} takes no target, got {self.target!r}")

    def first_day(self, t0: np.datetime64) -> np.datetime64:
        """The Monday that opens week ``week`` of a window starting at ``t0``."""
        monday = np.busday_offset(t0.astype("datetime64[D]"), 0, roll="backward", weekmask="Mon")
        return monday + np.timedelta64(7 * self.week, "D")

    def start_hours(self, t0: np.datetime64) -> float:
        """Hours from ``t0`` to 00:00 on :meth:`first_day` (negative when before ``t0``)."""
        return float((self.first_day(t0) - t0) / np.timedelta64(1, "h"))

    def changed(self, t0: np.datetime64, hours: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """Whether each time (hours after ``t0``) falls in week ``week`` or later."""
        result: npt.NDArray[np.bool_] = hours >= self.start_hours(t0)
        return result

    def target_code(self, levels: tuple[str, ...], default: str) -> int:
        """The position of ``target`` (or ``default``) in ``levels``; ValueError if absent."""
        name = self.target or default
        if name not in levels:
            raise ValueError(f"drift target must be one of {', '.join(levels)}; got {name!r}")
        return levels.index(name)

    def on(self, levels: tuple[str, ...], codes: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Rows whose code (a position in ``levels``) is the target; all rows without one."""
        if self.target is None:
            return np.ones(len(codes), dtype=bool)
        result: npt.NDArray[np.bool_] = codes == self.target_code(levels, self.target)
        return result

    def share(self, base: npt.ArrayLike, points: float) -> npt.NDArray[np.float64]:
        """``base`` share(s) raised by ``strength`` times ``points``, capped at 0.95."""
        return np.minimum(0.95, np.asarray(base, dtype=np.float64) + self.strength * points)

    def factor(self, base: float) -> float:
        """``base`` raised to the power ``strength``."""
        return float(base**self.strength)
