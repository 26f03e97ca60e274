"""One Excel workbook per run: a sheet of invoices and a sheet of their lines.

Amounts are numbers (``Decimal`` cells) in the format ``€ #,##0.00``, dates are date cells, the
header row is frozen and columns are sized to their contents. Text that a spreadsheet would run
as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or CR) gets a leading ``'``.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from mgr_tariffs.billing.invoices import InvoiceLine
from mgr_tariffs.documents.prepare import Prepared
from mgr_tariffs.io import dialect

EURO_FORMAT = "€ #,##0.00"
DATE_FORMAT = "DD-MM-YYYY"
Cell = str | Decimal | int | dt.date | None
MONEY = "money"
INVOICE_COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("Factuurnummer", None), ("Status", None), ("Crediteert factuur", None), ("Bestand", None),
    ("Zorgaanbieder", None), ("KvK", None), ("Gemeente", None), ("CBS-code", None), ("Inkoopreferentie", None),
    ("Periode", None), ("Factuurdatum", DATE_FORMAT), ("Vervaldatum", DATE_FORMAT), ("Regels", None),
    ("Bruto", MONEY), ("Verrekende opbrengst", MONEY), ("Totaal excl. btw", MONEY), ("Btw", MONEY),
    ("Totaal incl. btw", MONEY), ("Niet verrekende opbrengst", MONEY), ("IBAN", None),
)
LINE_COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("Factuurnummer", None), ("Regel", None), ("Zorgaanbieder", None), ("Gemeente", None), ("Periode", None),
    ("BSN", "@"), ("Product", None), ("Productnaam", None), ("Eenheid", None), ("Aantal", "General"),
    ("Tarief per uur", MONEY), ("Bruto", MONEY), ("Opbrengst", MONEY), ("Verrekende opbrengst", MONEY),
    ("Niet verrekende opbrengst", MONEY), ("Bedrag excl. btw", MONEY), ("Btw-behandeling", None),
    ("Btw-tarief %", "General"), ("Eerste dag", DATE_FORMAT), ("Laatste dag", DATE_FORMAT), ("Logregels", None),
)


def neutralise(value: Cell) -> Cell:
    """Text that would start a formula gets a leading ``'`` so it stays text."""
    return dialect.neutralise(value) if isinstance(value, str) else value


def status(doc: Prepared) -> str:
    if doc.is_concept:
        return "concept"
    return "creditnota" if doc.is_credit else "factuur"


def invoice_row(doc: Prepared, stem: str) -> list[Cell]:
    invoice = doc.invoice
    return [doc.id, status(doc), invoice.credits, stem, invoice.provider, doc.supplier.kvk, doc.municipality.name,
            invoice.municipality_code, doc.buyer.buyer_reference, invoice.period, doc.issue_date, doc.due_date,
            len(invoice.lines), doc.gross_total, doc.netted_total, invoice.total, doc.vat_total, doc.total_incl_vat,
            invoice.revenue_unnetted, doc.supplier.iban]


def line_row(doc: Prepared, number: int, line: InvoiceLine) -> list[Cell]:
    invoice = doc.invoice
    return [doc.id, number, invoice.provider, doc.municipality.name, invoice.period, line.bsn, line.product,
            line.product_name, line.unit.value, line.quantity, line.unit_price, line.gross_amount, line.revenue,
            line.revenue_netted, line.revenue_unnetted, line.amount, line.vat_treatment, line.vat_rate,
            line.first_day, line.last_day, line.rows]


def _sheet(workbook: Workbook, title: str, columns: Sequence[tuple[str, str | None]],
           rows: Sequence[Sequence[Cell]], first: bool) -> None:
    sheet = workbook.active if first else workbook.create_sheet()
    sheet.title = title
    sheet.append([name for name, _ in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([neutralise(value) for value in row])
    for index, (_, number_format) in enumerate(columns, 1):
        _format_column(sheet, index, number_format)
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions


def _format_column(sheet: Any, index: int, number_format: str | None) -> None:
    letter = get_column_letter(index)
    fmt = EURO_FORMAT if number_format == MONEY else number_format
    width = len(str(sheet.cell(row=1, column=index).value))
    for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
        if fmt is not None:
            cell.number_format = fmt
        width = max(width, _display_width(cell.value, fmt))
    sheet.column_dimensions[letter].width = min(width + 2, 60)


def _display_width(value: Any, number_format: str | None) -> int:
    if isinstance(value, Decimal) and number_format == EURO_FORMAT:
        return len(f"{value:,.2f}") + 2
    if isinstance(value, dt.date):
        return 10
    return len(str(value)) if value is not None else 0


def build_workbook(documents: Sequence[Prepared], stems: Sequence[str]) -> bytes:
    """The workbook of a run (``facturen.xlsx``) as bytes."""
    workbook = Workbook()
    invoices = [invoice_row(doc, stem) for doc, stem in zip(documents, stems, strict=True)]
    lines = [line_row(doc, n, line) for doc in documents for n, line in enumerate(doc.invoice.lines, 1)]
    _sheet(workbook, "Facturen", INVOICE_COLUMNS, invoices, first=True)
    _sheet(workbook, "Regels", LINE_COLUMNS, lines, first=False)
    if documents:
        moment = dt.datetime.combine(documents[0].issue_date, dt.time())
        workbook.properties.created = workbook.properties.modified = moment
    workbook.properties.creator = "mgr-tariffs"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
