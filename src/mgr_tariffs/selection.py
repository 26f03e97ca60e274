"""``--period``, ``--provider`` and ``--municipality``: which months, supplier and municipality a command looks at —
one meaning for ``bill``, ``check`` and the ledger commands.

A provider matches in any spelling of the same supplier (:func:`mgr_tariffs.identity.provider_key`); a
municipality by name (any case, with or without "(L.)") or CBS code, as the catalogue knows it; a period is a
month, quarter, year or range (:mod:`mgr_tariffs.dates`). :meth:`Selection.matches` is the rule for one item,
:meth:`Selection.expr` the same over a frame.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.dates import Period
from mgr_tariffs.identity import provider_key, provider_key_expr

if TYPE_CHECKING:
    import polars as pl
else:
    from mgr_tariffs.lazy import polars as pl


@dataclass(frozen=True)
class Selection:
    """What to look at; ``None`` for a part means all."""

    period: Period | None = None
    provider: str | None = None
    municipality: str | None = None  # CBS code, four digits

    @classmethod
    def of(cls, lookup: Lookup, period: Period | None = None, provider: str | None = None,
           municipality: str | None = None) -> Selection:
        """The selection of command options; :class:`ValueError` for a municipality the catalogue does not know."""
        code = None
        if municipality is not None:
            found = lookup.municipality(municipality)
            if found is None:
                known = ", ".join(m.name for m in lookup.catalogue.municipalities)
                raise ValueError(f"--municipality {municipality!r} is not a municipality of the catalogue ({known})")
            code = found.code
        return cls(period, provider, code)

    @property
    def everything(self) -> bool:
        return self.period is None and self.provider is None and self.municipality is None

    def matches(self, provider: str, municipality_code: str, day: dt.date) -> bool:
        """Whether one row or line (its provider, CBS code and a day of it) is selected."""
        return ((self.period is None or self.period.contains(day))
                and (self.provider is None or provider_key(provider) == provider_key(self.provider))
                and (self.municipality is None or municipality_code.zfill(4) == self.municipality))

    def expr(self, provider: str = "provider", municipality_id: str = "municipality_id",
             day: str = "date") -> pl.Expr:
        """:meth:`matches` over columns (``municipality_id``: the CBS code as a number)."""
        terms = [pl.lit(True)]
        if self.period is not None:
            terms.append(pl.col(day).is_between(self.period.first, self.period.end))
        if self.provider is not None:
            terms.append(provider_key_expr(pl.col(provider)) == provider_key(self.provider))
        if self.municipality is not None:
            terms.append(pl.col(municipality_id).cast(pl.Int64) == int(self.municipality))
        return pl.all_horizontal(terms).fill_null(False)
