"""The one library call behind ``mgr report``: read the inputs, bill, gather every section, return the model.

Hour logs are billed with :func:`mgr_tariffs.billing.engine.bill` (or, with a what-if, by
:func:`mgr_tariffs.billing.whatif.compare_tariffs`, whose run under the current tariffs is the report's run);
a ``mgr bill --json`` result is read as billed. Subsidies come from :mod:`mgr_tariffs.budgets`, the ledger
from :func:`mgr_tariffs.ledger.store.list_invoices`. Rejected rows do not stop a report: they are one of its
sections. Problems of the other inputs (an invalid subsidy file) are returned, and no report with them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mgr_tariffs.billing.engine import BillingResult, BillOptions, bill
from mgr_tariffs.budgets.norms import with_norm_signals
from mgr_tariffs.budgets.status import SubsidyStatus
from mgr_tariffs.catalogue.loader import Lookup
from mgr_tariffs.problems import InputError, Problem
from mgr_tariffs.report.gather import BillJsonError, Extras, billed_from_json, billed_from_result, gather_report
from mgr_tariffs.report.model import AllocationUse, Input, Report


@dataclass(frozen=True)
class ReportRequest:
    """The inputs of one report. ``logs`` are hour logs, or exactly one ``.json`` result of ``mgr bill --json``."""

    logs: Sequence[Path]
    lookup: Lookup
    catalogue: Path
    run_date: dt.date
    options: BillOptions = field(default_factory=BillOptions)
    new_tariffs: tuple[Path, Lookup] | None = None
    subsidy: Path | None = None
    ledger: Path | None = None
    allocations: Sequence[AllocationUse] | None = None  # the hook for an allocation register (issue 14)
    allocation_register: Path | None = None


@dataclass(frozen=True)
class ReportOutcome:
    report: Report | None
    problems: list[Problem] = field(default_factory=list)


class ReportUsageError(ValueError):
    """Inputs that cannot make a report together, worded for the user."""


def is_bill_json(paths: Sequence[Path]) -> bool:
    return any(p.suffix.lower() == ".json" for p in paths)


def build_report(request: ReportRequest) -> ReportOutcome:
    """Read, bill and gather; raises :class:`InputError` for an unreadable file and :class:`ReportUsageError`
    for inputs that do not go together."""
    from_json = is_bill_json(request.logs)
    if from_json and (len(request.logs) != 1 or request.new_tariffs or request.subsidy):
        raise ReportUsageError("a `mgr bill --json` result is reported alone: give one .json file, without hour "
                               "logs, --compare-tariffs or --subsidy (they need the hour logs)")
    inputs = [Input(role="factuurresultaat (mgr bill --json)" if from_json else "urenlog", path=str(p))
              for p in request.logs]
    what_if = None
    if from_json:
        try:
            billed = billed_from_json(_read_json(request.logs[0]), str(request.logs[0]))
        except BillJsonError as exc:
            raise InputError(str(request.logs[0]), str(exc)) from None
    elif request.new_tariffs is not None:
        from mgr_tariffs.billing.whatif import compare_tariffs  # noqa: PLC0415 - only for a what-if

        path, new = request.new_tariffs
        what_if = compare_tariffs(request.logs, request.lookup, new, request.options)
        billed = billed_from_result(_with_signals(what_if.old, request))
        inputs.append(Input(role="nieuwe tarieven", path=str(path)))
    else:
        billed = billed_from_result(_with_signals(bill(request.logs, request.lookup, request.options), request))
    statuses, problems, note = _subsidies(request)
    if problems:
        return ReportOutcome(None, problems)
    ledger = _ledger(request.ledger) if request.ledger is not None else None
    inputs += [Input(role=role, path=str(path)) for role, path in (
        ("subsidie", request.subsidy), ("grootboek", request.ledger),
        ("toewijzingen", request.allocation_register)) if path is not None]
    extras = Extras(what_if=what_if, new_tariffs=str(request.new_tariffs[0]) if request.new_tariffs else None,
                    subsidies=statuses, subsidy_note=note, ledger=ledger, allocations=request.allocations)
    report = gather_report(billed, request.lookup, inputs=inputs, catalogue=str(request.catalogue),
                           run_date=request.run_date, extras=extras)
    return ReportOutcome(report)


def _with_signals(result: BillingResult, request: ReportRequest) -> BillingResult:
    """The duration-norm signals as warnings, as ``mgr bill`` adds them."""
    return with_norm_signals(result, request.logs, request.options.sheet, request.options.mask)


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(str(path), f"not JSON ({exc})") from None


def _subsidies(request: ReportRequest) -> tuple[list[SubsidyStatus], list[Problem], str | None]:
    if request.subsidy is None:
        return [], [], None
    from mgr_tariffs.budgets.report import subsidy_report  # noqa: PLC0415 - only with --subsidy

    found = subsidy_report(request.subsidy, request.lookup, request.run_date, request.logs,
                           today=request.options.today)
    if found.errors and not found.statuses:
        return [], found.errors, None
    note = None if found.statuses else "Het subsidiebestand bevat geen subsidies."
    return [status for status, _ in found.statuses], [], note


def _ledger(path: Path) -> list[object]:
    from mgr_tariffs.ledger.store import LedgerError, list_invoices  # noqa: PLC0415 - only with --ledger

    try:
        return list(list_invoices(path))
    except LedgerError as exc:
        raise InputError(str(path), str(exc).removeprefix(f"{path}: ")) from None
