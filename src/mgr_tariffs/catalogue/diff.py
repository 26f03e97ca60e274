"""What changed between two catalogues, and whether history was rewritten.

:func:`diff_catalogues` lists products added and removed and, per product, periods added, removed,
closed (an open period that got an end), and changed (amount or end), each with the old and new price,
the percentage and the line in either file. Periods are matched by their first day: a period whose
``from`` moved is one removed and one added.

:func:`history_problems` is the CI guard: a period that started before ``today`` may have been
invoiced, so its amount and the part of it before today must stay as they are. Closing an open period
from today on (an indexation) is allowed; moving its start, its amount or an end before today, or
removing it, is an error.

A catalogue is read from a file or, written ``git:REV:path``, from a commit (:func:`read_source`).
"""

from __future__ import annotations

import datetime as dt
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from mgr_tariffs.catalogue.indexation import change_percent, format_percent
from mgr_tariffs.catalogue.loader import parse_catalogue
from mgr_tariffs.catalogue.models import Catalogue, Price, Product
from mgr_tariffs.io.yamlsafe import MAX_BYTES, load_yaml, read_text
from mgr_tariffs.money import format_euro, json_money
from mgr_tariffs.problems import InputError, Problem, error

GIT_PREFIX = "git:"


class ChangeKind(StrEnum):
    PRODUCT_ADDED = "product added"
    PRODUCT_REMOVED = "product removed"
    PERIOD_ADDED = "period added"
    PERIOD_REMOVED = "period removed"
    PERIOD_CLOSED = "period closed"
    PERIOD_CHANGED = "period changed"


@dataclass(frozen=True)
class Snapshot:
    """A valid catalogue with the line of every product and period, as read from ``file``."""

    file: str
    catalogue: Catalogue
    lines: dict[tuple[str | int, ...], int]

    def line(self, *path: str | int) -> int | None:
        for end in range(len(path), 0, -1):
            found = self.lines.get(tuple(path[:end]))
            if found is not None:
                return found
        return None

    def index_of(self, code: str) -> int | None:
        return next((i for i, p in enumerate(self.catalogue.products) if p.code == code), None)


class SnapshotError(Exception):
    """A catalogue that cannot be compared because it is invalid; carries its problems."""

    def __init__(self, file: str, problems: list[Problem]) -> None:
        super().__init__(f"{file}: the tariff catalogue is invalid")
        self.file = file
        self.problems = problems


def read_source(spec: str) -> str:
    """The text of a catalogue: a path, or ``git:REV:path`` (the file as committed in ``REV``)."""
    if not spec.startswith(GIT_PREFIX):
        return read_text(Path(spec))
    rev, colon, path = spec[len(GIT_PREFIX):].partition(":")
    if not rev or not colon or not path:
        raise InputError(spec, "write a committed file as git:REV:path, e.g. git:HEAD:data/tariffs.yaml")
    _check_rev(spec, rev)
    return _git_show(spec, rev, path)


def _check_rev(spec: str, rev: str) -> None:
    """A revision is never read as an option of git (``--output=...``)."""
    if rev.startswith("-") or any(c.isspace() for c in rev):
        raise InputError(spec, f"{rev!r} is not a git revision")


