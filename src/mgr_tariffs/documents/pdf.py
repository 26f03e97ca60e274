"""Printable Dutch invoices (PDF, A4) with fpdf2 and its built-in Helvetica.

The core fonts are written in the Windows-1252 encoding, so ``€``, ``ë`` and the other Dutch
characters print without shipping a font; any character outside it is replaced by its closest
ASCII form. The specification table repeats its header on every page, every page says
``pagina 2 van 11``, long product names are shortened with ``…`` and amounts are right-aligned.
An invoice without a number is marked CONCEPT (title and a watermark on every page).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import WrapMode

from mgr_tariffs.billing.invoices import InvoiceLine
from mgr_tariffs.documents.prepare import Prepared, VatGroup
from mgr_tariffs.money import format_euro, format_number, format_quantity
from mgr_tariffs.quantity import QuantityUnit

MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december")
MARGIN = 15.0
ROW = 4.8
FONT = "Helvetica"
# (heading, width in mm, alignment)
COLUMNS: tuple[tuple[str, float, str], ...] = (
    ("BSN", 19, "L"), ("Product", 56, "L"), ("Aantal", 18, "R"), ("Tarief/uur", 17, "R"), ("Bedrag", 21, "R"),
    ("Verrekend", 19, "R"), ("Excl. btw", 21, "R"), ("Btw", 9, "R"),
)
GREY = (235, 235, 235)
_NO_DECOMPOSITION = {"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "ı": "i", "Ħ": "H", "ħ": "h"}


def pdf_text(text: str) -> str:
    """Text the core fonts can show: Windows-1252 as is, anything else folded to ASCII or ``?``."""
    return "".join(_printable(char) for char in text)


def _printable(char: str) -> str:
    try:
        char.encode("cp1252")
        return char
    except UnicodeEncodeError:
        plain = _NO_DECOMPOSITION.get(char, char)
        folded = unicodedata.normalize("NFKD", plain).encode("ascii", "ignore").decode("ascii")
        return folded or "?"


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
    netted = format_number(line.revenue_netted) if line.revenue_netted else ""
    return (line.bsn, f"{line.product} {line.product_name}", quantity_text(line), format_number(line.unit_price),
            format_number(line.gross_amount), netted, format_number(line.amount), vat_text(line))


class InvoicePdf(FPDF):  # type: ignore[misc, unused-ignore]
    """An A4 invoice whose header and footer know the document and whether a table is running."""

    def __init__(self, doc: Prepared) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.doc = doc
        self.in_table = False
        self.core_fonts_encoding = "windows-1252"
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_creation_date(dt.datetime.combine(doc.issue_date, dt.time(), tzinfo=dt.UTC))
        self.set_title(pdf_text(f"{title(doc).capitalize()} {doc.id}"))
        self.set_author(pdf_text(doc.supplier.legal_name))
        self.set_creator("mgr-tariffs")

    def header(self) -> None:
        if self.doc.is_concept:
            self._watermark()
        if self.page_no() > 1:
            self.set_font(FONT, "", 8)
            self.set_text_color(90, 90, 90)
            doc = self.doc
            text = f"{doc.supplier.legal_name} - {title(doc).lower()} {doc.id} - {doc.buyer.legal_name}"
            self.cell(0, 5, self.fit(text, 180), new_x="LMARGIN", new_y="NEXT")
            self.set_text_color(0, 0, 0)
            self.ln(3)
        if self.in_table:
            self.table_header()

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(FONT, "", 8)
        self.set_text_color(90, 90, 90)
        self.cell(90, 5, pdf_text(f"{title(self.doc).capitalize()} {self.doc.id}"))
        self.cell(0, 5, f"pagina {self.page_no()} van {{nb}}", align="R")
        self.set_text_color(0, 0, 0)

    def _watermark(self) -> None:
        self.set_font(FONT, "B", 96)
        self.set_text_color(238, 238, 238)
        with self.rotation(angle=55, x=105, y=160):
            self.text(38, 190, "CONCEPT")
        self.set_text_color(0, 0, 0)

    def table_header(self) -> None:
        self.set_font(FONT, "B", 8)
        self.set_fill_color(*GREY)
        for heading, width, align in COLUMNS:
            self.cell(width, ROW + 1, heading, align=align, fill=True)
        self.ln(ROW + 1)
        self.set_font(FONT, "", 8)

    def fit(self, text: str, width: float) -> str:
        """``text`` shortened with ``…`` until it fits ``width`` mm (minus padding) in the current font.

        Linear in the length of ``text``: the widths of its characters are added up (each distinct character
        measured once) until the room is used, so a name of 150,000 characters costs one pass, not one
        measurement per character dropped. The cut is then checked as a whole and shortened further if needed
        (a few characters at most: only rounding can make the sum and the whole differ).
        """
        text = pdf_text(text)
        room = width - 2 * self.c_margin
        if self.get_string_width(text) <= room:
            return text
        left = room - self.get_string_width("…")
        widths: dict[str, float] = {}
        end = len(text)
        for index, char in enumerate(text):
            if char not in widths:
                widths[char] = self.get_string_width(char)
            left -= widths[char]
            if left < 0:
                end = index
                break
        cut = text[:end]
        while cut and self.get_string_width(cut + "…") > room:
            cut = cut[:-1]
        return cut.rstrip() + "…"

    def fit_keeping_end(self, text: str, width: float) -> str:
        """Like :meth:`fit`, but a text that is too wide keeps its last word and is shortened before it: a
        product name ends with the level that sets its price ("… mbo-niveau", "… hbo-niveau")."""
        text = pdf_text(text).strip()
        room = width - 2 * self.c_margin
        if self.get_string_width(text) <= room or " " not in text:
            return self.fit(text, width)
        head, tail = text.rsplit(" ", 1)
        left = width - self.get_string_width(" " + tail)
        if left <= 2 * self.c_margin + self.get_string_width("…"):
            return self.fit(text, width)
        return self.fit(head, left) + " " + tail


def build_pdf(doc: Prepared, compress: bool = True) -> bytes:
    """The printable invoice of one prepared invoice, as PDF bytes."""
    pdf = InvoicePdf(doc)
    pdf.set_compression(compress)
    pdf.add_page()
    _letterhead(pdf, doc)
    _addressee_and_facts(pdf, doc)
    _specification(pdf, doc)
    _totals(pdf, doc)
    _payment(pdf, doc)
    return bytes(pdf.output())


def _letterhead(pdf: InvoicePdf, doc: Prepared) -> None:
    supplier = doc.supplier
    pdf.set_font(FONT, "B", 20)
    pdf.set_text_color(*((170, 0, 0) if doc.is_concept else (0, 0, 0)))
    pdf.cell(0, 9, title(doc), align="R")
    pdf.set_text_color(0, 0, 0)
    pdf.set_xy(MARGIN, MARGIN)
    pdf.set_font(FONT, "B", 13)
    pdf.cell(110, 7, pdf.fit(supplier.legal_name, 110), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 9)
    lines = [supplier.address.street, f"{supplier.address.postcode}  {supplier.address.city}",
             f"KvK {supplier.kvk}   btw-nr. {supplier.vat_id or 'geen: ' + str(supplier.no_vat_id_reason)}",
             f"AGB-code {supplier.agb}   IBAN {supplier.iban}",
             f"{supplier.contact.name}, {supplier.contact.phone}, {supplier.contact.email}"]
    for text in lines:
        pdf.cell(120, 4.5, pdf.fit(text, 120), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)


def _addressee_and_facts(pdf: InvoicePdf, doc: Prepared) -> None:
    top = pdf.get_y()
    buyer = doc.buyer
    pdf.set_font(FONT, "B", 10)
    pdf.cell(95, 5, pdf.fit(buyer.legal_name, 95), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 9)
    oin = f"OIN {buyer.oin}" if buyer.oin else f"{buyer.endpoint[0]}: {buyer.endpoint[1]}"
    for text in ("t.a.v. crediteurenadministratie", buyer.address.street,
                 f"{buyer.address.postcode}  {buyer.address.city}", oin):
        pdf.cell(95, 4.5, pdf.fit(text, 95), new_x="LMARGIN", new_y="NEXT")
    bottom = pdf.get_y()
    pdf.set_y(top)
    for label, value in _facts(doc):
        pdf.set_x(112)
        pdf.set_font(FONT, "", 9)
        pdf.cell(30, 4.5, label)
        pdf.set_font(FONT, "B", 9)
        pdf.multi_cell(53, 4.5, pdf_text(value), align="L", wrapmode=WrapMode.CHAR, new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(bottom, pdf.get_y()) + 8)


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


def _specification(pdf: InvoicePdf, doc: Prepared) -> None:
    pdf.set_font(FONT, "B", 11)
    pdf.cell(0, 6, pdf_text("Specificatie per cliënt en product"),
             new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 8)
    pdf.cell(0, 4.5, "Bedragen in euro. Tarief per uur; minuten tegen 1/60 van het uurtarief. Verrekend = "
             "verrekende opbrengst (LN034), in mindering op het bedrag.", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pdf.in_table = True
    pdf.table_header()
    for line in doc.invoice.lines:
        if pdf.will_page_break(ROW):
            pdf.add_page()
        for index, ((_, width, align), text) in enumerate(zip(COLUMNS, line_cells(line), strict=True)):
            shown = pdf.fit_keeping_end(text, width) if index == PRODUCT_COLUMN else pdf.fit(text, width)
            pdf.cell(width, ROW, shown, align=align)
        pdf.ln(ROW)
    pdf.in_table = False
    pdf.set_draw_color(120, 120, 120)
    pdf.line(MARGIN, pdf.get_y(), 210 - MARGIN, pdf.get_y())
    pdf.ln(3)


def _totals(pdf: InvoicePdf, doc: Prepared) -> None:
    rows = _total_rows(doc)
    if pdf.will_page_break(len(rows) * 5.5 + 30):
        pdf.add_page()
    for label, amount, bold in rows:
        pdf.set_x(85)
        pdf.set_font(FONT, "B" if bold else "", 9.5)
        pdf.cell(75, 5.5, pdf.fit(label, 75))
        pdf.cell(35, 5.5, pdf_text(format_euro(amount)), align="R", new_x="LMARGIN", new_y="NEXT")
    reasons = [g.reason for g in doc.vat if g.reason]
    pdf.set_font(FONT, "", 8)
    for reason in reasons:
        pdf.set_x(85)
        pdf.multi_cell(110, 4, pdf_text(f"{reason}."), align="L", new_x="LMARGIN", new_y="NEXT")
    if doc.invoice.revenue_unnetted:
        pdf.set_x(85)
        pdf.multi_cell(110, 4, pdf_text(f"Opbrengst boven het brutobedrag, niet verrekend: "
                                         f"{format_euro(doc.invoice.revenue_unnetted)}."), align="L", new_x="LMARGIN",
                       new_y="NEXT")
    pdf.ln(5)


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


def _payment(pdf: InvoicePdf, doc: Prepared) -> None:
    pdf.set_font(FONT, "", 9)
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
    if pdf.will_page_break(14):
        pdf.add_page()
    pdf.multi_cell(0, 4.8, pdf_text(text), align="L", new_x="LMARGIN", new_y="NEXT")
