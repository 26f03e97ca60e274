"""An allocation (toewijzing) and the units and frequencies of its size (iWmo WJ756 Eenheid, WMO757 Frequentie).

A size is held exactly as an integer *measure*: ticks of 1/3000 hour (:mod:`mgr_tariffs.quantity`) for the time
units, eurocents for ``euro`` and for a budget. ``dagdeel`` is 4 hours (WJ756 code 16).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING

from mgr_tariffs.money import format_euro, format_quantity, from_cents
from mgr_tariffs.quantity import TICKS_PER_HOUR, TICKS_PER_MINUTE

if TYPE_CHECKING:
    import polars as pl

TICKS_PER_DAGDEEL = 4 * TICKS_PER_HOUR


class Unit(StrEnum):
    """The unit of an allocation's volume (WJ756), and ``budget`` for an allocation by budget."""

    MINUTE = "minuut"
    HOUR = "uur"
    DAGDEEL = "dagdeel"
    EURO = "euro"

    @property
    def per_unit(self) -> int:
        """The measure of one of this unit: ticks for time, cents for euros."""
        return {Unit.MINUTE: TICKS_PER_MINUTE, Unit.HOUR: TICKS_PER_HOUR, Unit.DAGDEEL: TICKS_PER_DAGDEEL,
                Unit.EURO: 100}[self]

    @property
    def is_money(self) -> bool:
        return self is Unit.EURO


UNIT_CODES = {"01": Unit.MINUTE, "04": Unit.HOUR, "16": Unit.DAGDEEL, "83": Unit.EURO}
"""WJ756 codes of the units this tool knows (the others — etmaal, stuks — are not time billed by the hour)."""
UNIT_NAMES = {"minuut": Unit.MINUTE, "minuten": Unit.MINUTE, "min": Unit.MINUTE, "uur": Unit.HOUR,
              "uren": Unit.HOUR, "hour": Unit.HOUR, "hours": Unit.HOUR, "minute": Unit.MINUTE,
              "minutes": Unit.MINUTE, "dagdeel": Unit.DAGDEEL, "dagdelen": Unit.DAGDEEL, "euro": Unit.EURO,
              "euros": Unit.EURO, "euro's": Unit.EURO, **UNIT_CODES, "1": Unit.MINUTE, "4": Unit.HOUR}


class Frequency(StrEnum):
    """How often an allocation's volume may be used (WMO757)."""

    DAY = "dag"
    WEEK = "week"
    MONTH = "maand"
    TOTAL = "totaal"


FREQUENCY_CODES = {"1": Frequency.DAY, "2": Frequency.WEEK, "4": Frequency.MONTH, "6": Frequency.TOTAL}
FREQUENCY_NAMES = {"dag": Frequency.DAY, "day": Frequency.DAY, "per dag": Frequency.DAY, "week": Frequency.WEEK,
                   "per week": Frequency.WEEK, "maand": Frequency.MONTH, "month": Frequency.MONTH,
                   "per maand": Frequency.MONTH, "totaal": Frequency.TOTAL, "total": Frequency.TOTAL,
                   **FREQUENCY_CODES}


@dataclass(frozen=True, slots=True, kw_only=True)
class Allocation:
    """One allocated product: client, provider, municipality, product, period and a volume or a budget.

    ``amount`` is the volume per ``frequency`` in measure (ticks or cents), or the budget in cents when
    ``unit`` is ``None``. ``end`` is inclusive; ``None`` is open. A frozen slotted dataclass rather than a pydantic
    model: a register holds 100,000 of them, made from values the register reader has checked one by one, and a
    pydantic model costs ~30 µs each to make even unvalidated (3 s for such a register).
    """

    number: str
    bsn_id: int
    provider: str
    provider_key: str
    municipality_id: int
    product: str
    start: dt.date
    end: dt.date | None
    amount: int
    unit: Unit | None
    frequency: Frequency | None
    law: str | None = None
    """``Wmo`` or ``Participatiewet`` when the register says under which law it was granted."""
    reason: str | None = None
    comment: str | None = None
    file: str = ""
    line: int | None = None

    @property
    def is_budget(self) -> bool:
        return self.unit is None

    @property
    def in_money(self) -> bool:
        """Whether the allocation counts euros (a budget or unit ``euro``) rather than time."""
        return self.unit is None or self.unit.is_money

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    @property
    def size_text(self) -> str:
        """How a person reads the size: ``3 uur per week``, ``budget € 1.200,00``."""
        if self.unit is None:
            return f"budget {format_euro(from_cents(self.amount))}"
        volume = format_euro(from_cents(self.amount)) if self.unit.is_money else (
            f"{format_quantity(Decimal(self.amount) / self.unit.per_unit)} {self.unit.value}")
        per = "in totaal" if self.frequency is Frequency.TOTAL else f"per {self.frequency}"
        return f"{volume} {per}"


@dataclass(frozen=True)
class Fields:
    """One allocation's cells as text, from a register row or a WMO301 ``ToegewezenProduct``, and where."""

    file: str
    line: int | None
    values: Mapping[str, str | None]

    def get(self, name: str) -> str | None:
        """The text of a cell (the readers strip it); ``None`` when empty or absent."""
        return self.values.get(name) or None


@dataclass(frozen=True, eq=False)
class Register:
    """The allocations read from one or more files, in file order: held as columns
    (:data:`~mgr_tariffs.allocations.table.REGISTER_SCHEMA`,
    ``index`` 0, 1, 2, ...); the :class:`Allocation` objects are made when asked for (billing needs only the few
    it reports on)."""

    table: pl.DataFrame
    files: tuple[str, ...] = ()

    @classmethod
    def of(cls, allocations: Sequence[Allocation], files: Iterable[str] = ()) -> Register:
        """A register of these allocations."""
        from mgr_tariffs.allocations.table import register_table  # noqa: PLC0415 (Polars: when used)

        return cls(register_table(allocations), tuple(files))

    @cached_property
    def allocations(self) -> tuple[Allocation, ...]:
        """Every allocation, in register order."""
        from mgr_tariffs.allocations.table import allocations_of  # noqa: PLC0415

        return tuple(allocations_of(self.table))

    def at(self, indices: Iterable[int]) -> list[Allocation]:
        """The allocations at these positions, in register order (each once)."""
        from mgr_tariffs.allocations.table import allocations_of  # noqa: PLC0415

        wanted = sorted(set(indices))
        if "allocations" in self.__dict__:
            return [self.allocations[i] for i in wanted]
        return allocations_of(self.table[wanted]) if wanted else []

    def numbered(self, numbers: Iterable[str]) -> list[Allocation]:
        """The allocations with these numbers, in register order."""
        import polars as pl  # noqa: PLC0415

        wanted = list(set(numbers))
        return self.at(self.table.filter(pl.col("number").is_in(wanted)).get_column("index").to_list())
