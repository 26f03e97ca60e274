"""A register as columns (:data:`REGISTER_SCHEMA`) and back: what billing works on, and the
:class:`~mgr_tariffs.allocations.model.Allocation` objects made from it when asked for."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from mgr_tariffs.allocations.model import Allocation, Frequency, Unit

REGISTER_SCHEMA: dict[str, pl.DataType] = {
    "number": pl.String(), "bsn_id": pl.Int64(), "provider": pl.String(), "provider_key": pl.String(),
    "municipality_id": pl.Int64(), "product": pl.String(), "start": pl.Date(), "end": pl.Date(),
    "amount": pl.Int64(), "unit": pl.String(), "frequency": pl.String(), "in_money": pl.Boolean(),
    "law": pl.String(), "reason": pl.String(), "comment": pl.String(), "file": pl.String(), "line": pl.Int64(),
    "index": pl.UInt32(),
}
"""A register as columns: one row per :class:`Allocation` (its fields; ``unit`` and ``frequency`` by value, null
for a budget), ``in_money`` and ``index``, the position in the register."""


def register_table(allocations: Sequence[Allocation]) -> pl.DataFrame:
    """The allocations as columns (:data:`REGISTER_SCHEMA`)."""
    def column(name: str) -> list[object]:
        return [getattr(a, name) for a in allocations]
    return pl.DataFrame({
        **{name: column(name) for name in ("number", "bsn_id", "provider", "provider_key", "municipality_id",
                                           "product", "start", "end", "amount")},
        "unit": [a.unit.value if a.unit else None for a in allocations],
        "frequency": [a.frequency.value if a.frequency else None for a in allocations],
        "in_money": [a.in_money for a in allocations],
        **{name: column(name) for name in ("law", "reason", "comment", "file", "line")},
        "index": range(len(allocations)),
    }, schema=REGISTER_SCHEMA)


def allocations_of(table: pl.DataFrame) -> list[Allocation]:
    """The :class:`Allocation` of each row of a register table (:data:`REGISTER_SCHEMA`), in its order."""
    names = ("number", "bsn_id", "provider", "provider_key", "municipality_id", "product", "start", "end", "amount",
             "unit", "frequency", "law", "reason", "comment", "file", "line")
    return [Allocation(number=number, bsn_id=client, provider=provider, provider_key=key, municipality_id=code,
                       product=product, start=start, end=end, amount=amount, unit=Unit(unit) if unit else None,
                       frequency=Frequency(frequency) if frequency else None, law=law, reason=reason,
                       comment=comment, file=file, line=line)
            for (number, client, provider, key, code, product, start, end, amount, unit, frequency, law, reason,
                 comment, file, line) in table.select(names).iter_rows()]
