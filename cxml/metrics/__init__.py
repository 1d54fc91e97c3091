"""Voice-of-customer analytics: CX metrics with confidence intervals, and theme driver analysis.

:func:`metric_table` computes CSAT, NPS, CES, first-contact resolution, resolution time,
retention, churn or referral by segment and period; :func:`driver_table` ranks the themes of
analysed comments by their impact on CSAT or NPS.
"""

from cxml.metrics.cx import (
    METRICS,
    MetricResult,
    ces,
    churn,
    csat,
    fcr,
    first_contact_resolved,
    metric_table,
    nps,
    referral,
    resolution_time,
    retention,
)
from cxml.metrics.drivers import DRIVER_COLUMNS, driver_table

__all__ = [
    "DRIVER_COLUMNS",
    "METRICS",
    "MetricResult",
    "ces",
    "churn",
    "csat",
    "driver_table",
    "fcr",
    "first_contact_resolved",
    "metric_table",
    "nps",
    "referral",
    "resolution_time",
    "retention",
]
