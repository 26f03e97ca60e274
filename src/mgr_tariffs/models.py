"""The catalogue as data: frozen pydantic models that refuse unknown fields.

These models describe ``data/tariffs.yaml``. They check the shape of each value; the rules that
relate values to each other (overlapping periods, unknown municipalities, ...) are small pure
functions in :mod:`mgr_tariffs.rules`, so every problem can be reported with its line.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Unit(StrEnum):
    HOUR = "uur"


class VatTreatment(StrEnum):
    EXEMPT = "vrijgesteld"
    STANDARD = "hoog"
    REDUCED = "laag"


VAT_RATES = {VatTreatment.EXEMPT: Decimal(0), VatTreatment.STANDARD: Decimal(21), VatTreatment.REDUCED: Decimal(9)}
"""VAT percentage per treatment (Wet op de omzetbelasting 1968: 21 % and 9 %)."""

ProductCode = Annotated[str, StringConstraints(pattern=r"^LN\d{3}$")]
CategoryCode = Annotated[str, StringConstraints(pattern=r"^LN\d+$")]
CbsCode = Annotated[str, StringConstraints(pattern=r"^\d{4}$")]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]


class Source(Frozen):
    """A document a product or price comes from (``../shared/sources/``)."""

    title: Text
    reference: Text | None = None
    file: Text
    date: Text


class Category(Frozen):
    code: CategoryCode
    name: Text


class Membership(Frozen):
    """A period in which a municipality buys through the MGR; ``until`` is inclusive."""

    start: dt.date = Field(alias="from")
    until: dt.date | None = None
    assumption: Text | None = None

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.until is None or day <= self.until)


class Municipality(Frozen):
    code: CbsCode
    name: Text
    memberships: tuple[Membership, ...] = Field(min_length=1)

    def is_member_on(self, day: dt.date) -> bool:
        return any(m.covers(day) for m in self.memberships)

    @property
    def gm_code(self) -> str:
        return f"GM{self.code}"


class Price(Frozen):
    """The tariff of a product from ``start`` up to and including ``until`` (open when ``None``)."""

    start: dt.date = Field(alias="from")
    until: dt.date | None = None
    amount: Decimal
    assumption: Text | None = None
    source: Text | None = None

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.until is None or day <= self.until)


class Vat(Frozen):
    treatment: VatTreatment
    reason: Text | None = None
    assumption: Text | None = None

    @property
    def rate(self) -> Decimal:
        return VAT_RATES[self.treatment]


class Netting(Frozen):
    """Revenue the client's work earned is subtracted from the line amount, never below zero."""

    revenue: bool = True
    rule: Text


class Product(Frozen):
    code: ProductCode
    name: Text
    category: CategoryCode
    domain: Text
    perceel: Text
    unit: Unit
    professional_level: Text | None = None
    vat: Vat
    not_for: tuple[Text, ...] = ()
    netting: Netting | None = None
    source: Text
    prices: tuple[Price, ...] = Field(min_length=1)

    @property
    def nets_revenue(self) -> bool:
        return self.netting is not None and self.netting.revenue


class Catalogue(Frozen):
    """The whole tariff file."""

    version: int = 1
    sources: dict[str, Source]
    categories: tuple[Category, ...]
    municipalities: tuple[Municipality, ...]
    products: tuple[Product, ...]
