"""The catalogue as data: frozen pydantic models that refuse unknown fields.

These models describe ``data/tariffs.yaml``. They check the shape of each value; the rules that
relate values to each other (overlapping periods, unknown municipalities, ...) are small pure
functions in :mod:`mgr_tariffs.rules`, so every problem can be reported with its line.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema

from mgr_tariffs.frozen import Frozen as BaseFrozen


class Frozen(BaseFrozen):
    """A catalogue value: frozen and strict, and filled by field name as well as by its YAML alias."""

    model_config = ConfigDict(populate_by_name=True)


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


def _date_or_text(value: Any) -> Any:
    """A date is written as 2019-07-01; pydantic alone would read the number 0 as 1970-01-01."""
    if not isinstance(value, str | dt.date):
        raise ValueError("write a date as YYYY-MM-DD")
    return value


Day = Annotated[dt.date, BeforeValidator(_date_or_text)]
"""A calendar day written as ``YYYY-MM-DD`` (a YAML date or a quoted string), never a number."""


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

    start: Day = Field(alias="from", description="First day of the membership (inclusive).")
    until: Day | None = Field(None, description="Last day of the membership (inclusive); absent: open.")
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


MONEY_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^\d+(\.\d{1,2})?$"}],
    "exclusiveMinimum": 0, "exclusiveMaximum": 1_000_000,
}
"""Money in the catalogue, written out so the schema does not change with the pydantic version."""


class Rounding(StrEnum):
    """How an indexed price is rounded to whole cents."""

    HALF_UP = "half-up"
    UP = "up"
    DOWN = "down"


PERCENT_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}],
    "exclusiveMinimum": -100, "exclusiveMaximum": 100,
}
"""A percentage in the catalogue (``3.944`` is 3,944 %), exact like money."""
Percent = Annotated[Decimal, WithJsonSchema(PERCENT_SCHEMA), Field(gt=-100, lt=100)]
Weights = Annotated[str, StringConstraints(pattern=r"^\d{1,3}/\d{1,3}$")]


class Indexation(Frozen):
    """Where an indexed price comes from: the price before it, the index and how it was rounded.

    ``mgr tariffs index`` writes it; ``mgr validate`` recomputes ``amount`` from it.
    """

    base: Annotated[Decimal, WithJsonSchema(MONEY_SCHEMA)] = Field(
        description="The price that was indexed: the amount of the period before.")
    percent: Percent = Field(description="The index applied, in percent: 3.944 is 3,944 %.")
    ova: Percent | None = Field(None, description="OVA part (Overheidsbijdrage in de Arbeidskostenontwikkeling), "
                                "in percent, when the index was weighted from parts.")
    ppc: Percent | None = Field(None, description="Consumer-price part (PPC), in percent, with `ova`.")
    weights: Weights | None = Field(None, description="Weights of OVA and PPC in percent, e.g. 90/10.")
    rounding: Rounding = Field(description="How the indexed price was rounded to cents: half-up, up or down.")
    precision: Literal[2, 3] = Field(2, description="3: the indexed price was first rounded half-up to three "
                                     "decimals, then to cents by `rounding`; 2: straight to cents.")
    replaces: Percent | None = Field(None, description="The provisional percentage this figure corrected "
                                     "(`mgr tariffs index --replace`).")
    note: Text | None = Field(None, description="Why: the decision, the advice or the contract clause.")


class Price(Frozen):
    """The tariff of a product from ``start`` up to and including ``until`` (open when ``None``)."""

    start: Day = Field(alias="from", description="First day the price applies (inclusive).")
    until: Day | None = Field(None, description="Last day the price applies (inclusive); absent: until further notice.")
    amount: Annotated[Decimal, WithJsonSchema(MONEY_SCHEMA)] = Field(
        description="Price per unit in euros, excluding VAT, at most two decimals, e.g. 48.60.")
    assumption: Text | None = Field(None, description="What was assumed where the source is silent, and why.")
    source: Text | None = Field(None, description="Key in `sources` when it differs from the product's source.")
    indexation: Indexation | None = Field(None, description="Provenance of an indexed price (mgr tariffs index).")

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


NORM_HOURS_SCHEMA: dict[str, Any] = {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 10_000}


class NormWindow(StrEnum):
    """Over what a duration norm counts a client's hours."""

    REQUEST = "request"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class Norm(Frozen):
    """How long a product is expected to take: exceeding it is a signal to report, never a rejection."""

    hours: Annotated[Decimal, Field(gt=0, lt=10_000, decimal_places=3), WithJsonSchema(NORM_HOURS_SCHEMA)] = Field(
        description="Hours a client is expected to need at most within one window, e.g. 8.")
    per: NormWindow = Field(description="The window: `request` (one request or traject) or a calendar period.")
    text: Text = Field(description="The norm as the source words it.")
    source: Text = Field(description="Key in `sources` of the document the norm comes from.")
    assumption: Text | None = Field(None, description="What was assumed where the source is silent, and why.")


