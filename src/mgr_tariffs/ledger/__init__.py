"""The ledger of issued invoices (SQLite): numbering, fingerprints of billed rows, credits, export, verify.

``schema`` owns the file (versions, migrations, locking); ``store`` what is recorded in it. Which file is the
ledger (:func:`ledger_path`) is answered here, so a command can ask without importing the store.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_LEDGER = Path("mgr-ledger.sqlite")
LEDGER_ENV = "MGR_LEDGER"


def ledger_path(option: Path | None) -> Path:
    """The ledger to use: ``--ledger PATH``, else ``$MGR_LEDGER``, else ``mgr-ledger.sqlite`` here."""
    if option is not None:
        return option
    env = os.environ.get(LEDGER_ENV, "").strip()
    return Path(env) if env else DEFAULT_LEDGER
