"""An Excel template for hour logs (``mgr template uren.xlsx``): what a clerk fills in, `mgr bill` reads.

The first sheet, *Uren*, has the log's columns with the cell types that keep a value as typed: the BSN column
is text (a number would lose its leading zero), dates are date cells, hours are numbers with up to three
decimals. Product codes and municipalities are lists to pick from (Excel data validation) taken from the
catalogue, so a code cannot be misspelt. A second sheet, *Instructie*, explains each column; `mgr bill` reads
the first sheet of a workbook unless told otherwise, so the instructions are never billed.
"""

from __future__ import annotations

import io

from mgr_tariffs.catalogue.loader import Lookup

HOURS_SHEET = "Uren"
INSTRUCTION_SHEET = "Instructie"
ROWS = 2000
"""Rows prepared with the cell formats and pick lists."""
COLUMNS = (
    ("datum", "Datum van de dienst (de datum bepaalt het tarief)", "DD-MM-YYYY", 12),
    ("bsn", "BSN van de cliënt, negen cijfers (tekst: de voorloopnul blijft)", "@", 12),
    ("aanbieder", "Naam van de aanbieder, steeds op dezelfde manier geschreven", "@", 34),
    ("gemeente", "Gemeente van de cliënt (kies uit de lijst)", "@", 22),
    ("productcode", "MGR-productcode (kies uit de lijst), bijvoorbeeld LN017", "@", 13),
    ("uren", "Uren, met hoogstens drie decimalen (0,125 = 7,5 minuut)", "0.0##", 8),
    ("opbrengst", "Alleen LN034: opbrengst van het werk van de cliënt, in euro", "€ #,##0.00", 12),
    ("omschrijving", "Vrije tekst, wordt niet gefactureerd", "@", 40),
)


def template_workbook(lookup: Lookup) -> bytes:
    """The template as ``.xlsx`` bytes, with pick lists from the catalogue."""
    from openpyxl import Workbook  # noqa: PLC0415 - openpyxl is loaded only for workbooks
    from openpyxl.styles import Font  # noqa: PLC0415
    from openpyxl.utils import get_column_letter  # noqa: PLC0415
    from openpyxl.worksheet.datavalidation import DataValidation  # noqa: PLC0415

    book = Workbook()
    sheet = book.active
    sheet.title = HOURS_SHEET
    sheet.append([name for name, *_ in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    lists = book.create_sheet("Lijsten")
    products = [p.code for p in lookup.catalogue.products]
    towns = [m.name for m in lookup.catalogue.municipalities]
    for row, code in enumerate(products, 1):
        lists.cell(row, 1, code)
        lists.cell(row, 2, lookup.products[code].name)
    for row, town in enumerate(towns, 1):
        lists.cell(row, 3, town)
    lists.sheet_state = "hidden"
    for index, (name, _, number_format, width) in enumerate(COLUMNS, 1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = width
        for row in range(2, ROWS + 2):
            sheet.cell(row, index).number_format = number_format
        if name == "productcode":
            _pick(sheet, DataValidation, f"=Lijsten!$A$1:$A${len(products)}", f"{letter}2:{letter}{ROWS + 1}",
                  "Onbekende productcode", "Kies een MGR-productcode uit de lijst.")
        if name == "gemeente":
            _pick(sheet, DataValidation, f"=Lijsten!$C$1:$C${len(towns)}", f"{letter}2:{letter}{ROWS + 1}",
                  "Onbekende gemeente", "Kies een gemeente uit de lijst.")
    info = book.create_sheet(INSTRUCTION_SHEET)
    info.append(["kolom", "wat u invult"])
    for cell in info[1]:
        cell.font = Font(bold=True)
    for name, explanation, *_ in COLUMNS:
        info.append([name, explanation])
    info.append([])
    info.append(["", "Eén regel per dienst. Factureren: mgr bill <dit bestand>.xlsx (het eerste blad wordt gelezen)."])
    info.column_dimensions["A"].width = 14
    info.column_dimensions["B"].width = 90
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _pick(sheet: object, validation: type, source: str, cells: str, title: str, text: str) -> None:
    rule = validation(type="list", formula1=source, allow_blank=True, showErrorMessage=True, errorTitle=title,
                      error=text)
    sheet.add_data_validation(rule)  # type: ignore[attr-defined]
    rule.add(cells)
