"""Printable Dutch invoices (PDF 1.4, A4), written directly with the base-14 Helvetica fonts.

No PDF library: a page is a content stream of text and rectangle operators, laid out here with the fonts'
glyph widths (:mod:`mgr_tariffs.documents.helvetica`), so an invoice costs a fraction of a millisecond. The
fonts are the viewer's own Helvetica and Helvetica-Bold in the WinAnsi (Windows-1252) encoding, so ``€``,
``ë`` and the other Dutch characters print without shipping a font, and the text stays extractable; any
character outside it is replaced by its closest ASCII form. The specification table repeats its header on
every page, every page says ``pagina 2 van 11``, long product names are shortened with ``…`` and amounts are
right-aligned. An invoice without a number is marked CONCEPT (title and a watermark on every page).
The same invoice always gives the same bytes (the creation date is the invoice date).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import unicodedata
import zlib
from decimal import Decimal

from mgr_tariffs.billing.invoices import InvoiceLine
from mgr_tariffs.documents.helvetica import BOLD, REGULAR
from mgr_tariffs.documents.prepare import Prepared, VatGroup
from mgr_tariffs.money import format_euro, format_number, format_quantity
from mgr_tariffs.quantity import QuantityUnit

MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december")
MARGIN = 15.0
ROW = 4.8
PAGE_WIDTH = 210.0
PAGE_HEIGHT = 297.0
BREAK_AT = PAGE_HEIGHT - 18.0
"""A row that would end below this line (mm from the top) goes to the next page."""
CELL_PADDING = 1.0
"""Room left and right of a cell's text, mm."""
# (heading, width in mm, alignment)
COLUMNS: tuple[tuple[str, float, str], ...] = (
    ("BSN", 19, "L"), ("Product", 56, "L"), ("Aantal", 18, "R"), ("Tarief/uur", 17, "R"), ("Bedrag", 21, "R"),
    ("Verrekend", 19, "R"), ("Excl. btw", 21, "R"), ("Btw", 9, "R"),
)
GREY = (235, 235, 235)
_NO_DECOMPOSITION = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "ı": "i", "Ħ": "H", "ħ": "h"}
_PT = 72 / 25.4  # points per mm
_ELLIPSIS = "…"
# PDF string escapes; control characters (which no font has a glyph for) become spaces
_ESCAPE = {ord("\\"): "\\\\", ord("("): "\\(", ord(")"): "\\)", **{c: " " for c in range(32)}}


def pdf_text(text: str) -> str:
    """Text the core fonts can show: Windows-1252 as is, anything else folded to ASCII or ``?``."""
    try:
        text.encode("cp1252")
        return text
    except UnicodeEncodeError:
        return "".join(_printable(char) for char in text)


def _printable(char: str) -> str:
    try:
        char.encode("cp1252")
        return char
    except UnicodeEncodeError:
        plain = _NO_DECOMPOSITION.get(char, char)
        folded = unicodedata.normalize("NFKD", plain).encode("ascii", "ignore").decode("ascii")
        return folded or "?"


@functools.lru_cache(maxsize=1 << 16)
def text_width(text: str, size: float, bold: bool = False) -> float:
    """The width in mm of ``text`` (already :func:`pdf_text`) in Helvetica (or Helvetica-Bold) of ``size`` pt."""
    widths = BOLD if bold else REGULAR
    return sum(map(widths.__getitem__, text.encode("cp1252"))) * size / 1000 / _PT


@functools.lru_cache(maxsize=1 << 16)
def fit(text: str, width: float, size: float, bold: bool = False) -> str:
    """``text`` shortened with ``…`` until it fits a cell of ``width`` mm (minus padding) in the given font.

    Linear in the length of ``text``: the widths of its characters are added up until the room is used, so a
    name of 150,000 characters costs one pass, not one measurement per character dropped.
    """
    text = pdf_text(text)
    room = width - 2 * CELL_PADDING
    if text_width(text, size, bold) <= room:
        return text
    widths = BOLD if bold else REGULAR
    left = (room - text_width(_ELLIPSIS, size, bold)) * _PT * 1000 / size
    end = len(text)
    for index, char in enumerate(text):
        left -= widths[char.encode("cp1252")[0]]
        if left < 0:
            end = index
            break
    return text[:end].rstrip() + _ELLIPSIS


