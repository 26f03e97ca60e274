"""The console script's entry: as small as possible, so Ctrl-C at any moment ends quietly.

The command-line modules import Polars, pydantic and rich, which takes a moment; a Ctrl-C in that
moment must not print a traceback, so they are imported inside the ``try``.
"""

from __future__ import annotations

import sys

INTERRUPTED = 130


def main() -> None:
    try:
        from .cli import main as cli_main  # noqa: PLC0415 - imported here so Ctrl-C during start-up is caught

        cli_main()
    except KeyboardInterrupt:
        sys.stderr.write("mgr: interrupted; nothing was written\n")
        sys.exit(INTERRUPTED)
