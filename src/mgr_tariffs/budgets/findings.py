"""Consistency findings a controller wants flagged, each with its numbers and the line it is about.

A finding is a warning, never a load error: the subsidy can still be shown. Each rule is a small pure function
of the status (and the file's line marks):

* ``application_share``: the application's share of its total is not the amount applied for;
* ``grant_vs_key``: the grant is not the grantor's key share of the total (002: 49 % of € 87.000 = € 42.630
  granted, while the key gives Weert 48 % = € 41.760: € 870 unexplained);
* ``key_total``: the key's shares do not add up to 100 %;
* ``advances_above_ceiling`` / ``payments_above_ceiling``: more is advanced or paid than can be settled;
* ``realised_above_ceiling`` / ``forecast_above_ceiling``: the grantor's part of the realised work (or its
  straight-line forecast) is beyond the ceiling; the decision asks the recipient to report this in time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mgr_tariffs.budgets.status import SubsidyStatus, share_cents
from mgr_tariffs.money import format_euro, from_cents, json_money, to_cents
from mgr_tariffs.problems import Problem, warning

Where = Callable[[tuple[str | int, ...]], int | None]


@dataclass(frozen=True)
class Finding:
    kind: str
    line: int | None
    message: str
    amounts: dict[str, int]  # name -> cents

    def problem(self, file: str) -> Problem:
        return warning(file, self.line, f"{self.kind}: {self.message}")

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "line": self.line, "message": self.message,
                "amounts": {k: json_money(from_cents(v)) for k, v in self.amounts.items()}}


def euro(cents: int) -> str:
    return format_euro(from_cents(cents))


def pct(value: Decimal) -> str:
    return f"{value.normalize():f}".replace(".", ",") + " %"


def findings(status: SubsidyStatus, where: Where, index: int = 0) -> list[Finding]:
    """Every finding of one subsidy (the ``index``-th of its file) on the status day."""
    def at(*path: str | int) -> int | None:
        return where(("subsidies", index, *path))

    found: list[Finding] = []
    for rule in RULES:
        found += rule(status, at)
    return found


def application_share(status: SubsidyStatus, at: Callable[..., int | None]) -> list[Finding]:
    application = status.subsidy.application
    if application is None or application.share is None:
        return []
    expected = share_cents(to_cents(application.total), application.share)
    applied = to_cents(application.amount)
    if expected == applied:
        return []
    return [Finding("application_share", at("application", "amount"),
                    f"{pct(application.share)} of {euro(to_cents(application.total))} is {euro(expected)}, but "
                    f"{euro(applied)} is applied for: {euro(applied - expected)} unexplained",
                    {"expected": expected, "applied": applied, "difference": applied - expected})]


def grant_vs_key(status: SubsidyStatus, at: Callable[..., int | None]) -> list[Finding]:
    application = status.subsidy.application
    if application is None:
        return []
    total = to_cents(application.total)
    by_key = share_cents(total, status.grantor_percent)
    granted = status.ceiling_cents
    if by_key == granted:
        return []
    asked = (f"the application's {pct(application.share)} of {euro(total)} = {euro(to_cents(application.amount))}"
             if application.share is not None else f"the application asks {euro(to_cents(application.amount))}")
    return [Finding("grant_vs_key", at("ceiling", "amount"),
                    f"{status.grantor} grants {euro(granted)} ({asked}), while the key gives {status.grantor} "
                    f"{pct(status.grantor_percent)} of {euro(total)} = {euro(by_key)}: "
                    f"{euro(granted - by_key)} unexplained",
                    {"granted": granted, "by_key": by_key, "difference": granted - by_key})]


def key_total(status: SubsidyStatus, at: Callable[..., int | None]) -> list[Finding]:
    total = sum((s.percent for s in status.subsidy.key.shares), Decimal(0))
    if total == 100:
        return []
    split = sum(cents for _, _, cents in status.key_split)
    return [Finding("key_total", at("key", "shares"),
                    f"the key's shares add up to {pct(total)}, not 100 %: they split {euro(split)} of "
                    f"{euro(status.key_base_cents)}", {"base": status.key_base_cents, "split": split,
                                                       "difference": split - status.key_base_cents})]


def advances_above_ceiling(status: SubsidyStatus, at: Callable[..., int | None]) -> list[Finding]:
    total = sum(to_cents(a.amount) for a in status.advances)
    if total <= status.ceiling_cents:
        return []
    return [Finding("advances_above_ceiling", at("advances"),
                    f"the advances add up to {euro(total)}, {euro(total - status.ceiling_cents)} above the ceiling "
                    f"of {euro(status.ceiling_cents)}",
                    {"advances": total, "ceiling": status.ceiling_cents, "difference": total - status.ceiling_cents})]


def payments_above_ceiling(status: SubsidyStatus, at: Callable[..., int | None]) -> list[Finding]:
    total = sum(to_cents(p.amount) for p in status.subsidy.payments)
    if total <= status.ceiling_cents:
        return []
    return [Finding("payments_above_ceiling", at("payments"),
                    f"{euro(total)} is paid, {euro(total - status.ceiling_cents)} above the ceiling of "
                    f"{euro(status.ceiling_cents)}",
                    {"paid": total, "ceiling": status.ceiling_cents, "difference": total - status.ceiling_cents})]


def realised_above_ceiling(status: SubsidyStatus, at: Callable[..., int | None]) -> list[Finding]:
    ceiling = status.ceiling_cents
    found = []
    if status.part_cents > ceiling:
        found.append(Finding(
            "realised_above_ceiling", at("ceiling", "amount"),
            f"{status.grantor}'s part of the realised work, {euro(status.part_cents)}, is "
            f"{euro(status.part_cents - ceiling)} beyond the ceiling of {euro(ceiling)}; the decision asks the "
            "recipient to report this in time, in writing",
            {"realised": status.part_cents, "ceiling": ceiling, "difference": status.part_cents - ceiling}))
    forecast = status.forecast_cents
    if forecast is not None and status.on < status.subsidy.period.until and forecast > ceiling >= status.part_cents:
        found.append(Finding(
            "forecast_above_ceiling", at("ceiling", "amount"),
            f"at the pace so far {status.grantor}'s part reaches {euro(forecast)} by "
            f"{status.subsidy.period.until}, {euro(forecast - ceiling)} beyond the ceiling of {euro(ceiling)}; "
            "the decision asks the recipient to report this in time, in writing",
            {"forecast": forecast, "ceiling": ceiling, "difference": forecast - ceiling}))
    return found


RULES = (application_share, grant_vs_key, key_total, advances_above_ceiling, payments_above_ceiling,
         realised_above_ceiling)
