"""Field types shared by every request and response schema.

They keep the API's promises in one place: decimals are exact and bounded, strings fit their columns and carry no NUL
bytes (which PostgreSQL cannot store), timestamps are converted to UTC (naive means UTC) and kept within a sane range.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from fubble.db.types import to_utc

MIN_TIME = datetime(1900, 1, 1, tzinfo=UTC)
MAX_TIME = datetime(9000, 1, 1, tzinfo=UTC)
MAX_METADATA_BYTES = 16_384


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _finite(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    return value


def _reject_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    if isinstance(value, float):  # only from non-JSON callers (the library API); JSON numbers arrive as Decimal
        return Decimal(repr(value))
    return value


_TIME_RANGE = "must be between 1900-01-01 and 9000-01-01"


def _utc(value: datetime) -> datetime:
    try:
        value = to_utc(value)
    except OverflowError as exc:  # 0001-01-01T00:00+01:00 converted to UTC is before the first datetime
        raise ValueError(_TIME_RANGE) from exc
    if not MIN_TIME <= value < MAX_TIME:
        raise ValueError(_TIME_RANGE)
    return value


def _bounded_metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None:
        from fubble.db.types import dumps_exact

        if len(dumps_exact(value).encode()) > MAX_METADATA_BYTES:
            raise ValueError(f"must serialize to at most {MAX_METADATA_BYTES} bytes of JSON")
    return value


def _decimal(json_schema: dict[str, Any], **constraints: Any) -> Any:
    return Annotated[
        Decimal,
        BeforeValidator(_reject_bool),
        Field(allow_inf_nan=False, max_digits=32, decimal_places=12, **constraints),
        AfterValidator(_finite),
        WithJsonSchema({"type": "number", **json_schema}),
    ]


Name = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(_no_nul), AfterValidator(_not_blank)]
ShortText = Annotated[str, Field(max_length=255), AfterValidator(_no_nul)]
LongText = Annotated[str, Field(max_length=10_000), AfterValidator(_no_nul)]
Metadata = Annotated[dict[str, Any] | None, AfterValidator(_bounded_metadata)]
UTCTime = Annotated[datetime, AfterValidator(_utc)]

# Exact decimals, at most 12 decimal places and 32 digits. JSON numbers or numeric strings are accepted.
Amount = _decimal({"minimum": 0}, ge=0)  # money that cannot be negative (prices, fees)
SignedAmount = _decimal({})  # money that may be negative (credits, corrections)
Quantity = _decimal({"exclusiveMinimum": 0}, gt=0)  # usage: strictly positive
NonNegativeQuantity = _decimal({"minimum": 0}, ge=0)
Decimal12 = _decimal({})  # any exact decimal (factor values, formula inputs)

# Object ids (path parameters and references in bodies): positive and within PostgreSQL's INTEGER range.
MAX_ID = 2_147_483_647
Ref = Annotated[int, Field(ge=1, le=MAX_ID)]
