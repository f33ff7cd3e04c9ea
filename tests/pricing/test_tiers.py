"""What a refused list of tiers is told (fubble.pricing.tiers.check_bands): each rule's message, at the tier and key
it is about. (A gap is checked in ``test_charge_models.py``.)"""

from __future__ import annotations

from typing import Any

import pytest

from fubble.errors import InvalidInput
from fubble.pricing import parse_pricing


@pytest.mark.parametrize(
    ("tiers", "loc", "msg"),
    [
        ([{"start": "0.5", "price": 1}], [0, "start"], "the first tier must start at 0, not 0.5"),
        (
            [{"start": 0, "price": 1}, {"start": 10, "price": 2}],
            [0, "end"],
            "only the last tier may have no end (end: null)",
        ),
        (
            [{"start": 0, "end": 10, "price": 1}, {"start": 5, "price": 2}],
            [1, "start"],
            "overlap or wrong order: tier starts at 5 but the previous tier ends at 10",
        ),
        (
            [{"start": 0, "end": 10, "price": 1}, {"start": 10, "end": 10, "price": 2}, {"start": 10, "price": 3}],
            [1, "end"],
            "end (10) must be greater than start (10)",
        ),
    ],
)
def test_refused_tiers_are_told_why_and_where(tiers: list[dict[str, Any]], loc: list[str | int], msg: str) -> None:
    for pricing_type in ("tiered", "volume"):
        with pytest.raises(InvalidInput) as exc:
            parse_pricing(pricing_type, {"tiers": tiers})
        assert exc.value.detail == [{"loc": ["pricing_details", "tiers", *loc], "msg": msg, "type": "value_error"}]
