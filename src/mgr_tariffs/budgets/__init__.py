"""Budgets next to the hourly billing: subsidies (ceiling, split key, advances, settlement per Awb 4:46) with
the controller's consistency findings, duration-norm signals and capacity forecasts, valued at the MGR tariffs.

``models`` and ``loader`` read ``subsidies.yaml``; ``realised`` values the recipient's hours from an hour log;
``status`` computes advances, burn-down, forecast and settlement; ``findings`` flags inconsistencies; ``norms``
reports hours beyond a product's duration norm; ``forecast`` estimates capacity from requests x hours.
"""
