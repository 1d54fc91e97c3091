"""The HTML report: CX figures over time, themes, drivers and redacted examples on one page.

:func:`build_report` writes a self-contained HTML file (charts embedded, nothing loaded from the
network) and CSV exports of its tables beside it; :func:`build_monitoring_report` does the same
for a monitoring job (:func:`cxml.monitoring.monitor.monitor`), which :func:`build_report` can
also show as a section.
"""

from cxml.report.build import ReportResult, build_monitoring_report, build_report

__all__ = ["ReportResult", "build_monitoring_report", "build_report"]
