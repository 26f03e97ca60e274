"""Charts as inline SVG, drawn by matplotlib's SVG backend (no browser, no pyplot state, no fonts embedded).

Every chart takes exact integers (cents, counts) and converts them for drawing in one place,
:func:`display_number`; the exact figures are in the table under each chart.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Sequence
from typing import Any

from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

# Okabe-Ito and Tol colours: distinguishable with the common colour-vision deficiencies, and in print
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#332288", "#999933",
           "#882255", "#44AA99", "#AA4499")
_SVG_RC: dict[Any, Any] = {"svg.fonttype": "none", "font.family": "sans-serif", "font.size": 9,
                           "axes.spines.top": False,
                           "axes.spines.right": False}
WIDTH = 8.0  # inches; the SVG scales to the page's width


def display_number(cents: int, per: int = 100) -> float:
    """Display only: an exact integer (cents by default) as the number the chart library draws with.

    The one place where money leaves exact arithmetic, at the last step, for the bars' lengths and the axes;
    nothing computed from it is ever shown as an amount.
    """
    return cents / per


def euro_axis(value: float, _position: object = None) -> str:
    """An axis tick in whole euros, Dutch style (``€ 1.200``); display only."""
    shown = f"{value:,.0f}".replace(",", ".")
    return "€ 0" if shown in ("0", "-0") else f"€ {shown}"


def stacked_bars(categories: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], title: str) -> str:
    """Vertical bars per category (months), stacked by series (municipalities); values in cents."""
    with rc_context(_SVG_RC):
        figure = Figure(figsize=(WIDTH, 4.2))
        axes = figure.add_subplot()
        bottoms = [0.0] * len(categories)
        for index, (name, cents) in enumerate(series):
            heights = [display_number(c) for c in cents]
            axes.bar(list(categories), heights, bottom=bottoms, label=name, color=PALETTE[index % len(PALETTE)],
                     width=0.8)
            bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
        axes.yaxis.set_major_formatter(FuncFormatter(euro_axis))
        axes.tick_params(axis="x", labelrotation=90)
        axes.legend(fontsize=7, ncols=min(5, max(1, len(series))), loc="upper center", bbox_to_anchor=(0.5, -0.28),
                    frameon=False)
        return _svg(figure, title)


def horizontal_bars(labels: Sequence[str], values: Sequence[int], title: str, *, money: bool = True,
                    per: int = 100, limit: int | None = None) -> str:
    """One horizontal bar per label, the first on top; values in cents (``money``) or plain numbers (then
    ``limit`` draws a dashed line at that value, e.g. 100 %)."""
    with rc_context(_SVG_RC):
        figure = Figure(figsize=(WIDTH, 0.9 + 0.32 * max(1, len(labels))))
        axes = figure.add_subplot()
        numbers = [display_number(v, per if money else 1) for v in values]
        colours = [PALETTE[0] if n >= 0 else PALETTE[5] for n in numbers]
        axes.barh([_short(label) for label in labels], numbers, color=colours)
        axes.invert_yaxis()
        axes.axvline(0, color="#333333", linewidth=0.6)
        if money:
            axes.xaxis.set_major_formatter(FuncFormatter(euro_axis))
        elif limit is not None:
            axes.axvline(display_number(limit, 1), color=PALETTE[5], linestyle="--", linewidth=1)
        return _svg(figure, title)


def burn_down(months: Sequence[str], cumulative: Sequence[int], ceiling: int, forecast: int | None,
              title: str) -> str:
    """The cumulative amount per month against a horizontal ceiling, with the forecast for the period's end."""
    with rc_context(_SVG_RC):
        figure = Figure(figsize=(WIDTH, 3.6))
        axes = figure.add_subplot()
        axes.plot(list(months), [display_number(c) for c in cumulative], marker="o", color=PALETTE[0],
                  label="gerealiseerd (cumulatief)")
        axes.axhline(display_number(ceiling), color=PALETTE[5], linestyle="--", label="plafond")
        if forecast is not None:
            axes.axhline(display_number(forecast), color=PALETTE[2], linestyle=":", label="prognose einde periode")
        axes.set_ylim(bottom=0)
        axes.yaxis.set_major_formatter(FuncFormatter(euro_axis))
        axes.tick_params(axis="x", labelrotation=90)
        axes.legend(fontsize=7, frameon=False)
        return _svg(figure, title)


def paired_bars(categories: Sequence[str], first: tuple[str, Sequence[int]], second: tuple[str, Sequence[int]],
                title: str) -> str:
    """Two bars per category side by side (issued and credited per month); values in cents."""
    with rc_context(_SVG_RC):
        figure = Figure(figsize=(WIDTH, 3.6))
        axes = figure.add_subplot()
        places = list(range(len(categories)))
        for offset, colour, (name, cents) in ((-0.2, PALETTE[0], first), (0.2, PALETTE[5], second)):
            axes.bar([p + offset for p in places], [display_number(c) for c in cents], width=0.4, label=name,
                     color=colour)
        axes.set_xticks(places, list(categories), rotation=90)
        axes.axhline(0, color="#333333", linewidth=0.6)
        axes.yaxis.set_major_formatter(FuncFormatter(euro_axis))
        axes.legend(fontsize=7, frameon=False)
        return _svg(figure, title)


def _short(label: str, size: int = 48) -> str:
    return label if len(label) <= size else label[: size - 1] + "…"


_PROLOGUE = re.compile(r"^.*?(?=<svg)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_NAMESPACES = re.compile(r'\s+xmlns(:xlink)?="[^"]*"')
_SIZE = re.compile(r'(<svg[^>]*?)\s+width="[^"]*"\s+height="[^"]*"')
_STYLE = re.compile(r"<style[^>]*>.*?</style>", re.S)  # matplotlib's "*{...}" would style the whole page
_ID = re.compile(r'id="([^"]+)"')


def _svg(figure: Figure, title: str) -> str:
    """The figure as an ``<svg>`` element for an HTML page: no XML prologue, no metadata, no namespace URLs
    (HTML knows them), no fixed size (it scales to its container), a role and a title for screen readers."""
    figure.set_layout_engine("constrained")
    buffer = io.StringIO()
    with rc_context({"svg.hashsalt": title}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = _NAMESPACES.sub("", _METADATA.sub("", _PROLOGUE.sub("", buffer.getvalue(), count=1)))
    text = _unique_ids(_STYLE.sub("", _SIZE.sub(r"\1", text, count=1)), title)
    label = title.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return text.replace("<svg", f'<svg role="img" aria-label="{label}" preserveAspectRatio="xMidYMid meet"', 1)


def _unique_ids(svg: str, title: str) -> str:
    """Every id of the chart (and every reference to one) prefixed per chart: one page holds many charts."""
    prefix = "c" + hashlib.sha1(title.encode()).hexdigest()[:8] + "-"
    for name in sorted(set(_ID.findall(svg)), key=len, reverse=True):
        svg = svg.replace(f'id="{name}"', f'id="{prefix}{name}"').replace(f"#{name})", f"#{prefix}{name})")
        svg = svg.replace(f'href="#{name}"', f'href="#{prefix}{name}"')
    return svg
