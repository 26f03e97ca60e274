"""The console script's entry: as small as possible, so Ctrl-C at any moment ends quietly.

The command-line modules import typer and rich (and a command's own module Polars and pydantic), which
takes a moment; a Ctrl-C in that moment must not print a traceback, so they are imported inside the ``try``.
``mgr --version`` is answered here, before any of them is imported. The garbage collector is off while they
are imported (collections of the growing heap of modules took ~0.05 s of a short ``mgr bill``); the command
turns it back on before it runs, with what was imported frozen (:func:`mgr_tariffs.cli.started`).

When the command is done the process ends at once (:func:`os._exit`) after flushing its output:
tearing down the interpreter would free every object of a large run one by one (half a second
after billing a million rows) for nothing. Every file has been written and closed by then, and the
ledger's transactions are committed and its connections closed by the commands themselves.
"""

from __future__ import annotations

import _thread
import contextlib
import gc
import os
import sys

INTERRUPTED = 130
ALLOCATOR_SETTINGS = "dirty_decay_ms:500,muzzy_decay_ms:0"
"""Polars' allocator (jemalloc) keeps freed memory for ten seconds before it gives it back; a large run frees and
allocates big columns step after step, so its peak was the sum of them. Given back after half a second, the peak
of ten million rows is ~0.5 GiB lower, a million rows ~0.1 GiB, at the same speed (docs/performance.md). A
``_RJEM_MALLOC_CONF`` set by the user wins; it must be set before Polars is loaded."""


def main() -> None:
    sys.unraisablehook = _quiet_interrupt
    os.environ.setdefault("_RJEM_MALLOC_CONF", ALLOCATOR_SETTINGS)
    gc.disable()
    try:
        if sys.argv[1:] == ["--version"]:  # what `mgr --version` prints, without typer (the root option says the same)
            from mgr_tariffs import __version__  # noqa: PLC0415

            sys.stdout.write(f"mgr-tariffs {__version__}\n")
        else:
            from mgr_tariffs.cli import main as cli_main  # noqa: PLC0415 - imported here so Ctrl-C during start-up is caught

            cli_main()
        code = 0
    except KeyboardInterrupt:
        sys.stderr.write("mgr: interrupted; nothing was written\n")
        code = INTERRUPTED
    except SystemExit as exc:
        code = exit_code(exc.code)
    end(code)


def _quiet_interrupt(unraisable: sys.UnraisableHookArgs) -> None:
    """A Ctrl-C that lands in a callback Python cannot raise from (importlib's module-lock weakref callback,
    while the CLI modules are imported) would be printed as "Exception ignored in ...: Traceback" and lost.
    It is raised again in the main thread instead, where :func:`main` ends the run quietly; anything else
    unraisable is shown as Python shows it."""
    if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
        _thread.interrupt_main()
        return
    sys.__unraisablehook__(unraisable)


def exit_code(code: object) -> int:
    """What Python makes of ``sys.exit(code)``: None is 0, a number is itself, anything else is printed and 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(f"{code}\n")
    return 1


def end(code: int) -> None:
    """Flush what was printed and end the process now, with ``code``."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (mgr ... | head): nothing more to say
            stream.flush()
    os._exit(code)
