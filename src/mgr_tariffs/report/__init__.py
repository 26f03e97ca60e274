"""The self-contained HTML report (``mgr report``): :func:`build_report` gathers a frozen
:class:`~mgr_tariffs.report.model.Report`, :func:`render_html` draws it."""

from mgr_tariffs.report.build import ReportOutcome, ReportRequest, ReportUsageError, build_report
from mgr_tariffs.report.render import render_html

__all__ = ["ReportOutcome", "ReportRequest", "ReportUsageError", "build_report", "render_html"]
