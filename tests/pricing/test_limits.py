"""Every documented limit, exactly at the limit and one step past it.

Numbers in ``pricing_details``: magnitude below 1e24, at most 20 decimal places, numeric strings of at most 80
characters. Formulas: 500 characters, 200 expression nodes, 32 levels of nesting, literals of at most 30 digits between
1e-30 and 1e30, powers 0..10, min/max with 2..8 arguments, abs with 1, no other function (whatever its arguments).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from fubble.errors import InvalidInput
from fubble.pricing import compile_formula, parse_pricing
from fubble.pricing.formula import MAX_DEPTH, MAX_LENGTH, MAX_NODES
from fubble.pricing.models import MAX_DECIMAL_PLACES, MAX_INTEGER_DIGITS, MAX_TIERS, MAX_VARIABLES

D = Decimal


def amount(value: object) -> Decimal:
    stored = parse_pricing("flat", {"amount": value}).to_json()["amount"]
    assert isinstance(stored, Decimal)
    return stored


def refused(value: object) -> str:
    with pytest.raises(InvalidInput) as exc:
        parse_pricing("flat", {"amount": value})
    assert [entry["loc"] for entry in exc.value.detail] == [["pricing_details", "amount"]]
    return str(exc.value.detail[0]["msg"])


def test_the_documented_numbers_are_the_constants() -> None:
    assert (MAX_INTEGER_DIGITS, MAX_DECIMAL_PLACES, MAX_TIERS, MAX_VARIABLES) == (24, 20, 100, 50)
    assert (MAX_LENGTH, MAX_NODES, MAX_DEPTH) == (500, 200, 32)


@pytest.mark.parametrize("form", [str, D, int])
def test_number_size_limit_is_1e24(form: type) -> None:
    largest = "9" * 24
    assert str(amount(form(largest))) == largest
    assert "less than 1e24" in refused(form("1" + "0" * 24))
    assert "less than 1e24" in refused(form("9" * 25))
    variables = parse_pricing("dynamic", {"formula": "x", "x": form("-" + largest)}).to_json()
    assert str(variables["x"]) == "-" + largest
    with pytest.raises(InvalidInput, match="less than 1e24"):
        parse_pricing("dynamic", {"formula": "x", "x": form("-1" + "0" * 24)})


def test_number_size_limit_in_exponent_notation() -> None:
    assert str(amount("9.99e23")) == "999000000000000000000000"
    assert str(amount(D("1E+23"))) == "100000000000000000000000"
    assert "less than 1e24" in refused("1e24")
    assert "less than 1e24" in refused(D("1E+24"))
    assert "less than 1e24" in refused("0.1e25")
    assert (
        str(amount("999999999999999999999999.99999999999999999999")) == "999999999999999999999999.99999999999999999999"
    )


@pytest.mark.parametrize("form", [str, D])
def test_decimal_places_limit_is_20(form: type) -> None:
    smallest = "0." + "0" * 19 + "1"
    assert format(amount(form(smallest)), "f") == smallest
    assert "at most 20 decimal places" in refused(form("0." + "0" * 20 + "1"))
    assert "at most 20 decimal places" in refused(form("1e-21"))
    assert format(amount(form("1e-20")), "f") == smallest
    # Trailing zeros are not places: 21 written places that are worth 1 are fine.
    assert str(amount(form("1." + "0" * 21))) == "1"


def test_numeric_strings_of_at_most_80_characters() -> None:
    assert str(amount("1." + "0" * 78)) == "1"  # 80 characters
    assert "must be a decimal number" in refused("1." + "0" * 79)  # 81


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (True, "boolean"),
        (0.5, "exact decimal"),
        ("NaN", "decimal number"),
        (D("NaN"), "finite"),
        (D("Infinity"), "finite"),
        ("1,5", "decimal number"),
        ("0x10", "decimal number"),
        ([1], "must be a number"),
    ],
)
def test_what_is_not_a_number(bad: object, message: str) -> None:
    assert message in refused(bad)


def test_tier_and_variable_counts() -> None:
    tiers = [{"start": i, "end": i + 1, "price": 1} for i in range(MAX_TIERS - 1)] + [
        {"start": MAX_TIERS - 1, "price": 1}
    ]
    assert len(parse_pricing("tiered", {"tiers": tiers}).to_json()["tiers"]) == MAX_TIERS
    more = [*tiers[:-1], {"start": MAX_TIERS - 1, "end": MAX_TIERS, "price": 1}, {"start": MAX_TIERS, "price": 1}]
    with pytest.raises(InvalidInput):
        parse_pricing("tiered", {"tiers": more})
    variables = {f"v{i}": i for i in range(MAX_VARIABLES)}
    assert len(parse_pricing("dynamic", {"formula": "v0", **variables}).to_json()) == MAX_VARIABLES + 1
    with pytest.raises(InvalidInput):
        parse_pricing("dynamic", {"formula": "v0", **variables, "extra": 1})


# --- formulas ---------------------------------------------------------------------------------------------------


def formula_error(text: str) -> str:
    with pytest.raises(InvalidInput) as exc:
        compile_formula(text)
    return str(exc.value.detail[0]["msg"])


def value(text: str, **variables: str) -> Decimal:
    return compile_formula(text).evaluate({k: D(v) for k, v in variables.items()})


def test_formula_length_limit() -> None:
    longest = "1" + " " * (MAX_LENGTH - 2) + "2"  # is not valid (two numbers) but is not refused for its length
    assert "longer than" not in formula_error(longest)
    assert value("1" + " " * (MAX_LENGTH - 1)) == 1
    assert "longer than 500 characters (501)" in formula_error("1" + " " * MAX_LENGTH)


def test_formula_node_limit() -> None:
    at_limit = "-1" + "+1" * 99  # 100 literals, 99 additions, 1 negation: 200 expression nodes
    assert value(at_limit) == 98
    assert "more than 200 expression nodes" in formula_error("1" + "+1" * 100)  # 201 nodes
    assert "more than 200 expression nodes" in formula_error("-1" + "+1" * 100)  # 202


def test_formula_depth_limit() -> None:
    assert value("-" * (MAX_DEPTH - 1) + "1") == -1  # the literal is 32 levels deep
    assert "nested deeper than 32 levels" in formula_error("-" * MAX_DEPTH + "1")
    assert value("(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH) == 1  # 32 brackets
    assert "nested deeper than 32 levels" in formula_error("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1))
    right = "1"
    for _ in range(MAX_DEPTH - 1):  # each right-hand operand one level deeper: 1-(1-(1-...))
        right = f"1-{right}" if right == "1" else f"1-({right})"
    assert value(right) in (0, 1)
    assert "nested deeper" in formula_error(f"1-({right})")


def test_literal_limits() -> None:
    assert value("9" * 30) == D("9" * 30)
    assert "more than 30 digits" in formula_error("9" * 31)
    assert "more than 30 digits" in formula_error("0." + "0" * 30 + "1")
    assert value("1e30") == D("1e30")
    assert "out of range" in formula_error("1e31")
    assert value("1e-30") == D("1e-30")
    assert "out of range" in formula_error("1e-31")
    assert value("0e99") == 0  # zero has no magnitude to limit


def test_power_limits() -> None:
    assert value("2 ** 10") == 1024
    assert value("x ** 0", x="5") == 1
    assert "integer literal exponent from 0 to 10" in formula_error("2 ** 11")
    assert "integer literal exponent" in formula_error("2 ** -1")
    assert "integer literal exponent" in formula_error("2 ** x")


@pytest.mark.parametrize(
    "text",
    [
        "sqrt(usage)",
        "sqrt(4)",
        "pow(2, 3)",
        "round(usage, 2)",
        "log(1)",
        "exp(1)",
        "sum(1, 2)",
        "foo(1, 2, 3)",
        "Min(1, 2)",
    ],
)
def test_unknown_functions_are_refused_whatever_their_arguments(text: str) -> None:
    name = text.split("(")[0]
    assert formula_error(text) == f"formula: call of {name!r} not allowed (only min, max, abs)"


def test_function_argument_counts() -> None:
    eight = ", ".join(str(i) for i in range(1, 9))
    assert value(f"min({eight})") == 1
    assert value(f"max({eight})") == 8
    assert value("min(2, 1)") == 1 and value("max(1, 2)") == 2
    assert value("abs(-3)") == 3
    assert formula_error(f"min({eight}, 9)") == "formula: min() takes 2 to 8 arguments (9 given)"
    assert formula_error(f"max({eight}, 9)") == "formula: max() takes 2 to 8 arguments (9 given)"
    assert formula_error("max(1)") == "formula: max() takes 2 to 8 arguments (1 given)"
    assert formula_error("abs(1, 2)") == "formula: abs() takes exactly 1 argument (2 given)"
    assert formula_error("abs()") == "formula: abs() takes exactly 1 argument (0 given)"
