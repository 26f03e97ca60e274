"""Hour logs to monthly invoices: ``hourlog`` (columns and field rules), ``engine`` (row rules, pricing,
grouping), ``invoices`` (the invoice values every writer reads) and ``output`` (CSV, JSON, folders)."""

from mgr_tariffs.billing.engine import BillingResult, BillOptions, Summary, bill, bill_tables

__all__ = ["BillOptions", "BillingResult", "Summary", "bill", "bill_tables"]
