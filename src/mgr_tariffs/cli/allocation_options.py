"""``--allocations`` of ``mgr bill`` and ``mgr check``: the options, and the one call into the allocations package.

Kept apart from the commands so that ``cmd_bill`` and ``cmd_check`` each gain a few options and one call. The
allocations package is imported when an option asks for it (a faster start-up of every command).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mgr_tariffs.allocations import XSD_ENV
from mgr_tariffs.bsn import Mask
from mgr_tariffs.cli.common import EXIT_INVALID, EXIT_USAGE, fail, print_json, print_problems, stderr
from mgr_tariffs.money import format_euro, from_cents

if TYPE_CHECKING:
    from mgr_tariffs.allocations.model import Register
    from mgr_tariffs.billing.engine import BillingResult
    from mgr_tariffs.catalogue.loader import Lookup

ALLOCATIONS_OPTION = typer.Option(None, "--allocations", metavar="REG", help="Allocation register (CSV, .xlsx or "
                                  "WMO301 XML; repeat for several): bill or check only within what the "
                                  "municipality allocated.")
CAP_OPTION = typer.Option(False, "--cap-to-allocation", help="With --allocations: bill up to what an allocation "
                          "allows and report the rest (default: refuse over-allocation).")
XSD_OPTION = typer.Option(None, "--iwmo-dir", envvar=XSD_ENV, help="The iWmo 3.2 folder (with xsd/), to validate "
                          "WMO301 registers \\[default: ../shared/iwmo when it exists].")


def load_register(paths: Sequence[Path], lookup: Lookup, xsd: Path | None, shown: Mask) -> Register:
    """The register (its warnings printed), or its problems printed and exit 1."""
    from mgr_tariffs.allocations.register import read_register  # noqa: PLC0415
    from mgr_tariffs.allocations.wmo301 import xsd_folder  # noqa: PLC0415

    loaded = read_register(list(paths), lookup, xsd_dir=xsd_folder(xsd))
    print_problems(loaded.problems, shown=shown)
    if loaded.register is None:
        raise fail(f"{', '.join(map(str, paths))}: the allocation register is invalid; nothing written")
    return loaded.register


def bill_option(result: BillingResult, paths: Sequence[Path] | None, lookup: Lookup, *, cap: bool, issue: bool,
                ledger: Path | None, xsd: Path | None, as_json: bool, shown: Mask) -> BillingResult:
    """``mgr bill --allocations``: the run held to the register, or refused (exit 1) when anything is over an
    allocation and not capped; ``--cap-to-allocation`` without a register is a usage error."""
    if not paths:
        if cap:
            raise fail("--cap-to-allocation needs --allocations REG", EXIT_USAGE)
        return result
    if issue:
        from mgr_tariffs.ledger.store import ledger_path  # noqa: PLC0415

        ledger = ledger_path(ledger)
    held, over = hold_to_allocations(result, paths, lookup, cap=cap, ledger=ledger, xsd=xsd, shown=shown)
    if over is not None:
        refuse_over_allocation(held, over, as_json, shown)
    return held


def hold_to_allocations(result: BillingResult, paths: Sequence[Path], lookup: Lookup, *, cap: bool,
                        ledger: Path | None, xsd: Path | None, shown: Mask
                        ) -> tuple[BillingResult, tuple[int, int] | None]:
    """The run held to the register (:func:`~mgr_tariffs.allocations.billing.apply_allocations`) and, when anything
    is over an allocation and not capped, how many allocation months and the money at stake (then nothing may be
    billed: :func:`refuse_over_allocation`). With a ledger that exists, its live invoices count as used before,
    and the rows it billed already are not counted again."""
    from mgr_tariffs.allocations.billing import apply_allocations  # noqa: PLC0415
    from mgr_tariffs.allocations.report import Settings  # noqa: PLC0415
    from mgr_tariffs.allocations.usage import priced_ledger_rows  # noqa: PLC0415

    register = load_register(paths, lookup, xsd, shown)
    earlier, issued = None, None
    if ledger is not None and ledger.exists():
        from mgr_tariffs.ledger.store import LedgerError, find_billed, live_rows  # noqa: PLC0415

        try:
            earlier = priced_ledger_rows(live_rows(ledger), lookup)
            issued = find_billed(ledger, result.rows).select("_file", "_line") if not result.rows.is_empty() else None
        except LedgerError as exc:
            raise fail(str(exc)) from None
    applied = apply_allocations(result, register, cap=cap, earlier=earlier, already_billed=issued,
                                settings=Settings(shown=shown))
    evaluation = applied.evaluation
    return applied.result, (len(evaluation.over), evaluation.at_stake_cents) if evaluation.over and not cap else None


def refuse_over_allocation(result: BillingResult, over: tuple[int, int], as_json: bool, shown: Mask) -> None:
    """Strict ``--allocations``: over-allocation is never billed, not even with ``--skip-invalid``: every problem
    is listed (or the JSON of the failed run printed) and the command exits 1, writing nothing."""
    from mgr_tariffs.billing.output import result_json  # noqa: PLC0415

    if as_json:
        data = result_json(result)
        data["invoices"] = []
        print_json(data)
        raise typer.Exit(EXIT_INVALID)
    print_problems([*result.errors, *result.warnings], shown=shown)
    months, cents = over
    stderr().print(f"nothing written: over-allocation is never billed ({months} allocation month(s) over, "
                   f"{format_euro(from_cents(cents))} at stake); correct the hours or the register, or bill "
                   "up to the allowed with --cap-to-allocation", style="red", markup=False)
    raise typer.Exit(EXIT_INVALID)