def exists_in_git(rev: str, path: str) -> bool:
    """Whether ``path`` is in commit ``rev``; :class:`InputError` when ``rev`` is not a commit of this repository."""
    _check_rev(f"{GIT_PREFIX}{rev}", rev)
    _git(f"{GIT_PREFIX}{rev}", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    try:
        _git(f"{GIT_PREFIX}{rev}:{path}", "cat-file", "-e", f"{rev}:{_relative(path)}")
    except InputError:
        return False
    return True


def _relative(path: str) -> str:
    return path if path.startswith(("./", "../")) else f"./{path}"


def _git_show(spec: str, rev: str, path: str) -> str:
    data = _git(spec, "show", f"{rev}:{_relative(path)}")
    if len(data) > MAX_BYTES:
        raise InputError(spec, f"file is {len(data):,} bytes; at most {MAX_BYTES:,} are accepted")
    if b"\x00" in data:
        raise InputError(spec, "a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(spec, f"not UTF-8 text (invalid byte at offset {exc.start})") from None


def _git(spec: str, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], capture_output=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(spec, f"git cannot be run: {exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(spec, message[-1].removeprefix("fatal: ") if message else "not found in git")
    return done.stdout


def snapshot(text: str, file: str) -> Snapshot:
    """A valid catalogue with its lines, or :class:`SnapshotError` with its problems."""
    loaded = parse_catalogue(text, file)
    if loaded.catalogue is None or not loaded.ok:
        raise SnapshotError(file, loaded.problems)
    return Snapshot(file, loaded.catalogue, load_yaml(text, file).lines)


def load_snapshot(spec: str) -> Snapshot:
    return snapshot(read_source(spec), spec)


@dataclass(frozen=True)
class CatalogueChange:
    """One difference between two catalogues (a period is named by its first day, ``start``)."""

    kind: ChangeKind
    code: str
    start: dt.date | None = None
    old_until: dt.date | None = None
    new_until: dt.date | None = None
    old_amount: Decimal | None = None
    new_amount: Decimal | None = None
    old_line: int | None = None
    new_line: int | None = None

    @property
    def percent(self) -> Decimal | None:
        if self.old_amount is None or self.new_amount is None or self.old_amount == self.new_amount:
            return None
        return change_percent(self.old_amount, self.new_amount)

    def describe(self) -> str:
        """One line for people: ``LN017: period added from 2019-07-01, open: € 47,04 -> € 48,60 (+3,316 %)``."""
        if self.kind in (ChangeKind.PRODUCT_ADDED, ChangeKind.PRODUCT_REMOVED):
            return f"{self.code}: {self.kind.value}"
        end = self.old_until if self.kind is ChangeKind.PERIOD_REMOVED else self.new_until
        span = f"from {self.start}, {_until(end)}"
        text = f"{self.code}: {self.kind.value} {span}"
        if self.kind in (ChangeKind.PERIOD_CLOSED, ChangeKind.PERIOD_CHANGED) and self.old_until != self.new_until:
            text += f" (was {_until(self.old_until)})"
        return text + ": " + self._money()

    def _money(self) -> str:
        if self.old_amount is None or self.new_amount is None:
            return format_euro(self.new_amount if self.new_amount is not None else self.old_amount or Decimal(0))
        if self.old_amount == self.new_amount:
            return format_euro(self.new_amount)
        percent = self.percent
        sign = "+" if percent is not None and percent > 0 else ""
        shown = f" ({sign}{format_percent(percent)})" if percent is not None else ""
        return f"{format_euro(self.old_amount)} -> {format_euro(self.new_amount)}{shown}"

    def as_json(self) -> dict[str, Any]:
        """Data output: money and the percentage as strings (``"48.60"``, ``"3.316"``), dates ISO, open ends null."""
        def day(value: dt.date | None) -> str | None:
            return value.isoformat() if value else None

        def money(value: Decimal | None) -> str | None:
            return json_money(value) if value is not None else None

        percent = self.percent
        return {"kind": self.kind.value, "code": self.code, "from": day(self.start), "old_until": day(self.old_until),
                "new_until": day(self.new_until), "old_amount": money(self.old_amount),
                "new_amount": money(self.new_amount), "percent": f"{percent:f}" if percent is not None else None,
                "old_line": self.old_line, "new_line": self.new_line}


CHANGE_FIELDS = ("kind", "code", "from", "old_until", "new_until", "old_amount", "new_amount", "percent",
                 "old_line", "new_line")


def _until(day: dt.date | None) -> str:
    return f"until {day}" if day else "open"


def diff_catalogues(old: Snapshot, new: Snapshot) -> list[CatalogueChange]:
    """Every difference in prices between ``old`` and ``new``, in the order of the new file (removed last)."""
    changes: list[CatalogueChange] = []
    old_products = {p.code: (i, p) for i, p in enumerate(old.catalogue.products)}
    new_codes = set()
    for j, product in enumerate(new.catalogue.products):
        new_codes.add(product.code)
        if product.code not in old_products:
            changes.append(CatalogueChange(ChangeKind.PRODUCT_ADDED, product.code, new_line=new.line("products", j)))
            continue
        i, before = old_products[product.code]
        changes += _period_changes(old, i, before, new, j, product)
    changes += [CatalogueChange(ChangeKind.PRODUCT_REMOVED, code, old_line=old.line("products", i))
                for code, (i, _) in old_products.items() if code not in new_codes]
    return changes


def _period_changes(old: Snapshot, i: int, before: Product, new: Snapshot, j: int,
                    after: Product) -> list[CatalogueChange]:
    old_periods = {p.start: (k, p) for k, p in enumerate(before.prices)}
    changes = []
    for k, price in enumerate(after.prices):
        new_line = new.line("products", j, "prices", k)
        if price.start not in old_periods:
            previous = after.prices[k - 1].amount if k else None
            changes.append(CatalogueChange(ChangeKind.PERIOD_ADDED, after.code, price.start, None, price.until,
                                           previous, price.amount, None, new_line))
            continue
        m, was = old_periods[price.start]
        if was.until == price.until and was.amount == price.amount:
            continue
        kind = ChangeKind.PERIOD_CLOSED if was.until is None and was.amount == price.amount else \
            ChangeKind.PERIOD_CHANGED
        changes.append(CatalogueChange(kind, after.code, price.start, was.until, price.until, was.amount,
                                       price.amount, old.line("products", i, "prices", m), new_line))
    starts = {p.start for p in after.prices}
    changes += [CatalogueChange(ChangeKind.PERIOD_REMOVED, after.code, p.start, p.until, None, p.amount, None,
                                old.line("products", i, "prices", m), new.line("products", j, "prices"))
                for m, p in enumerate(before.prices) if p.start not in starts]
    return changes


def history_problems(old: Snapshot, new: Snapshot, today: dt.date) -> list[Problem]:
    """An error for every period of ``old`` that started before ``today`` and was changed or removed in ``new``."""
    problems = []
    new_products = {p.code: (j, p) for j, p in enumerate(new.catalogue.products)}
    for i, before in enumerate(old.catalogue.products):
        started = [p for p in before.prices if p.start < today]
        if not started:
            continue
        if before.code not in new_products:
            problems.append(error(new.file, new.line("products"), f"{before.code} was removed ({old.file}:"
                                  f"{old.line('products', i)}), but its price has applied since {started[0].start}: "
                                  "invoices may carry it"))
            continue
        j, after = new_products[before.code]
        by_start = {p.start: (k, p) for k, p in enumerate(after.prices)}
        for price in started:
            problems += _protected(old, new, (i, j), price, by_start.get(price.start), today)
    return problems


def _protected(old: Snapshot, new: Snapshot, where: tuple[int, int], was: Price,
               now: tuple[int, Price] | None, today: dt.date) -> list[Problem]:
    i, j = where
    code = old.catalogue.products[i].code
    since = f"it has applied since {was.start}, so invoices may carry it"
    if now is None:
        m = old.catalogue.products[i].prices.index(was)
        return [error(new.file, new.line("products", j, "prices"), f"{code}: the price from {was.start} "
                      f"({format_euro(was.amount)}, {old.file}:{old.line('products', i, 'prices', m)}) was removed "
                      f"or its start moved; {since}")]
    k, price = now
    problems = []
    if price.amount != was.amount:
        problems.append(error(new.file, new.line("products", j, "prices", k, "amount"),
                              f"{code}: the price from {was.start} changed from {format_euro(was.amount)} to "
                              f"{format_euro(price.amount)}; {since}"))
    yesterday = today - dt.timedelta(days=1)

    def before_today(until: dt.date | None) -> dt.date | None:
        return None if until is None or until >= yesterday else until

    if before_today(was.until) != before_today(price.until):
        problems.append(error(new.file, new.line("products", j, "prices", k, "until"),
                              f"{code}: the price from {was.start} now runs {_ends(price.until)} (before: "
                              f"{_ends(was.until)}): days before today ({today}) would be priced differently"))
    return problems


def _ends(day: dt.date | None) -> str:
    return f"until {day}" if day else "until further notice"