@functools.lru_cache(maxsize=1 << 14)
def fit_keeping_end(text: str, width: float, size: float, bold: bool = False) -> str:
    """Like :func:`fit`, but a text that is too wide keeps its last word and is shortened before it: a
    product name ends with the level that sets its price ("… mbo-niveau", "… hbo-niveau")."""
    text = pdf_text(text).strip()
    room = width - 2 * CELL_PADDING
    if text_width(text, size, bold) <= room or " " not in text:
        return fit(text, width, size, bold)
    head, tail = text.rsplit(" ", 1)
    left = width - text_width(" " + tail, size, bold)
    if left <= 2 * CELL_PADDING + text_width(_ELLIPSIS, size, bold):
        return fit(text, width, size, bold)
    return fit(head, left, size, bold) + " " + tail


def wrap(text: str, width: float, size: float, bold: bool = False, *, by_char: bool = False) -> list[str]:
    """``text`` (already :func:`pdf_text`) as the lines of a cell ``width`` mm wide: broken at spaces, a word
    wider than the cell (or, ``by_char``, any text) at the last character that fits."""
    room = width - 2 * CELL_PADDING
    if text_width(text, size, bold) <= room:
        return [text]
    lines: list[str] = []
    current = ""
    for word in ([text] if by_char else text.split(" ")):
        candidate = f"{current} {word}" if current else word
        if text_width(candidate, size, bold) <= room:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while text_width(current, size, bold) > room and len(current) > 1:
            cut = _chars_that_fit(current, room, size, bold)
            lines.append(current[:cut])
            current = current[cut:].lstrip(" ") if not by_char else current[cut:]
    if current or not lines:
        lines.append(current)
    return lines


def _chars_that_fit(text: str, room: float, size: float, bold: bool) -> int:
    widths = BOLD if bold else REGULAR
    left = room * _PT * 1000 / size
    for index, byte in enumerate(text.encode("cp1252")):
        left -= widths[byte]
        if left < 0:
            return max(index, 1)
    return len(text)


