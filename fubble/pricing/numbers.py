"""Exact numbers in ``pricing_details`` and component options: the validators behind the annotated types. Pure.

Every number may be a JSON number (``int`` or ``Decimal``, as the exact JSON loader gives them) or a numeric string
(``"0.01"``, ``"1e3"``). Refused: booleans, binary floats (their value is not what was written), NaN, Infinity,
strings that are not plain decimal numbers, and magnitudes from 1e24 up or with more than 20 decimal places. Numbers
are kept canonically: exact value, no exponent, no trailing zeros (``"10.00"`` -> ``10``, ``1E+3`` -> ``1000``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import PlainValidator
from pydantic_core import PydanticCustomError

__all__ = [
    "MAX_DECIMAL_PLACES",
    "MAX_INTEGER_DIGITS",
    "NonNegative",
    "NonNegativeInteger",
    "Number",
    "OptionalNonNegative",
    "Positive",
    "canonical",
    "non_negative",
]

MAX_INTEGER_DIGITS = 24
MAX_DECIMAL_PLACES = 20
_NUMERIC_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?")


def canonical(value: Decimal) -> Decimal:
    """The same value without exponent or trailing zeros (``10.00`` -> ``10``, ``1E+3`` -> ``1000``, ``-0`` -> 0)."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    coefficient = int("".join(map(str, digits)) or "0")
    if coefficient == 0:
        return Decimal(0)
    if exponent > 0:
        return Decimal((sign, tuple(map(int, str(coefficient * 10**exponent))), 0))
    while exponent < 0 and coefficient % 10 == 0:
        coefficient //= 10
        exponent += 1
    return Decimal((sign, tuple(map(int, str(coefficient))), exponent))


def _number(value: object) -> Decimal:
    if isinstance(value, bool):
        raise PydanticCustomError("number_type", "must be a number, not a boolean")
    if isinstance(value, float):
        raise PydanticCustomError(
            "number_type", "must be an exact decimal number (a JSON number read as decimal, or a numeric string)"
        )
    if isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        if len(value) > 80 or not _NUMERIC_TEXT.fullmatch(value):
            message = "must be a decimal number, not the string {text}"
            raise PydanticCustomError("number_parsing", message, {"text": repr(value[:40])})
        number = Decimal(value)
    else:
        raise PydanticCustomError("number_type", "must be a number")
    if not number.is_finite():
        raise PydanticCustomError("number_finite", "must be a finite number (NaN and Infinity are not allowed)")
    if number and number.adjusted() >= MAX_INTEGER_DIGITS:
        raise PydanticCustomError("number_range", f"must be less than 1e{MAX_INTEGER_DIGITS} in magnitude")
    number = canonical(number)
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > MAX_DECIMAL_PLACES:
        raise PydanticCustomError("number_range", f"must have at most {MAX_DECIMAL_PLACES} decimal places")
    return number


def non_negative(value: object) -> Decimal:
    number = _number(value)
    if number < 0:
        raise PydanticCustomError("greater_than_equal", "must be greater than or equal to 0")
    return number


def _positive(value: object) -> Decimal:
    number = _number(value)
    if number <= 0:
        raise PydanticCustomError("greater_than", "must be greater than 0")
    return number


def _non_negative_integer(value: object) -> int:
    number = non_negative(value)
    if number != number.to_integral_value():
        raise PydanticCustomError("int_from_float", "must be a whole number")
    return int(number)


def _optional_non_negative(value: object) -> Decimal | None:
    return None if value is None else non_negative(value)


_NUMBER_INPUT = Decimal | int | str
Number = Annotated[Decimal, PlainValidator(_number, json_schema_input_type=_NUMBER_INPUT)]
"""Any finite exact number (see the module rules)."""
NonNegative = Annotated[Decimal, PlainValidator(non_negative, json_schema_input_type=_NUMBER_INPUT)]
"""A finite exact number ``>= 0``."""
Positive = Annotated[Decimal, PlainValidator(_positive, json_schema_input_type=_NUMBER_INPUT)]
"""A finite exact number ``> 0``."""
OptionalNonNegative = Annotated[
    Decimal | None, PlainValidator(_optional_non_negative, json_schema_input_type=_NUMBER_INPUT | None)
]
"""``null`` or a finite exact number ``>= 0``."""
NonNegativeInteger = Annotated[int, PlainValidator(_non_negative_integer, json_schema_input_type=_NUMBER_INPUT)]
"""A whole number ``>= 0`` (``3``, ``"3"``, ``3.0``), stored as ``int``."""
