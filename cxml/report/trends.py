"""The "Trends and emerging themes" section: theme spikes and new themes, in words.

Representative comments of emerging themes go through :func:`cxml.text.redact.redact_many`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from cxml.report.sections import PERIOD_NAMES
from cxml.text.redact import redact_many

if TYPE_CHECKING:
    from cxml.monitoring.trends import TrendsResult

__all__ = ["trends_section"]

_EXAMPLES = 3
#: Periods of an emerging theme's growth shown (its share, in %, oldest first).
_GROWTH = 6


def trends_section(result: TrendsResult) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """The template context of the section, and ``trends_tests`` (every test) for the CSVs.

    Alerts are grouped by period, latest first; each emerging theme carries its share of the
    last period's comments, its earlier share, its share in each of the last six periods and up
    to three redacted representative comments.
    """
    tests = result.tests.reset_index(drop=True)
    fired = tests[tests["alert"].astype(bool)]
    alerts = [
        {"period": period, "messages": group["message"].tolist()}
        for period, group in sorted(fired.groupby("period"), key=lambda g: str(g[0]), reverse=True)
    ]
    emerging = []
    for theme in result.emerging.to_dict("records"):
        examples = list(theme.get("representatives", []))[:_EXAMPLES]
        emerging.append(
            {
                "theme": theme["theme"],
                "id": theme["id"],
                "size": int(theme["size"]),
                "share": float(theme["share"]),
                "earlier_share": theme["earlier_share"],
                "terms": ", ".join(list(theme["top_terms"])[:6]),
                "growth": " → ".join(f"{100 * x:.1f}" for x in list(theme["shares"])[-_GROWTH:]),
                "examples": redact_many(pd.Series(examples, dtype=object)).tolist(),
            }
        )
    periods = result.periods
    context = {
        "period_name": PERIOD_NAMES.get(result.period, result.period),
        "n_periods": len(periods),
        "tested": int((periods["tests"] > 0).sum()) if len(periods) else 0,
        "themes": int(tests["theme"].nunique()) if len(tests) else 0,
        "alpha": result.alpha,
        "n_alerts": len(fired),
        "alerts": alerts,
        "emerging": emerging,
    }
    return context, {"trends_tests": tests}