def long_date(day: dt.date) -> str:
    """``5 april 2019``."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def month_name(day: dt.date) -> str:
    return f"{MONTHS[day.month - 1]} {day.year}"


def title(doc: Prepared) -> str:
    if doc.is_concept:
        return "CONCEPTFACTUUR"
    return "CREDITNOTA" if doc.is_credit else "FACTUUR"


def quantity_text(line: InvoiceLine) -> str:
    unit = "min" if line.unit is QuantityUnit.MINUTE else "uur"
    return f"{format_quantity(line.quantity)} {unit}"


def vat_text(line: InvoiceLine) -> str:
    return "vrij" if line.vat_treatment == "vrijgesteld" else f"{format_quantity(line.vat_rate)}%"


PRODUCT_COLUMN = 1
"""The column of :func:`line_cells` with the product, shortened before its last word (the level)."""


def line_cells(line: InvoiceLine) -> tuple[str, ...]:
    netted = _number(str(line.revenue_netted)) if line.revenue_netted else ""
    return (line.bsn, f"{line.product} {line.product_name}", quantity_text(line), _number(str(line.unit_price)),
            _number(str(line.gross_amount)), netted, _number(str(line.amount)), vat_text(line))


@functools.lru_cache(maxsize=1 << 14)
def _number(text: str) -> str:
    """:func:`format_number` of a decimal by its text (not its value: ``-0.00`` and ``0.00`` differ)."""
    return format_number(Decimal(text))


def _colour(rgb: tuple[int, int, int]) -> str:
    red, green, blue = (f"{c / 255:.3f}" for c in rgb)
    return f"{red} g" if red == green == blue else f"{red} {green} {blue} rg"


BLACK = "0.000 g"
TEXT_GREY = _colour((90, 90, 90))
CONCEPT_RED = _colour((170, 0, 0))
WATERMARK = _colour((238, 238, 238))


@functools.lru_cache(maxsize=1 << 16)
def _placed(x: float, width: float, text: str, size: float, bold: bool, align: str) -> tuple[str, str]:
    """The text operator of a cell without its baseline: what comes before it and after it."""
    x += width - CELL_PADDING - text_width(text, size, bold) if align == "R" else CELL_PADDING
    return f"BT /F{2 if bold else 1} {size:g} Tf {x * _PT:.2f} ", f" Td ({text.translate(_ESCAPE)}) Tj ET"


def _row(cells: tuple[str, ...]) -> tuple[str, ...]:
    """The text operators of a specification row, cut where the baseline goes (``"<y>".join(parts)``)."""
    parts = [""]
    x = MARGIN
    for index, ((_, width, align), text) in enumerate(zip(COLUMNS, cells, strict=True)):
        shown = fit_keeping_end(text, width, 8) if index == PRODUCT_COLUMN else fit(text, width, 8)
        if shown:
            start, end = _placed(x, width, shown, 8, False, align)
            parts[-1] += start
            parts.append(end + "\n")
        x += width
    parts[-1] = parts[-1].rstrip("\n")
    return tuple(parts)


class _Pages:
    """The pages of one invoice as PDF content operators, with a cursor ``y`` (mm from the top of the page)."""

    def __init__(self, doc: Prepared) -> None:
        self.doc = doc
        self.pages: list[list[str]] = []
        self.ops: list[str] = []
        self.y = MARGIN
        self.in_table = False
        self.fill = BLACK

    def add_page(self) -> None:
        self.ops = ["0.57 w", BLACK]
        self.fill = BLACK
        self.pages.append(self.ops)
        self.y = MARGIN
        doc = self.doc
        if doc.is_concept:
            self._watermark()
        if len(self.pages) > 1:
            text = f"{doc.supplier.legal_name} - {title(doc).lower()} {doc.id} - {doc.buyer.legal_name}"
            self.cell(MARGIN, 180, 5, fit(text, 180, 8), 8, colour=TEXT_GREY)
            self.y += 5 + 3
        if self.in_table:
            self.table_header()

    def will_break(self, height: float) -> bool:
        return self.y + height > BREAK_AT

    def _set_fill(self, colour: str) -> None:
        if colour != self.fill:
            self.ops.append(colour)
            self.fill = colour

    def text(self, x: float, baseline: float, text: str, size: float, bold: bool = False,
             colour: str = BLACK) -> None:
        """``text`` (already :func:`pdf_text`) with its baseline at ``baseline`` mm from the top."""
        self._set_fill(colour)
        self.ops.append(f"BT /F{2 if bold else 1} {size:g} Tf {x * _PT:.2f} {(PAGE_HEIGHT - baseline) * _PT:.2f} Td "
                        f"({text.translate(_ESCAPE)}) Tj ET")

    def cell(self, x: float, width: float, height: float, text: str, size: float, bold: bool = False,
             align: str = "L", colour: str = BLACK) -> None:
        """One line of text in a box ``width`` x ``height`` mm at (``x``, ``y``), centred vertically."""
        if not text:
            return
        if colour != self.fill:
            self.ops.append(colour)
            self.fill = colour
        start, end = _placed(x, width, text, size, bold, align)
        self.ops.append(f"{start}{(PAGE_HEIGHT - self.y - 0.5 * height) * _PT - 0.3 * size:.2f}{end}")

    def row(self, parts: tuple[str, ...], height: float, size: float) -> None:
        """A table row from :func:`_row`: its cells' operators joined by their common baseline."""
        self._set_fill(BLACK)
        self.ops.append(f"{(PAGE_HEIGHT - self.y - 0.5 * height) * _PT - 0.3 * size:.2f}".join(parts))
        self.y += height

    def multi_cell(self, x: float, width: float, height: float, text: str, size: float, bold: bool = False,
                   *, by_char: bool = False) -> None:
        """``text`` wrapped into lines of ``height`` mm, each on a new page when it would not fit."""
        for line in wrap(pdf_text(text), width, size, bold, by_char=by_char):
            if self.will_break(height):
                self.add_page()
            self.cell(x, width, height, line, size, bold)
            self.y += height

    def rectangle(self, x: float, width: float, height: float, rgb: tuple[int, int, int]) -> None:
        self._set_fill(_colour(rgb))
        self.ops.append(f"{x * _PT:.2f} {(PAGE_HEIGHT - self.y - height) * _PT:.2f} {width * _PT:.2f} "
                        f"{height * _PT:.2f} re f")

    def rule(self, x0: float, x1: float, grey: int) -> None:
        y = (PAGE_HEIGHT - self.y) * _PT
        self.ops.append(f"{grey / 255:.3f} G {x0 * _PT:.2f} {y:.2f} m {x1 * _PT:.2f} {y:.2f} l S 0 G")

    def table_header(self) -> None:
        x = MARGIN
        self.rectangle(x, sum(width for _, width, _ in COLUMNS), ROW + 1, GREY)
        for heading, width, align in COLUMNS:
            self.cell(x, width, ROW + 1, heading, 8, True, align)
            x += width
        self.y += ROW + 1

    def _watermark(self) -> None:
        angle = math.radians(55)
        cos, sin = math.cos(angle), math.sin(angle)
        px, py = 105 * _PT, (PAGE_HEIGHT - 160) * _PT
        tx, ty = px - cos * px + sin * py, py - sin * px - cos * py
        self.ops.append(f"q {cos:.5f} {sin:.5f} {-sin:.5f} {cos:.5f} {tx:.2f} {ty:.2f} cm")
        self.text(38, 190, "CONCEPT", 96, True, WATERMARK)
        self.ops.append("Q")
        self.fill = BLACK  # Q restores the colour of before the q

    def footers(self) -> None:
        label = pdf_text(f"{title(self.doc).capitalize()} {self.doc.id}")
        count = len(self.pages)
        for number, ops in enumerate(self.pages, 1):
            self.ops, self.y, self.fill = ops, PAGE_HEIGHT - 13, ""
            self.cell(MARGIN, 90, 5, label, 8, colour=TEXT_GREY)
            self.cell(MARGIN + 90, 90, 5, f"pagina {number} van {count}", 8, align="R", colour=TEXT_GREY)


