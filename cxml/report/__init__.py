"""The HTML report: CX figures over time, themes, drivers and redacted examples on one page.

:func:`build_report` writes a self-contained HTML file (charts embedded, nothing loaded from the
network) and CSV exports of its tables beside it.
"""

from cxml.report.build import ReportResult, build_report

__all__ = ["ReportResult", "build_report"]
