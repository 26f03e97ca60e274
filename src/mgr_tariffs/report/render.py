"""Draw a :class:`~mgr_tariffs.report.model.Report` as one self-contained HTML page (Jinja2 template, inline
SVG charts, inline CSS, no scripts, a Content-Security-Policy that forbids every request)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from mgr_tariffs.money import format_euro, format_number, format_quantity, from_cents
from mgr_tariffs.report import charts
from mgr_tariffs.report.model import Amount, Report

MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december")


def euro(cents: int) -> str:
    """Cents as Dutch money: ``€ 1.234,56``."""
    return format_euro(from_cents(cents))


def count(value: int) -> str:
    """A count with a thousands point: ``1.000.000``."""
    return format_number(Decimal(value), 0)


def month_name(period: str) -> str:
    """``2021-03`` as ``maart 2021`` (with a no-break space: a month is never split over two lines)."""
    year, month = period.split("-")
    return f"{MONTHS[int(month) - 1]}\u00a0{year}"


def long_date(day: dt.date) -> str:
    """A date the Dutch way: ``2 december 2026``."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def quantity(value: Decimal) -> str:
    return format_quantity(value)


def measure(value: Decimal | None, unit: str) -> str:
    """An allocation's amount: ``€ 1.200,00`` for euros, ``12,5 uur`` for time; ``geen limiet`` for none."""
    if value is None:
        return "geen limiet"
    return format_euro(value) if unit == "euro" else f"{format_quantity(value)} {unit}"


def _environment() -> Environment:
    environment = Environment(loader=PackageLoader("mgr_tariffs.report", "templates"),
                              autoescape=select_autoescape(["html", "j2"], default_for_string=True),
                              undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    environment.filters.update(euro=euro, count=count, month_name=month_name, long_date=long_date,
                               quantity=quantity)
    environment.globals["measure"] = measure
    return environment


SHOWN_BARS = 20
"""A chart of totals shows the largest this many; the rest is one bar "overige" (the table lists them all)."""


def largest(amounts: Sequence[Amount], what: str, shown: int = SHOWN_BARS) -> tuple[list[str], list[int]]:
    """Labels and cents of the ``shown`` largest totals, the rest summed into one last bar."""
    if len(amounts) <= shown:
        return [a.label for a in amounts], [a.cents for a in amounts]
    top, rest = amounts[: shown - 1], amounts[shown - 1:]
    return ([a.label for a in top] + [f"overige {len(rest)} {what}"],
            [a.cents for a in top] + [sum(a.cents for a in rest)])


def chart_svgs(report: Report) -> dict[str, Markup]:
    """Every chart of the report as inline SVG, by name."""
    svgs: dict[str, str] = {}
    if report.by_month:
        names = [a.label for a in sorted(report.by_municipality, key=lambda a: a.label)]
        cells = {(c.municipality, c.period): c.cents for c in report.by_month}
        series = [(name, [cells.get((name, month), 0) for month in report.months]) for name in names]
        svgs["months"] = charts.stacked_bars(report.months, series, "Gefactureerd per maand en gemeente")
        svgs["providers"] = charts.horizontal_bars(*largest(report.by_provider, "aanbieders"), "Totaal per aanbieder")
        svgs["products"] = charts.horizontal_bars(*largest(report.by_product, "producten"), "Totaal per product")
    if report.what_if is not None and report.what_if.rows:
        rows = report.what_if.rows
        svgs["what_if"] = charts.horizontal_bars([r.municipality for r in rows], [r.difference_cents for r in rows],
                                                 "Verschil nieuwe tarieven per gemeente")
    for subsidy in report.subsidies:
        if subsidy.months:
            svgs[f"subsidy-{subsidy.id}"] = charts.burn_down(
                [m.month for m in subsidy.months], [m.cumulative_cents for m in subsidy.months],
                subsidy.ceiling_cents, subsidy.forecast_cents, f"Uitputting subsidie {subsidy.id}")
    if report.ledger:
        svgs["ledger"] = charts.paired_bars(
            [m.period for m in report.ledger], ("gefactureerd", [m.issued_cents for m in report.ledger]),
            ("gecrediteerd", [m.credited_cents for m in report.ledger]), "Grootboek per maand")
    limited = [a for a in report.allocations or () if a.percent_used is not None]
    if limited:
        svgs["allocations"] = charts.horizontal_bars(
            [a.allocation for a in limited], [int(a.percent_used or 0) for a in limited],
            "Gebruik per toewijzing (% van het totaal)", money=False, limit=100)
    return {name: Markup(svg) for name, svg in svgs.items()}  # drawn here; matplotlib escapes the labels


def render_html(report: Report) -> str:
    """The report as one HTML document."""
    template = _environment().get_template("report.html.j2")
    totals = {"municipalities": {(c.municipality, c.period): c.cents for c in report.by_month}}
    month_totals = {m: sum(c.cents for c in report.by_month if c.period == m) for m in report.months}
    return template.render(report=report, charts=chart_svgs(report), cells=totals["municipalities"],
                           month_totals=month_totals,
                           municipalities=sorted(a.label for a in report.by_municipality))
