"""The ledger of issued invoices (SQLite): numbering, fingerprints of billed rows, credits, export, verify.

``schema`` owns the file (versions, migrations, locking); ``store`` what is recorded in it.
"""
