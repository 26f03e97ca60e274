"""``mgr check``: a provider's invoice recomputed line by line against the catalogue and the hours logged."""

from mgr_tariffs.checking.engine import CheckOptions, CheckResult, Discrepancy, check

__all__ = ["CheckOptions", "CheckResult", "Discrepancy", "check"]
