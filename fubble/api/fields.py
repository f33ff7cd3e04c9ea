"""Field types shared by every request and response schema.

They keep the API's promises in one place: decimals are exact and bounded, strings fit their columns and carry no NUL
bytes (which PostgreSQL cannot store), timestamps are converted to UTC (naive means UTC) and kept within a sane range.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import AfterValidator, BeforeValidator, EmailStr, Field, WithJsonSchema

from fubble.api.json import exponent_problem
from fubble.db.types import to_utc
from fubble.pricing.money import MINOR_UNITS, is_currency

# Timestamps are written with a year from 1900 to 8999 (as written, before conversion to UTC: the schema's pattern).
MIN_YEAR, MAX_YEAR = 1900, 8999
# Every accepted timestamp is within these in UTC (an offset moves it by less than a day).
MIN_TIME = datetime(MIN_YEAR - 1, 12, 31, tzinfo=UTC)
MAX_TIME = datetime(MAX_YEAR + 1, 1, 2, tzinfo=UTC)
MAX_METADATA_BYTES = 16_384

# Exact decimals: at most DECIMAL_PLACES places and WHOLE_DIGITS digits before the point (32 digits in all).
DECIMAL_PLACES = 12
WHOLE_DIGITS = 20


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# Whitespace as JSON Schema (ECMA-262) patterns know it; a name needs one character outside it (NOT_BLANK).
_ECMA_SPACE = "\t\n\x0b\x0c\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
NOT_BLANK = f"[^{_ECMA_SPACE}]"
_NOT_BLANK = re.compile(NOT_BLANK)


def not_blank(value: str) -> str:
    if not _NOT_BLANK.search(value):
        raise ValueError("must not be blank")
    return value


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    return value


_DIGITS = (
    f"must be a multiple of 1e-{DECIMAL_PLACES} less than 1e{WHOLE_DIGITS} in magnitude "
    f"(at most {DECIMAL_PLACES} decimal places and {WHOLE_DIGITS} digits before the point)"
)


def not_boolean(value: Any) -> Any:
    """A JSON ``true``/``false`` is not a number (pydantic's lax integers would read it as 1/0)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


def json_integer(value: Any) -> Any:
    """An integer as JSON Schema reads ``"type": "integer"``: an integer, or a number with no fractional part
    (``97.0``); a boolean or a string is not one (pydantic's lax integers would read ``true`` and ``"97"``)."""
    if isinstance(value, bool | str):
        raise ValueError("must be an integer")
    return value


def _number_in_digits(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    if isinstance(value, float):  # only from non-JSON callers (the library API); JSON numbers arrive as Decimal
        value = Decimal(repr(value))
    if isinstance(value, Decimal) and value.is_finite() and value:
        # Checked before pydantic's digit counts, which call 1e99999 "not finite": the rule the schema declares.
        _sign, digits, exponent = value.as_tuple()
        assert isinstance(exponent, int)
        zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
        if value.adjusted() >= WHOLE_DIGITS or exponent + zeros < -DECIMAL_PLACES:
            raise ValueError(_DIGITS)
    return value


_TIME_RANGE = f"must be a date-time with a year from {MIN_YEAR} to {MAX_YEAR}"
_TIME_FORMAT = "must be an ISO 8601 date-time string such as 2024-01-31T12:00:00Z (naive means UTC)"
# What the OpenAPI document declares: an RFC 3339 date-time whose year is MIN_YEAR..MAX_YEAR.
YEAR_PATTERN = "^(19[0-9]{2}|[2-8][0-9]{3})-"
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_text(value: Any) -> Any:
    """Only ISO 8601 text (or a ``datetime``, from the library API): pydantic would read a number, or a numeric
    string in a query, as seconds since 1970."""
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise ValueError(_TIME_FORMAT)


def _utc(value: datetime) -> datetime:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(_TIME_RANGE)
    return to_utc(value)


def _bounded_metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None:
        from fubble.db.types import dumps_exact

        problem = exponent_problem(value)
        if problem is not None:
            raise ValueError(problem)
        if len(dumps_exact(value).encode()) > MAX_METADATA_BYTES:
            raise ValueError(f"must serialize to at most {MAX_METADATA_BYTES} bytes of JSON")
    return value


# The OpenAPI form of the digit limits: a multiple of 10^-12, less than 10^20 in magnitude.
DECIMAL_SCHEMA: dict[str, Any] = {
    "type": "number",
    "multipleOf": float(f"1e-{DECIMAL_PLACES}"),
    "exclusiveMinimum": -float(f"1e{WHOLE_DIGITS}"),
    "exclusiveMaximum": float(f"1e{WHOLE_DIGITS}"),
}


def _decimal(json_schema: dict[str, Any], **constraints: Any) -> Any:
    return Annotated[
        Decimal,
        BeforeValidator(_number_in_digits),
        Field(
            allow_inf_nan=False,
            max_digits=WHOLE_DIGITS + DECIMAL_PLACES,
            decimal_places=DECIMAL_PLACES,
            **constraints,
        ),
        AfterValidator(_finite),
        WithJsonSchema({**DECIMAL_SCHEMA, **json_schema}),
    ]


# Text holds no NUL character (PostgreSQL cannot store one); a Name also a character that is not whitespace.
NO_NUL = "^[^\\u0000]*$"
# No NUL, and a character that is neither NUL nor whitespace (not_blank).
NON_BLANK_PATTERN = f"^[^\\u0000]*{NOT_BLANK[:-1]}\\u0000][^\\u0000]*$"
Name = Annotated[
    str,
    Field(min_length=1, max_length=255, json_schema_extra={"pattern": NON_BLANK_PATTERN}),
    AfterValidator(_no_nul),
    AfterValidator(not_blank),
]
ShortText = Annotated[str, Field(max_length=255, json_schema_extra={"pattern": NO_NUL}), AfterValidator(_no_nul)]
LongText = Annotated[str, Field(max_length=10_000, json_schema_extra={"pattern": NO_NUL}), AfterValidator(_no_nul)]

# An e-mail address as pydantic's EmailStr checks it; its schema also declares the special-use domains (.test,
# .local, ...) that the check refuses.
_SPECIAL_USE = "|".join("".join(f"[{c.lower()}{c.upper()}]" for c in d) for d in SPECIAL_USE_DOMAIN_NAMES)
Email = Annotated[
    EmailStr,
    Field(max_length=320),
    WithJsonSchema(
        {"type": "string", "format": "email", "maxLength": 320, "not": {"pattern": f"[.@]({_SPECIAL_USE})\\.?$"}}
    ),
]
# Free-form JSON (metadata, event properties): values are JSON_VALUE (fubble.api.openapi adds it to the document).
JSON_VALUE = "#/components/schemas/JsonValue"
Metadata = Annotated[
    dict[str, Any] | None,
    AfterValidator(_bounded_metadata),
    WithJsonSchema({"anyOf": [{"type": "object", "additionalProperties": {"$ref": JSON_VALUE}}, {"type": "null"}]}),
]
UTCTime = Annotated[
    datetime,
    BeforeValidator(_iso_text),
    AfterValidator(_utc),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": YEAR_PATTERN}),
]

# Exact decimals (DECIMAL_PLACES, WHOLE_DIGITS). JSON numbers or numeric strings are accepted.
Amount = _decimal({"minimum": 0}, ge=0)  # money that cannot be negative (prices, fees)
SignedAmount = _decimal({})  # money that may be negative (credits, corrections)
Quantity = _decimal({"exclusiveMinimum": 0}, gt=0)  # usage: strictly positive
NonNegativeQuantity = _decimal({"minimum": 0}, ge=0)
Decimal12 = _decimal({})  # any exact decimal (factor values, formula inputs)


def _omit_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def not_null(**kwargs: Any) -> Any:
    """An optional field that may be left out but not sent as null: type it ``X | SkipJsonSchema[None]`` (the
    service refuses an explicit null, naming the field) with this as its default; the schema documents ``X`` only."""
    return Field(None, json_schema_extra=_omit_default, **kwargs)


def _currency(value: str) -> str:
    if not (value.isupper() or value.islower()) or not is_currency(value.upper()):
        raise ValueError("must be an ISO 4217 currency code such as USD, EUR or JPY")
    return value.upper()


# An ISO 4217 code of fubble.pricing.money.MINOR_UNITS, in upper or lower case (stored upper case).
CurrencyCode = Annotated[
    str,
    AfterValidator(_currency),
    WithJsonSchema({"type": "string", "enum": sorted(MINOR_UNITS) + sorted(c.lower() for c in MINOR_UNITS)}),
]

# Object ids (path parameters and references in bodies): positive and within PostgreSQL's INTEGER range. A JSON
# true is not an id (pydantic's lax integers would read it as 1, naming object 1).
MAX_ID = 2_147_483_647
Ref = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(not_boolean)]
