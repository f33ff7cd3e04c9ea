"""The usage chart: one bar per point, heights in proportion to the largest value, every text escaped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from fubble.ui import charts

START = datetime(2024, 1, 15, tzinfo=UTC)


def points(*values: str) -> list[charts.Point]:
    return [charts.Point(START + timedelta(hours=i), Decimal(v)) for i, v in enumerate(values)]


def test_bars_are_in_proportion_to_the_largest_value() -> None:
    bars = charts.bars(points("0", "2.5", "10", "5"), width=400, height=136, unit="GB")
    plot = Decimal(136 - charts.AXIS - charts.TOP)  # 100 px
    assert [b.height for b in bars] == [Decimal("0.0"), Decimal("25.0"), plot, Decimal("50.0")]
    assert [b.y + b.height for b in bars] == [Decimal(charts.TOP) + plot] * 4  # all standing on the axis
    assert [b.x for b in bars] == [Decimal("1.0"), Decimal("101.0"), Decimal("201.0"), Decimal("301.0")]
    assert {b.width for b in bars} == {Decimal("98.0")}
    assert bars[1].label == "2024-01-15 01:00: 2.5 GB"
    assert all(isinstance(v, Decimal) for b in bars for v in (b.x, b.y, b.width, b.height))


def test_zeros_negative_values_and_no_points_draw_no_height() -> None:
    assert [b.height for b in charts.bars(points("0", "0"))] == [Decimal("0.0")] * 2
    full = Decimal(charts.HEIGHT - charts.AXIS - charts.TOP)
    assert [b.height for b in charts.bars(points("-3", "1"))] == [Decimal("0.0"), full]
    assert charts.bars([]) == []
    assert charts.svg([], title="empty").count("<rect") == 0


def test_day_buckets_are_labelled_by_date_and_texts_are_escaped() -> None:
    days = [charts.Point(START + timedelta(days=i), Decimal(i)) for i in range(3)]
    svg = charts.svg(days, title='<b>"x"</b>', unit="<u>")
    assert svg.count('<rect class="bar"') == 3
    assert "<title>2024-01-17: 2 &lt;u&gt;</title>" in svg
    assert 'aria-label="&lt;b&gt;&#34;x&#34;&lt;/b&gt;"' in svg and "<b>" not in svg
    assert "max 2 &lt;u&gt;" in svg
    assert svg.startswith('<svg class="chart"') and svg.endswith("</svg>")
