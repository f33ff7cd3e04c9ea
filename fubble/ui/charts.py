"""A usage series as an inline SVG bar chart, drawn on the server (no script, no outside asset). Pure.

One bar per point of the series, in order, its height in proportion to the point's value against the largest value
of the series (a series of zeros draws bars of height 0). Geometry is computed with exact decimals rounded to tenths
of a pixel. Every bar carries a ``<title>`` with its bucket and value, so hovering shows the figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from markupsafe import Markup, escape

WIDTH = 1200
HEIGHT = 200
AXIS = 20  # room under the bars for the first and last bucket's labels
TOP = 16  # room above them for the maximum's label
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class Point:
    start: datetime
    value: Decimal


@dataclass(frozen=True)
class Bar:
    x: Decimal
    y: Decimal
    width: Decimal
    height: Decimal
    label: str  # the bucket's start and its value


def _px(value: Decimal) -> Decimal:
    return value.quantize(TENTH, rounding=ROUND_HALF_UP)


def bars(points: Sequence[Point], *, width: int = WIDTH, height: int = HEIGHT, unit: str = "") -> list[Bar]:
    """The bars of ``points`` in a ``width`` x ``height`` drawing (the plot area leaves room for the labels)."""
    if not points:
        return []
    plot = Decimal(height - AXIS - TOP)
    slot = Decimal(width) / len(points)
    gap = min(slot / 5, Decimal(2))
    largest = max((max(p.value, Decimal(0)) for p in points), default=Decimal(0))
    out = []
    for index, point in enumerate(points):
        share = max(point.value, Decimal(0)) / largest if largest > 0 else Decimal(0)
        tall = _px(plot * share)
        suffix = f" {unit}" if unit else ""
        out.append(
            Bar(
                x=_px(slot * index + gap / 2),
                y=_px(TOP + plot - tall),
                width=_px(max(slot - gap, TENTH)),
                height=tall,
                label=f"{_label(point.start)}: {point.value:f}{suffix}",
            )
        )
    return out


def _label(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M" if moment.hour or moment.minute else "%Y-%m-%d")


def svg(points: Sequence[Point], *, title: str, unit: str = "", width: int = WIDTH, height: int = HEIGHT) -> Markup:
    """The chart as ``<svg>`` markup, safe to put in a page (every text escaped)."""
    drawn = bars(points, width=width, height=height, unit=unit)
    largest = max((p.value for p in points), default=Decimal(0))
    base = height - AXIS
    suffix = f" {unit}" if unit else ""
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<line class="axis" x1="0" y1="{base}" x2="{width}" y2="{base}"/>',
        f'<text class="tick" x="0" y="{TOP - 4}">max {escape(f"{largest:f}{suffix}")}</text>',
    ]
    for bar in drawn:
        parts.append(
            f'<rect class="bar" x="{bar.x}" y="{bar.y}" width="{bar.width}" height="{bar.height}">'
            f"<title>{escape(bar.label)}</title></rect>"
        )
    if points:
        first, last = escape(_label(points[0].start)), escape(_label(points[-1].start))
        parts.append(f'<text class="tick" x="0" y="{height - 4}">{first}</text>')
        parts.append(f'<text class="tick" x="{width}" y="{height - 4}" text-anchor="end">{last}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