def _iwmo_category(value: Any) -> str:
    if not (isinstance(value, str) and re.fullmatch(r"0[1-9]|1[0-8]", value)):
        raise ValueError("an iWmo ProductCategorie is a WMO020 code, \"01\" to \"18\" (quoted)")
    return value


def _iwmo_code(value: Any) -> str:
    if not (isinstance(value, str) and re.fullmatch(r"[0-9A-Za-z]{1,5}", value)):
        raise ValueError("an iWmo ProductCode is 1 to 5 letters or digits (RS012)")
    return value


IwmoCategory = Annotated[str, BeforeValidator(_iwmo_category),
                         WithJsonSchema({"type": "string", "pattern": r"^(0[1-9]|1[0-8])$"})]
IwmoProductCode = Annotated[str, BeforeValidator(_iwmo_code),
                            WithJsonSchema({"type": "string", "pattern": r"^[0-9A-Za-z]{1,5}$"})]


class IwmoMapping(Frozen):
    """How a product is declared in iWmo (WMO323): its ProductCategorie (WMO020) and ProductCode.

    Checked by ``mgr validate``: it names a ``source`` or carries an ``assumption``. A row is declared in
    iWmo only when it falls under the Wmo (see docs/iwmo.md); a Participatiewet row is invoiced (UBL).
    """

    category: IwmoCategory = Field(description="iWmo ProductCategorie, code list WMO020: 01 to 18, e.g. 06.")
    code: IwmoProductCode = Field(description="iWmo ProductCode, 1 to 5 letters or digits, e.g. LN017.")
    source: Text | None = Field(None, description="Key in `sources` of the document the mapping comes from.")
    assumption: Text | None = Field(None, description="What was assumed where no source gives the mapping.")


class Product(Frozen):
    """One MGR product with its dated prices, oldest first."""

    code: ProductCode = Field(description="MGR product code, e.g. LN017.")
    name: Text = Field(description="Product name as the source writes it.")
    category: CategoryCode = Field(description="Product category, one of the codes under `categories`.")
    domain: Text = Field(description="The law the product is bought under, e.g. Wmo or Participatiewet.")
    perceel: Text = Field(description="The lot (perceel) of the purchase round.")
    unit: Unit = Field(description="What one quantity is; `uur` (hour) for every product so far.")
    professional_level: Text | None = Field(None, description="Education level of the professional: mbo, hbo, wo.")
    vat: Vat
    not_for: tuple[Text, ...] = Field((), description="Member municipalities the product does not apply to.")
    netting: Netting | None = None
    source: Text = Field(description="Key in `sources` of the document the product comes from.")
    norms: tuple[Norm, ...] = Field((), description="Duration norms: hours beyond them are reported as signals.")
    iwmo: IwmoMapping | None = Field(None, description="How the product is declared in iWmo (WMO323), when it "
                                     "can be bought under the Wmo.")
    prices: tuple[Price, ...] = Field(min_length=1, description="Dated prices, oldest first, without overlaps.")

    @property
    def nets_revenue(self) -> bool:
        return self.netting is not None and self.netting.revenue


class Catalogue(Frozen):
    """The whole tariff file."""

    version: Literal[1] = 1
    sources: dict[str, Source]
    categories: tuple[Category, ...]
    municipalities: tuple[Municipality, ...]
    products: tuple[Product, ...]
