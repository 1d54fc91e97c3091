"""cxml: customer-experience machine learning.

The Python API for notebooks (loaded on first use, so ``import cxml`` stays light):

* :func:`cxml.analyze_comments`: sentiment, themes and theme sentiment of a comments DataFrame;
* :func:`cxml.score_tickets`: bad-rating probability, ``at_risk`` and reasons of tickets.
"""

from typing import Any

from cxml._version import __version__

__all__ = ["__version__", "analyze_comments", "score_tickets"]


def __getattr__(name: str) -> Any:
    if name in ("analyze_comments", "score_tickets"):
        from cxml.scoring import frames

        return getattr(frames, name)
    raise AttributeError(f"module 'cxml' has no attribute {name!r}")
