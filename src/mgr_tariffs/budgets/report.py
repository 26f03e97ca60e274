"""A subsidy file with hour logs to statuses and findings: the one library call behind ``mgr subsidy status``,
and the statuses as data (JSON, CSV rows)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mgr_tariffs.budgets.findings import Finding, findings
from mgr_tariffs.budgets.loader import load_subsidies
from mgr_tariffs.budgets.realised import realised_work
from mgr_tariffs.budgets.status import SubsidyStatus, subsidy_status
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.io.tables import read_table
from mgr_tariffs.money import from_cents, json_money
from mgr_tariffs.problems import Problem, error
from mgr_tariffs.quantity import QuantityUnit, from_ticks, plain


@dataclass(frozen=True)
class SubsidyReport:
    file: str
    statuses: list[tuple[SubsidyStatus, list[Finding]]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # the subsidy file's, then the logs' errors
    warnings: list[Problem] = field(default_factory=list)  # the logs' warnings

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]


def subsidy_report(path: Path, lookup: Lookup, on: dt.date, logs: Sequence[Path] = (),
                   subsidy_id: str | None = None, today: dt.date | None = None) -> SubsidyReport:
    """Load ``path``, value the logs' work for each subsidy (or the one with ``subsidy_id``) and compute its
    status and findings on ``on``. Raises :class:`InputError` only for a file that cannot be read."""
    loaded = load_subsidies(path, lookup)
    if loaded.subsidies is None:
        return SubsidyReport(loaded.file, problems=loaded.problems)
    chosen = [(i, s) for i, s in enumerate(loaded.subsidies.subsidies) if subsidy_id in (None, s.id)]
    if not chosen:
        known = ", ".join(s.id for s in loaded.subsidies.subsidies)
        return SubsidyReport(loaded.file, problems=[error(loaded.file, None, f"no subsidy {subsidy_id!r} "
                                                                            f"(the file has {known})")])
    tables = [read_table(log) for log in logs]
    statuses = []
    problems: dict[Problem, None] = dict.fromkeys(loaded.problems)  # each log problem once, however many subsidies
    warnings: dict[Problem, None] = {}
    for index, subsidy in chosen:
        realised = realised_work(subsidy, tables, lookup, today) if tables else None
        if realised is not None:
            problems.update(dict.fromkeys(realised.errors))
            warnings.update(dict.fromkeys(realised.warnings))
        status = subsidy_status(subsidy, lookup, on, realised)
        statuses.append((status, findings(status, loaded.where, index)))
    return SubsidyReport(loaded.file, statuses, list(problems), list(warnings))


def money(cents: int) -> str:
    return json_money(from_cents(cents))


def hours(ticks: int) -> str:
    return plain(from_ticks(ticks, QuantityUnit.HOUR))


def status_json(status: SubsidyStatus, found: list[Finding]) -> dict[str, Any]:
    """One subsidy's status as data: money as strings with a point (``"42630.00"``)."""
    s, settlement = status.subsidy, status.settlement
    deadline = status.next_deadline
    return {
        "id": s.id, "title": s.title, "grantor": status.grantor, "recipient": s.recipient.name,
        "period": {"from": s.period.start.isoformat(), "until": s.period.until.isoformat()},
        "on": status.on.isoformat(), "ceiling": money(status.ceiling_cents),
        "key": {"base": money(status.key_base_cents), "shares": [
            {"municipality": n, "percent": f"{p.normalize():f}", "amount": money(c)} for n, p, c in status.key_split]},
        "advances": [{"date": a.date.isoformat(), "amount": json_money(a.amount)} for a in status.advances],
        "advances_due": money(status.advances_due_cents),
        "paid": money(status.paid_cents) if status.paid_cents is not None else None,
        "realised": {
            "rows_counted": status.realised.rows_counted, "rows_outside": status.realised.rows_outside,
            "hours": hours(status.realised.total_ticks), "total": money(status.realised_total_cents),
            "grantor_part": money(status.part_cents), "basis": s.valuation.basis,
            "by_key": {n: money(c) for n, c in status.by_key}, "by_use": {n: money(c) for n, c in status.by_use},
            "by_month": [{"month": m.month, "hours": hours(m.ticks), "total": money(m.total_cents),
                          "grantor_part": money(m.part_cents), "cumulative": money(m.cumulative_cents),
                          "remaining": money(m.remaining_cents),
                          "by_municipality": {n: money(c) for n, c in m.by_municipality.items()}}
                         for m in status.months]},
        "remaining": money(status.remaining_cents),
        "forecast": None if status.forecast_cents is None else {
            "method": "straight line", "elapsed_days": status.elapsed_days, "period_days": s.period.days,
            "grantor_part": money(status.forecast_cents)},
        "settlement": {"basis": settlement.basis, "basis_amount": money(settlement.basis_cents),
                       "settled": money(settlement.settled_cents), "advances": money(settlement.advances_cents),
                       "advances_basis": settlement.advances_basis, "balance": money(settlement.balance_cents),
                       "outcome": settlement.outcome},
        "next_deadline": None if deadline is None else {"date": deadline.date.isoformat(), "what": deadline.what},
        "findings": [f.as_json() for f in found],
    }


def status_csv_rows(status: SubsidyStatus) -> list[dict[str, str]]:
    """The burn-down per month, one row each, with the realised value per municipality by use."""
    names = [n for n, _ in status.by_use]
    rows = []
    for m in status.months:
        row = {"subsidie": status.subsidy.id, "maand": m.month, "uren": hours(m.ticks),
               "gerealiseerd": money(m.total_cents)}
        row |= {f"gebruik_{n}": money(m.by_municipality.get(n, 0)) for n in names}
        row |= {"deel_subsidieverlener": money(m.part_cents), "cumulatief": money(m.cumulative_cents),
                "resterend_plafond": money(m.remaining_cents)}
        rows.append(row)
    return rows

