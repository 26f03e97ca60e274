"""The self-contained HTML report (``mgr report``): :func:`build_report` gathers a frozen
:class:`~mgr_tariffs.report.model.Report`, :func:`mgr_tariffs.report.render.render_html` draws it.

The package itself imports only the gathering side; the drawing side (matplotlib, Jinja2) is imported from
:mod:`mgr_tariffs.report.render` when it is needed (``mgr report`` imports it while the logs are billed).
"""

from mgr_tariffs.report.build import ReportOutcome, ReportRequest, ReportUsageError, build_report

__all__ = ["ReportOutcome", "ReportRequest", "ReportUsageError", "build_report"]
