"""What every command shares: exit codes, consoles, problem rendering, the catalogue option."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import sys
from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mgr_tariffs.bsn import Mask, mask_in
from mgr_tariffs.bsn import mask as mask_bsn
from mgr_tariffs.catalogue.loader import DEFAULT_PATH, Lookup, load_catalogue, resolve_catalogue_path
from mgr_tariffs.dates import Period, parse_date, parse_period
from mgr_tariffs.problems import InputError, Problem
from mgr_tariffs.selection import Selection


class Printed(StrEnum):
    """``--format`` of a command that prints tables: text for people, JSON for programs, CSV for spreadsheets."""

    TEXT = "text"
    JSON = "json"
    CSV = "csv"


class TextOrJson(StrEnum):
    """``--format`` of a command whose result is not a table: text for people, JSON for programs."""

    TEXT = "text"
    JSON = "json"


EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

P = ParamSpec("P")
R = TypeVar("R")

CATALOGUE_OPTION = typer.Option(
    DEFAULT_PATH, "--tariffs", "-t", envvar="MGR_TARIFFS", help="The tariff catalogue (YAML).", show_default=True
)


_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 but tab and LF, DEL, C1
                     r"\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"  # bidi marks, separators
                     r"\ufeff\ufff9-\ufffb\ufffe\uffff]")
"""What must never reach a terminal as it is: C0 controls but tab and line feed (ESC, CR, BEL, backspace), DEL,
the C1 controls (CSI U+009B), line and paragraph separators, the bidirectional marks and overrides (U+202E turns
text around), the byte order mark and the noncharacters U+FFFE/U+FFFF."""


def terminal_text(text: str) -> str:
    """``text`` safe to show on a terminal: every character of :data:`_UNSAFE` written as an escape
    (``\\x1b``, ``\\u202e``), so text from an input file can never move the cursor, recolour, retitle or
    clear the screen, or hide what follows. Everything else is left as it is."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class SafeConsole(Console):
    """A rich console that passes every string it renders (printed text, table cells, titles) through
    :func:`terminal_text` first; the escape sequences rich adds itself for colours are not affected."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(terminal_text(text), **kwargs)


def console(*, width: int | None = 160, stderr: bool = False) -> Console:
    """The console of every command's text output: rich on a terminal, plain text when piped (no colours,
    ``width`` columns for tables), and nothing from an input file reaches the terminal unescaped."""
    stream = sys.stderr if stderr else sys.stdout
    tty = stream.isatty()
    return SafeConsole(stderr=stderr, highlight=False, soft_wrap=stderr or not tty, width=None if tty else width,
                       no_color=not tty, emoji=False)


def table(*columns: str, title: str | None = None, right: Iterable[str] = (), keep: Iterable[str] = ()) -> Table:
    """A table for people: drawn on a terminal, plain columns (no box drawing) when piped.

    ``right`` columns are right-aligned (money, counts); ``keep`` columns identify something (numbers, dates,
    codes, amounts) and are never cut or wrapped, however narrow the terminal: the other columns give way.
    """
    tty = sys.stdout.isatty()
    shown = Table(title=title, title_justify="left", box=box.HEAVY_HEAD if tty else None, show_edge=tty,
                  pad_edge=tty, header_style="bold" if tty else "")
    aligned, kept = set(right), set(keep)
    for name in columns:
        shown.add_column(name, justify="right" if name in aligned else "left", no_wrap=name in kept,
                         overflow="fold")
    return shown


def fit(shown: Table) -> Table:
    """Give every never-cut column (``no_wrap``) the width of its widest cell, once its rows are added."""
    for column in shown.columns:
        if column.no_wrap:
            cells = [len(str(cell)) for cell in column._cells]
            column.min_width = max([len(str(column.header)), *cells])
    return shown


def stdout() -> Console:
    """Rich on a terminal, plain text when piped (no colours, wide enough for tables)."""
    return console()


def stderr() -> Console:
    return console(stderr=True)


def print_problems(problems: Iterable[Problem], console: Console | None = None, shown: Mask = mask_bsn) -> None:
    """Every problem as ``file:line: severity: message`` on stderr (or ``console``).

    Any run of seven to nine digits in a message (a BSN, also one typed into the wrong column) is shown
    as ``shown`` shows a BSN: masked (``*****2333``) by default, in full with ``shown=lambda bsn: bsn``
    (``--show-bsn``). The file and line are never masked.
    """
    out = console or stderr()
    for problem in problems:
        style = "red" if problem.is_error else "yellow"
        text = str(problem.model_copy(update={"message": mask_in(problem.message, shown)}))
        out.print(text, style=style, markup=False)


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


PERIOD_OPTION = typer.Option(None, "--period", metavar="P", help="Only these months: 2019-07, 2019-Q3, 2019 or a "
                             "range 2019-07..2019-09.")
PROVIDER_FILTER = typer.Option(None, "--provider", metavar="NAME", help="Only this provider (any spelling of it).")
MUNICIPALITY_FILTER = typer.Option(None, "--municipality", metavar="NAME", help="Only this municipality (name or "
                                   "CBS code).")


def selection_option(lookup: Lookup, period: str | None, provider: str | None,
                     municipality: str | None) -> Selection:
    """``--period``, ``--provider`` and ``--municipality`` as one selection; a usage error (exit 2) when wrong."""
    try:
        return Selection.of(lookup, period_option(period), provider, municipality)
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from None


def parties_file(path: Path) -> Path:
    """The parties file documents need; a missing one is a usage error (exit 2) that says what to do."""
    if not path.exists():
        raise fail(f"{path}: no such file. E-invoices, PDFs and workbooks need a parties file (who sends and who "
                   "receives): give --parties PATH or set $MGR_PARTIES; data/examples/parties.yaml is an example, and "
                   "`mgr validate PATH` checks one", EXIT_USAGE)
    return path


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
