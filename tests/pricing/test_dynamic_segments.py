"""Dynamic pricing over factor segments, written out: ``usage`` in the formula is the whole slice's usage.

The slice below has 100 units: 30 while ``market_factor`` was 0.2, then 70 after it was set back to 0. Every segment
is priced with ``usage = 100`` (the slice), never with the segment's own quantity.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from fubble.pricing import Line, parse_pricing, rate, split

D = Decimal
JAN = split(
    datetime(2024, 1, 1, tzinfo=UTC), "monthly", datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)
)[0]
DETAILS = {"formula": "base_rate * (1 + market_factor) + usage / 1000", "base_rate": "0.15"}


def dynamic(usage: int, segments: list[tuple[Decimal, dict[str, Decimal]]] | None) -> Line:
    line = rate(parse_pricing("dynamic", DETAILS), usage=D(usage), slice=JAN, currency="USD", segments=segments)
    assert line is not None
    return line


def test_usage_is_the_slice_usage_in_every_segment() -> None:
    line = dynamic(100, [(D(30), {"market_factor": D("0.2")}), (D(70), {"market_factor": D(0)})])
    # segment 1: 0.15 x 1.2 + 100/1000 = 0.280 a unit, x 30 = 8.40
    # segment 2: 0.15 x 1   + 100/1000 = 0.25  a unit, x 70 = 17.50
    # (with usage = the segment's quantity it would be 0.21 x 30 + 0.22 x 70 = 21.70)
    assert line.amount == D("25.90")
    assert line.quantity == D(100)
    assert line.unit_price == D("0.259")  # two prices: amount / quantity
    assert line.detail == "30 x 0.280 + 70 x 0.25"


def test_one_price_over_several_segments_is_that_price() -> None:
    line = dynamic(100, [(D(30), {"market_factor": D("0.2")}), (D(70), {"market_factor": D("0.2")})])
    assert (line.quantity, line.unit_price, line.amount) == (D(100), D("0.280"), D("28.00"))
    assert line.detail == "100 x 0.280"


def test_without_segments_the_factor_is_zero_and_usage_the_slice() -> None:
    line = dynamic(100, None)
    assert (line.quantity, line.unit_price, line.amount) == (D(100), D("0.25"), D("25.00"))


def test_a_zero_usage_segment_still_counts_its_price() -> None:
    # 0 units at the higher price, 100 at the lower: two prices, so the unit price is amount / quantity.
    line = dynamic(100, [(D(0), {"market_factor": D("0.2")}), (D(100), {})])
    assert (line.quantity, line.unit_price, line.amount) == (D(100), D("0.25"), D("25.00"))
    assert line.detail == "0 x 0.280 + 100 x 0.25"


def test_segments_round_once_not_per_segment() -> None:
    # 0.005 + 3/1000 = 0.008 a unit: each segment rounded alone would be 0.01, three 0.03; once: 0.024 -> 0.02
    details = {"formula": "rate + usage / 1000", "rate": "0.005"}
    segments: list[tuple[Decimal, dict[str, Decimal]]] = [(D(1), {}), (D(1), {}), (D(1), {})]
    line = rate(parse_pricing("dynamic", details), usage=D(3), slice=JAN, currency="USD", segments=segments)
    assert line is not None
    assert (line.quantity, line.unit_price, line.amount) == (D(3), D("0.008"), D("0.02"))
