"""Request and response models of the events API."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator
from sqlalchemy import Row

from fubble.api.fields import Decimal12, Metadata, Name, Ref, ShortText, UTCTime
from fubble.db.models import Event

# A client's idempotency key: 1..255 characters, no NUL.
EventKey = Annotated[ShortText, Field(min_length=1)]
# A customer's external_id as events name it: 1..255 characters, no NUL.
ExternalCustomerId = Annotated[ShortText, Field(min_length=1)]


def _plain_zero(value: Decimal) -> Decimal:
    return Decimal(0) if value.is_zero() else value


# An event's quantity: any exact decimal (12 places, 20 digits before the point), every zero (-0.0, 0E+30) read as 0.
# Its sign is a rule of its metric (fubble.events.service.negative_quantity), which the schema cannot state.
EventQuantity = Annotated[Decimal12, AfterValidator(_plain_zero)]
_QUANTITY = (
    "How much was used: an exact decimal. 0 is accepted for every metric; a negative quantity (a correction, a gauge "
    "going down) only for a metric defined with `allow_negative: true` (otherwise 422)."
)

_SPACE_FOR_PLUS = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d(?::?\d\d)?)$")


def _plus_from_query(value: Any) -> Any:
    """An unencoded ``+`` in a query string arrives as a space: ``...T14:00:00 02:00`` means ``+02:00``."""
    if isinstance(value, str):
        return _SPACE_FOR_PLUS.sub(r"\1+\2", value.strip())
    return value


# A timestamp in a query string: ISO 8601, with or without an offset (naive means UTC); converted to UTC.
QueryTime = Annotated[UTCTime, BeforeValidator(_plus_from_query)]


# The OpenAPI documentation of fubble.events.decoder, the one definition of a valid event, which every way in decodes
# events with: no request is validated with this model. Its field types are the shared ones of fubble.api.fields, and
# tests/events/test_openapi.py checks that the two agree.
class EventIn(BaseModel):
    """One usage event as sent by a client."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {"required": ["customer_id"], "properties": {"customer_id": {"type": "integer"}}},
                {"required": ["external_customer_id"], "properties": {"external_customer_id": {"type": "string"}}},
            ]
        },
    )

    customer_id: Ref | None = Field(None, description="The customer's id. Send it or `external_customer_id`.")
    external_customer_id: ExternalCustomerId | None = Field(
        None,
        description="The customer's `external_id`, instead of `customer_id` (sending both is allowed only when they "
        "name the same customer). A retry must spell the customer the same way to be recognized as a replay.",
    )
    metric_name: Name = Field(
        description="A known metric: one defined with POST /metrics/ or priced by some plan (a typo is a 422)."
    )
    quantity: EventQuantity = Field(description=_QUANTITY)
    event_time: UTCTime | None = Field(
        None, description="When the usage happened (UTC; naive means UTC, offsets are converted). Defaults to now."
    )
    properties: Metadata = Field(None, description="Free-form details (a JSON object of at most 16 KiB).")
    event_id: EventKey | None = Field(
        None,
        description="Your idempotency key. Sending the same event_id with the same payload again stores nothing new "
        "and returns the stored event; the same event_id with a different payload is a 409.",
    )


# The documentation of fubble.events.decoder.decode_batch, like EventIn.
class EventBatchIn(BaseModel):
    """Up to ``FUBBLE_MAX_BATCH_EVENTS`` (10,000) events, validated one by one so errors carry their index."""

    model_config = ConfigDict(extra="forbid")

    events: list[EventIn] = Field(min_length=1, description="The events, 1 to 10,000 of them.")


def _read_by_the_decoder(value: Any) -> Any:
    """Nothing to check here: the route decodes its body with :mod:`fubble.events.decoder`."""
    return value


# A request body documented by ``model`` and decoded by fubble.events.decoder (FastAPI only parses its JSON).
EventBody = Annotated[Any, PlainValidator(_read_by_the_decoder, json_schema_input_type=EventIn)]
EventBatchBody = Annotated[Any, PlainValidator(_read_by_the_decoder, json_schema_input_type=EventBatchIn)]


class EventOut(BaseModel):
    id: int
    event_id: str | None
    customer_id: int
    metric_name: str
    quantity: Decimal
    event_time: datetime
    properties: dict[str, Any] | None
    received_at: datetime

    @classmethod
    def of(cls, event: Event | Row[Any]) -> EventOut:
        """From an ORM event or a row of the events table (what bulk statements return)."""
        return cls(
            id=event.id,
            event_id=event.event_id,
            customer_id=event.customer_id,
            metric_name=event.metric_name,
            quantity=event.quantity,
            event_time=event.event_time,
            properties=event.properties,
            received_at=event.received_at,
        )


class BatchResult(BaseModel):
    accepted: int = Field(description="Events stored by this request.")
    duplicates: int = Field(
        description="Events not stored because an event with the same event_id and payload was already stored or "
        "appeared earlier in the batch."
    )
    duplicate_event_ids: list[str] = Field(description="The event_ids of those duplicates, each once, in batch order.")
