"""The report as data: a frozen model of everything the HTML report shows, in integer cents.

:func:`mgr_tariffs.report.gather.gather_report` builds it; :func:`mgr_tariffs.report.render.render_html` draws
it. Nothing here is formatted: money is whole cents, dates are dates, BSNs are already masked.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_DOWN, Decimal

from mgr_tariffs.frozen import Frozen

NEAR_PERCENT = 80
"""An allocation is nearly used from this share of its total (the allocation checks' default warning threshold)."""


class Input(Frozen):
    """One file the report was made from, as named in its header."""

    role: str  # Dutch: "urenlog", "factuurresultaat (JSON)", "subsidie", "grootboek", "nieuwe tarieven", ...
    path: str


class Amount(Frozen):
    """A total of one municipality, provider, product or month."""

    label: str
    cents: int
    rows: int = 0


class MonthCell(Frozen):
    """The billed amount of one municipality in one month (``YYYY-MM``)."""

    municipality: str
    period: str
    cents: int


class PriceChange(Frozen):
    """The rows and amounts of one product just before and from one price period's start.

    "Before" is the previous price period, "after" the period that starts on ``start``, as far as the log reaches.
    """

    product: str
    product_name: str
    start: dt.date
    old_price_cents: int
    new_price_cents: int
    rows_before: int
    cents_before: int
    rows_after: int
    cents_after: int


class WhatIfRow(Frozen):
    """A municipality's billed amount under the current and under the new catalogue."""

    municipality: str
    old_cents: int
    new_cents: int

    @property
    def difference_cents(self) -> int:
        return self.new_cents - self.old_cents


class WhatIf(Frozen):
    new_tariffs: str
    rows: tuple[WhatIfRow, ...]
    old_total_cents: int
    new_total_cents: int

    @property
    def difference_cents(self) -> int:
        return self.new_total_cents - self.old_total_cents


class ProblemKind(Frozen):
    """Problems of one kind (the message with its particulars left out), how many, and the first as an example."""

    kind: str
    count: int
    example: str  # ``file:line: message``, BSNs masked


class BurnMonth(Frozen):
    month: str
    part_cents: int
    cumulative_cents: int
    remaining_cents: int


class SubsidyBurn(Frozen):
    """One subsidy's burn-down: the grantor's cumulative part per month against the ceiling, and the forecast."""

    id: str
    title: str
    grantor: str
    start: dt.date
    until: dt.date
    on: dt.date
    ceiling_cents: int
    part_cents: int
    forecast_cents: int | None
    months: tuple[BurnMonth, ...]
    outcome: str
    balance_cents: int


class LedgerMonth(Frozen):
    """Invoices and credit notes in the ledger for one billed month (the invoices' period)."""

    period: str
    invoices: int
    issued_cents: int
    credit_notes: int
    credited_cents: int  # the credit notes' totals: zero or negative

    @property
    def net_cents(self) -> int:
        return self.issued_cents + self.credited_cents


class AllocationUse(Frozen):
    """One allocation's use in its unit (``uur``, ``minuut`` or ``euro``): allowed over the whole allocation
    (``None``: no total limit), used, and what remains."""

    allocation: str
    client: str  # masked BSN
    provider: str
    product: str
    unit: str
    allowed: Decimal | None
    used: Decimal

    @property
    def remaining(self) -> Decimal | None:
        return None if self.allowed is None else self.allowed - self.used

    @property
    def percent_used(self) -> Decimal | None:
        """Whole percent of the allowed total used, rounded down (79,9 % is not yet 80 %)."""
        if not self.allowed:
            return None
        return (self.used * 100 / self.allowed).quantize(Decimal(1), rounding=ROUND_DOWN)

    @property
    def status(self) -> str:
        """``overschreden`` above the total, ``bijna op`` from :data:`NEAR_PERCENT` %, else ``ruim``."""
        percent = self.percent_used
        if self.remaining is not None and self.remaining < 0:
            return "overschreden"
        return "bijna op" if percent is not None and percent >= NEAR_PERCENT else "ruim"


class Report(Frozen):
    """Everything the report shows."""

    title: str
    run_date: dt.date
    catalogue: str
    inputs: tuple[Input, ...]
    rows_read: int
    rows_billed: int
    rows_rejected: int
    invoices: int
    total_cents: int
    vat_cents: int
    months: tuple[str, ...]
    by_month: tuple[MonthCell, ...]
    by_municipality: tuple[Amount, ...]
    by_provider: tuple[Amount, ...]
    by_product: tuple[Amount, ...]
    price_changes: tuple[PriceChange, ...]
    rejected: tuple[ProblemKind, ...]
    warnings: tuple[ProblemKind, ...]
    what_if: WhatIf | None = None
    subsidies: tuple[SubsidyBurn, ...] = ()
    subsidy_note: str | None = None
    ledger: tuple[LedgerMonth, ...] | None = None
    allocations: tuple[AllocationUse, ...] | None = None