def build_pdf(doc: Prepared, compress: bool = True) -> bytes:
    """The printable invoice of one prepared invoice, as PDF bytes."""
    pages = _Pages(doc)
    pages.add_page()
    _letterhead(pages, doc)
    _addressee_and_facts(pages, doc)
    _specification(pages, doc)
    _totals(pages, doc)
    _payment(pages, doc)
    pages.footers()
    return _file(pages.pages, doc, compress)


def _letterhead(pages: _Pages, doc: Prepared) -> None:
    supplier = doc.supplier
    pages.cell(MARGIN, 180, 9, title(doc), 20, True, "R", CONCEPT_RED if doc.is_concept else BLACK)
    pages.cell(MARGIN, 110, 7, fit(supplier.legal_name, 110, 13, True), 13, True)
    pages.y += 7
    lines = [supplier.address.street, f"{supplier.address.postcode}  {supplier.address.city}",
             f"KvK {supplier.kvk}   btw-nr. {supplier.vat_id or 'geen: ' + str(supplier.no_vat_id_reason)}",
             f"AGB-code {supplier.agb}   IBAN {supplier.iban}",
             f"{supplier.contact.name}, {supplier.contact.phone}, {supplier.contact.email}"]
    for text in lines:
        pages.cell(MARGIN, 120, 4.5, fit(text, 120, 9), 9)
        pages.y += 4.5
    pages.y += 8


def _addressee_and_facts(pages: _Pages, doc: Prepared) -> None:
    top = pages.y
    buyer = doc.buyer
    pages.cell(MARGIN, 95, 5, fit(buyer.legal_name, 95, 10, True), 10, True)
    pages.y += 5
    oin = f"OIN {buyer.oin}" if buyer.oin else f"{buyer.endpoint[0]}: {buyer.endpoint[1]}"
    for text in ("t.a.v. crediteurenadministratie", buyer.address.street,
                 f"{buyer.address.postcode}  {buyer.address.city}", oin):
        pages.cell(MARGIN, 95, 4.5, fit(text, 95, 9), 9)
        pages.y += 4.5
    bottom = pages.y
    pages.y = top
    for label, value in _facts(doc):
        pages.cell(112, 30, 4.5, label, 9)
        pages.multi_cell(142, 53, 4.5, value, 9, True, by_char=True)
    pages.y = max(bottom, pages.y) + 8
def _facts(doc: Prepared) -> list[tuple[str, str]]:
    invoice = doc.invoice
    number_label = "Conceptnummer" if doc.is_concept else ("Creditnotanummer" if doc.is_credit else "Factuurnummer")
    facts = [(number_label, doc.id), ("Factuurdatum", long_date(doc.issue_date))]
    if doc.is_credit:
        facts.append(("Crediteert factuur", str(invoice.credits)))
    else:
        facts.append(("Vervaldatum", long_date(doc.due_date)))
    facts += [("Periode", f"{month_name(invoice.period_start)} ({invoice.period_start:%d-%m} t/m "
                          f"{invoice.period_end:%d-%m-%Y})"),
              ("Uw referentie", doc.buyer.buyer_reference),
              ("Gemeente", f"{doc.municipality.name} ({invoice.municipality_code})")]
    return facts



def _specification(pages: _Pages, doc: Prepared) -> None:
    pages.cell(MARGIN, 180, 6, pdf_text("Specificatie per cliënt en product"), 11, True)
    pages.y += 6
    pages.cell(MARGIN, 180, 4.5, "Bedragen in euro. Tarief per uur; minuten tegen 1/60 van het uurtarief. Verrekend "
               "= verrekende opbrengst (LN034), in mindering op het bedrag.", 8)
    pages.y += 4.5 + 1
    pages.in_table = True
    pages.table_header()
    for line in doc.invoice.lines:
        if pages.will_break(ROW):
            pages.add_page()
        pages.row(_row(line_cells(line)), ROW, 8)
    pages.in_table = False
    pages.rule(MARGIN, PAGE_WIDTH - MARGIN, 120)
    pages.y += 3


