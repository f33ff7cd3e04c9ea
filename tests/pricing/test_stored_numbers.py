"""Numbers in ``pricing_details`` are canonical: exact value, no exponent, no trailing zeros, no negative zero.

The pure surface: ``parse_pricing(...).to_json()`` and the text of what it returns. What the HTTP response and the
database row show of them is checked in ``tests/plans/test_stored_pricing_numbers.py``.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from fubble.pricing import parse_pricing

D = Decimal

# (how the number is written in the request, the one canonical text it is stored and shown as)
WRITTEN = [
    ("10", "10"),
    ("100", "100"),
    ("1E+1", "10"),
    ("1e2", "100"),
    ("1.0E+3", "1000"),
    ("10.00", "10"),
    ("0.10", "0.1"),
    ("-0", "0"),
    ("-0.000", "0"),
    ("1e-12", "0.000000000001"),
    ("-1.50", "-1.5"),
    ("0.00000000000000000001", "0.00000000000000000001"),
    ("999999999999999999999999", "999999999999999999999999"),
]


@pytest.mark.parametrize(("written", "canonical"), WRITTEN)
@pytest.mark.parametrize("form", ["string", "decimal"])
def test_parsed_numbers_are_canonical(written: str, canonical: str, form: str) -> None:
    value: object = written if form == "string" else D(written)
    stored = parse_pricing("dynamic", {"formula": "x", "x": value}).to_json()["x"]
    assert type(stored) is Decimal
    assert stored == D(written)
    assert format(stored, "f") == canonical
    exponent = stored.as_tuple().exponent
    assert isinstance(exponent, int) and exponent <= 0  # never 1E+1 for 10
    assert exponent == 0 or stored.as_tuple().digits[-1] != 0  # no trailing zeros
    assert not (stored == 0 and stored.is_signed())  # no negative zero
    if abs(stored) >= D("1e-6"):  # where str() does not switch to scientific notation, it is the canonical text
        assert str(stored) == canonical


@pytest.mark.parametrize("pricing_type", ["flat", "subscription"])
def test_amounts_are_canonical(pricing_type: str) -> None:
    for written, canonical in WRITTEN:
        if written.startswith("-") and written.strip("-0.") != "":
            continue  # amounts are >= 0
        for value in (written, D(written)):
            stored = parse_pricing(pricing_type, {"amount": value}).to_json()["amount"]
            assert format(stored, "f") == canonical
            assert stored.as_tuple().exponent <= 0
            if abs(stored) >= D("1e-6"):
                assert str(stored) == canonical


def test_integers_stay_integers() -> None:
    stored = parse_pricing("package", {"package_size": 10, "package_price": 100}).to_json()
    assert [str(stored["package_size"]), str(stored["package_price"])] == ["10", "100"]
