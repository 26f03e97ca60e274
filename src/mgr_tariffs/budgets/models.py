"""A subsidy as data: frozen pydantic models of ``subsidies.yaml``.

A subsidy (Awb title 4.2) is granted up to a ceiling for a period, paid as advances and settled
afterwards at the realised costs. These models check the shape of each value; the rules that relate
values to each other and to the catalogue are in :mod:`mgr_tariffs.budgets.loader`, the controller's
consistency findings in :mod:`mgr_tariffs.budgets.findings`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, WithJsonSchema, model_validator

from mgr_tariffs.catalogue.models import Day, Frozen, ProductCode, Source, Text

MONEY_SCHEMA: dict[str, Any] = {"anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^\d+(\.\d{1,2})?$"}]}
Money = Annotated[Decimal, Field(ge=0, lt=1_000_000_000, decimal_places=2), WithJsonSchema(MONEY_SCHEMA)]
"""Euros with at most two decimals, read exactly from the YAML text."""
Percent = Annotated[Decimal, Field(ge=0, le=100, decimal_places=4), WithJsonSchema({"type": "number"})]
"""A percentage, 0 to 100, e.g. 48 or 48.5."""
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


class Provenance(Frozen):
    """Where a value comes from: the words of the source, or what was assumed where it is silent."""

    source: Text | None = Field(None, description="Key in `sources`, when it differs from the subsidy's source.")
    quote: Text | None = Field(None, description="The source's words for the value.")
    assumption: Text | None = Field(None, description="What was assumed where the source is silent, and why.")


class Period(Frozen):
    """The subsidy period; both days inclusive."""

    start: Day = Field(alias="from")
    until: Day

    def covers(self, day: dt.date) -> bool:
        return self.start <= day <= self.until

    @property
    def days(self) -> int:
        return (self.until - self.start).days + 1


class Ceiling(Provenance):
    amount: Money = Field(description="The most the subsidy can be settled at (subsidieplafond van de verlening).")


class Application(Provenance):
    """What the recipient applied for: its share of a total budget."""

    total: Money = Field(description="The total budget the application is a share of, e.g. 87000.")
    share: Percent | None = Field(None, description="The share of the total applied for, in percent, e.g. 49.")
    amount: Money = Field(description="The amount applied for.")


class Share(Frozen):
    municipality: Text
    percent: Percent


class Key(Provenance):
    """How the costs are split over the municipalities (verdeelsleutel)."""

    basis: Text | None = Field(None, description="What the key is based on, e.g. the share of inhabitants.")
    shares: tuple[Share, ...] = Field(min_length=1)


class AdvanceSchedule(StrEnum):
    QUARTERLY = "quarterly"
    MONTHLY = "monthly"
    ONCE = "once"


class Advance(Frozen):
    """One advance (voorschot) of the schedule: due on ``date``."""

    date: Day
    amount: Money


class Advances(Provenance):
    """The advance schedule: equal parts of the ceiling on the first day of each quarter (or month) of the
    period, or the items listed. ``part`` is the share of the ceiling advanced (100 = all of it)."""

    schedule: AdvanceSchedule = AdvanceSchedule.QUARTERLY
    part: Percent = Field(Decimal(100), description="Percentage of the ceiling paid as advances.")
    items: tuple[Advance, ...] = Field((), description="Explicit advances; when given, `schedule` is not used.")


class Payment(Frozen):
    """An advance actually paid."""

    date: Day
    amount: Money
    reference: Text | None = None


class Valuation(Provenance):
    """How realised hours are valued: at an MGR product's tariff on the service date, or a fixed hourly rate."""

    product: ProductCode | None = Field(None, description="Every hour at this MGR product's tariff on its date.")
    hourly_rate: Money | None = Field(None, description="Every hour at this fixed rate.")
    products: tuple[ProductCode, ...] = Field((), description="Only log rows of these products count (default: all).")
    basis: Literal["key", "use"] = Field("key", description="The grantor's part of the realised costs: by the "
                                         "key (`key`) or by the rows logged for the grantor (`use`).")

    @model_validator(mode="after")
    def _one_rate(self) -> Valuation:
        if (self.product is None) == (self.hourly_rate is None):
            raise ValueError("give exactly one of product and hourly_rate")
        return self


class Deadline(Provenance):
    date: Day
    what: Text


class Recipient(Frozen):
    name: Text
    aliases: tuple[Text, ...] = Field((), description="Other spellings of the recipient in hour logs.")


class Subsidy(Frozen):
    """One subsidy decision (beschikking) with its application."""

    id: Identifier
    title: Text
    grantor: Text = Field(description="The municipality that grants the subsidy; one of the key's municipalities.")
    recipient: Recipient
    source: Text = Field(description="Key in `sources` of the decision.")
    decision: Provenance | None = None
    period: Period
    ceiling: Ceiling
    application: Application | None = None
    key: Key
    advances: Advances = Advances()
    payments: tuple[Payment, ...] = ()
    valuation: Valuation
    deadlines: tuple[Deadline, ...] = ()


class SubsidyFile(Frozen):
    """The whole ``subsidies.yaml``."""

    version: Literal[1] = 1
    sources: dict[str, Source]
    subsidies: tuple[Subsidy, ...] = Field(min_length=1)