def _totals(pages: _Pages, doc: Prepared) -> None:
    rows = _total_rows(doc)
    if pages.will_break(len(rows) * 5.5 + 30):
        pages.add_page()
    for label, amount, bold in rows:
        pages.cell(85, 75, 5.5, fit(label, 75, 9.5, bold), 9.5, bold)
        pages.cell(160, 35, 5.5, pdf_text(format_euro(amount)), 9.5, bold, "R")
        pages.y += 5.5
    for reason in (g.reason for g in doc.vat if g.reason):
        pages.multi_cell(85, 110, 4, f"{reason}.", 8)
    if doc.invoice.revenue_unnetted:
        pages.multi_cell(85, 110, 4, f"Opbrengst boven het brutobedrag, niet verrekend: "
                                     f"{format_euro(doc.invoice.revenue_unnetted)}.", 8)
    pages.y += 5


def _total_rows(doc: Prepared) -> list[tuple[str, Decimal, bool]]:
    rows: list[tuple[str, Decimal, bool]] = []
    if doc.netted_total:
        rows += [("Totaal bedrag", doc.gross_total, False), ("Verrekende opbrengst", -doc.netted_total, False)]
    rows.append(("Totaal excl. btw", doc.invoice.total, True))
    rows += [(_vat_label(group), group.amount, False) for group in doc.vat]
    final = "Totaal te crediteren" if doc.is_credit else "Totaal te betalen"
    rows.append((final, doc.total_incl_vat, True))
    return rows


def _vat_label(group: VatGroup) -> str:
    base = format_euro(group.base)
    if group.category == "E":
        return f"Btw vrijgesteld over {base}"
    return f"Btw {format_quantity(group.rate)}% over {base}"


def _payment(pages: _Pages, doc: Prepared) -> None:
    supplier = doc.supplier
    if doc.is_concept:
        text = "Dit is een CONCEPT en nog geen factuur: niet betalen. De definitieve factuur krijgt een factuurnummer."
    elif doc.is_credit:
        text = (f"Deze creditnota crediteert factuur {doc.invoice.credits}. Het bedrag van "
                f"{format_euro(abs(doc.total_incl_vat))} wordt verrekend of aan u terugbetaald.")
    else:
        text = (f"Wij verzoeken u het bedrag van {format_euro(doc.total_incl_vat)} uiterlijk op "
                f"{long_date(doc.due_date)} over te maken op IBAN {supplier.iban} ten name van "
                f"{supplier.legal_name}, onder vermelding van factuurnummer {doc.id}.")
    if pages.will_break(14):
        pages.add_page()
    pages.multi_cell(MARGIN, 180, 4.8, text, 9)


_FONTS = (b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
          b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
_FIRST_PAGE = 6  # objects: 1 catalogue, 2 page tree, 3-4 fonts, 5 document info, then page and content per page


def _info_text(text: str) -> bytes:
    """A PDF text string in UTF-16 (any character, no escaping needed)."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


def _file(pages: list[list[str]], doc: Prepared, compress: bool) -> bytes:
    """The PDF file of the pages' content streams: objects, cross-reference table and trailer."""
    kids = " ".join(f"{_FIRST_PAGE + 2 * i} 0 R" for i in range(len(pages)))
    created = f"D:{doc.issue_date:%Y%m%d}000000Z".encode("ascii")
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} /MediaBox [0 0 595.28 841.89] >>".encode("ascii"),
        *_FONTS,
        b"<< /Title " + _info_text(f"{title(doc).capitalize()} {doc.id}") + b" /Author "
        + _info_text(doc.supplier.legal_name) + b" /Creator (mgr-tariffs) /Producer (mgr-tariffs) /CreationDate ("
        + created + b") >>",
    ]
    for index, ops in enumerate(pages):
        content = "\n".join(ops).encode("cp1252", "replace")
        objects.append(f"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> "
                       f"/Contents {_FIRST_PAGE + 2 * index + 1} 0 R >>".encode("ascii"))
        if compress:
            content = zlib.compress(content, 6)
        head = f"<< /Length {len(content)}{' /Filter /FlateDecode' if compress else ''} >>\nstream\n"
        objects.append(head.encode("ascii") + content + b"\nendstream")
    parts = [b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"]
    offset = len(parts[0])
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(offset)
        part = b"%d 0 obj\n%b\nendobj\n" % (number, body)
        parts.append(part)
        offset += len(part)
    xref = [b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)]
    xref += [b"%010d 00000 n \n" % at for at in offsets]
    parts += xref
    parts.append(b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\nstartxref\n%d\n%%%%EOF\n"
                 % (len(objects) + 1, offset))
    return b"".join(parts)
