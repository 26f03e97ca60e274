"""``Frozen.trusted_many``: the models the bulk path makes without validating are the models validation makes."""

from __future__ import annotations

import datetime as dt
import gc
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mgr_tariffs.billing.invoices import InvoiceLine
from mgr_tariffs.quantity import QuantityUnit

CENTS = st.integers(-10**9, 10**9).map(lambda cents: Decimal(cents).scaleb(-2))
LINE = st.fixed_dictionaries({
    "bsn": st.text("0123456789", min_size=9, max_size=9), "product": st.sampled_from(["LN017", "LN034"]),
    "product_name": st.text(max_size=20), "unit": st.sampled_from(list(QuantityUnit)), "unit_price": CENTS,
    "quantity": st.decimals(0, 10**6, places=2), "gross_amount": CENTS, "revenue": CENTS, "revenue_netted": CENTS,
    "revenue_unnetted": CENTS, "amount": CENTS, "vat_treatment": st.sampled_from(["vrijgesteld", "hoog"]),
    "vat_rate": st.sampled_from([Decimal(0), Decimal(21)]), "first_day": st.dates(dt.date(2019, 1, 1)),
    "last_day": st.dates(dt.date(2019, 1, 1)), "rows": st.integers(1, 10**6),
})


@given(st.lists(LINE, max_size=5))
def test_trusted_models_are_the_validated_models(lines: list[dict[str, Any]]) -> None:
    columns = {name: [line[name] for line in lines] for name in InvoiceLine.model_fields}
    trusted = InvoiceLine.trusted_many(columns)
    validated = [InvoiceLine(**line) for line in lines]
    assert trusted == validated
    assert [hash(m) for m in trusted] == [hash(m) for m in validated]
    assert [m.model_dump() for m in trusted] == [m.model_dump() for m in validated]
    assert [m.as_json() for m in trusted] == [m.as_json() for m in validated]
    assert [repr(m) for m in trusted] == [repr(m) for m in validated]
    assert all(m.model_fields_set == set(InvoiceLine.model_fields) for m in trusted)


def test_a_copy_of_a_trusted_model_leaves_the_others_as_they_were() -> None:
    line = InvoiceLine(bsn="123456782", product="LN017", product_name="x", unit_price=Decimal("48.60"),
                       quantity=Decimal(2), gross_amount=Decimal("97.20"), amount=Decimal("97.20"),
                       vat_treatment="vrijgesteld", vat_rate=Decimal(0), first_day=dt.date(2019, 7, 1),
                       last_day=dt.date(2019, 7, 2), rows=2)
    first, second = InvoiceLine.trusted_many({name: [value, value] for name, value in line.__dict__.items()})
    changed = first.model_copy(update={"product_name": "y"})
    assert changed.product_name == "y" and first.product_name == second.product_name == "x"
    assert second.model_fields_set == set(InvoiceLine.model_fields)


def test_the_garbage_collector_is_as_it_was_after() -> None:
    empty: dict[str, list[Any]] = {name: [] for name in InvoiceLine.model_fields}
    assert gc.isenabled()
    InvoiceLine.trusted_many(empty)
    assert gc.isenabled()
    gc.disable()
    try:
        InvoiceLine.trusted_many(empty)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_every_field_and_no_other_is_needed() -> None:
    columns: dict[str, list[Any]] = {name: [] for name in InvoiceLine.model_fields}
    del columns["rows"]
    with pytest.raises(ValueError, match="every field and no other"):
        InvoiceLine.trusted_many(columns)
    with pytest.raises(ValueError, match="every field and no other"):
        InvoiceLine.trusted_many({**{name: [] for name in InvoiceLine.model_fields}, "extra": []})
