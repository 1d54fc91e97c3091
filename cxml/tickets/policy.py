"""The flagging policy: which probability makes a ticket ``at_risk``.

A support team either has a capacity ("we can look at 10 % of tickets") or wants a precision
("when we step in, at least half should have been bad"). The threshold is chosen on held-out
tickets the model was not fitted on and is stored with the model.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import precision_recall_curve

from cxml.config import FlagPolicyConfig

__all__ = ["FlagPolicy", "choose_policy"]


@dataclass(frozen=True)
class FlagPolicy:
    """A chosen threshold and what it was chosen for.

    Attributes
    ----------
    mode : str
        ``capacity`` or ``precision``.
    target : float
        The capacity share or the target precision.
    threshold : float
        Tickets with ``bad_rating_probability >= threshold`` are ``at_risk``.
    expected_flag_share, expected_precision, expected_recall : float
        What the threshold gave on the held-out tickets it was chosen on.
    """

    mode: str
    target: float
    threshold: float
    expected_flag_share: float
    expected_precision: float
    expected_recall: float

    def flag(self, probability: np.ndarray) -> np.ndarray:
        """``at_risk`` for each probability."""
        return np.asarray(probability) >= self.threshold


def choose_policy(y: np.ndarray, probability: np.ndarray, config: FlagPolicyConfig) -> FlagPolicy:
    """Choose the threshold on held-out labels ``y`` (1 = bad) and calibrated ``probability``.

    ``capacity``: the lowest threshold that flags at most ``config.capacity`` of the tickets.
    ``precision``: the lowest threshold whose precision reaches ``config.precision`` (flagging as
    many bad tickets as that allows); when no threshold reaches it, the most precise one, with a
    warning.
    """
    y = np.asarray(y, dtype=int)
    p = np.asarray(probability, dtype=np.float64)
    if config.mode == "capacity":
        target = config.capacity
        candidates = np.unique(p)
        shares = (len(p) - np.searchsorted(np.sort(p), candidates, side="left")) / len(p)
        within = candidates[shares <= target]
        threshold = float(within.min()) if len(within) else float(np.nextafter(p.max(), 1.0))
    else:
        target = config.precision
        precision, _, thresholds = precision_recall_curve(y, p)
        reached = np.flatnonzero(precision[:-1] >= target)
        if len(reached):
            threshold = float(thresholds[reached[0]])
        else:
            best = int(np.argmax(precision[:-1]))
            threshold = float(thresholds[best])
            warnings.warn(
                f"no threshold reaches precision {target:.2f} on the held-out tickets; using the "
                f"most precise one ({precision[best]:.2f} at {threshold:.3f})",
                stacklevel=2,
            )
    flagged = p >= threshold
    hits = int((flagged & (y == 1)).sum())
    return FlagPolicy(
        mode=config.mode,
        target=float(target),
        threshold=threshold,
        expected_flag_share=float(flagged.mean()),
        expected_precision=hits / max(int(flagged.sum()), 1),
        expected_recall=hits / max(int(y.sum()), 1),
    )
