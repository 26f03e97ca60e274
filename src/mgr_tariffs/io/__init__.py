"""Files in and out: tables (CSV/XLSX), safe YAML, the Dutch spreadsheet dialect and all-or-nothing writes.

Nothing here knows about tariffs or invoices; the packages that own a file format call these readers.
"""
