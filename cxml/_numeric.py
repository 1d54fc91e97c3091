"""Numeric helpers shared by the comment and ticket models."""

from __future__ import annotations

import numpy as np

__all__ = ["logit"]


def logit(p: np.ndarray) -> np.ndarray:
    """``log(p / (1 - p))`` in float64, with ``p`` clipped to ``[1e-6, 1 - 1e-6]``."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    result: np.ndarray = np.log(p / (1 - p))
    return result
