"""What every command shares: exit codes, consoles, problem rendering, the catalogue option."""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console

from mgr_tariffs.catalogue.loader import DEFAULT_PATH, Lookup, load_catalogue, resolve_catalogue_path
from mgr_tariffs.dates import Period, parse_date, parse_period
from mgr_tariffs.problems import InputError, Problem

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

P = ParamSpec("P")
R = TypeVar("R")

CATALOGUE_OPTION = typer.Option(
    DEFAULT_PATH, "--tariffs", "-t", envvar="MGR_TARIFFS", help="The tariff catalogue (YAML).", show_default=True
)


def stdout() -> Console:
    """Rich on a terminal, plain text when piped (no colours, wide enough for tables)."""
    tty = sys.stdout.isatty()
    return Console(highlight=False, soft_wrap=not tty, width=None if tty else 160, no_color=not tty, emoji=False)


def stderr() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def print_problems(problems: Iterable[Problem], console: Console | None = None) -> None:
    out = console or stderr()
    for problem in problems:
        style = "red" if problem.is_error else "yellow"
        out.print(str(problem), style=style, markup=False)


def print_json(data: Any) -> None:
    """Machine output: plain JSON on stdout, never touched by rich.

    Indented on a terminal; compact when piped, which lets ``json`` use its C encoder (a
    million-row bill's JSON is written in seconds, not minutes). Pipe through ``jq`` to read it.
    """
    indent = 2 if sys.stdout.isatty() else None
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=indent) + "\n")


def fail(message: str, code: int = EXIT_INVALID) -> typer.Exit:
    stderr().print(f"mgr: {message}", style="red", markup=False)
    return typer.Exit(code)


def date_option(option: str, text: str | None) -> dt.date | None:
    """An option's date, ``YYYY-MM-DD`` or ``DD-MM-YYYY`` as in the logs (``None`` when not given); anything else
    is a usage error, exit 2."""
    if text is None:
        return None
    day, reason = parse_date(text, option)
    if day is None:
        raise fail(str(reason), EXIT_USAGE)
    return day


def period_option(text: str | None) -> Period | None:
    """``--period``: a month, quarter, year or range (``None`` when not given); anything else exits 2."""
    if text is None:
        return None
    period, reason = parse_period(text)
    if period is None:
        raise fail(f"--period: {reason}", EXIT_USAGE)
    return period


def guarded(func: Callable[P, R]) -> Callable[P, R]:
    """Turn an unreadable input into ``file: message`` and exit 2, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            raise fail(f"{exc.file}: {exc.message}", EXIT_USAGE) from None

    return wrapper


def load_lookup(path: Path) -> Lookup:
    """The catalogue for a command that needs a valid one; its problems end the command."""
    path = resolve_catalogue_path(path)
    result = load_catalogue(path)
    if result.catalogue is None or not result.ok:
        print_problems(result.problems)
        raise fail(f"{path}: the tariff catalogue is invalid; run `mgr validate {path}`")
    return Lookup(result.catalogue)
