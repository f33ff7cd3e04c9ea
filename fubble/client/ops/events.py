"""``/events``: record usage one event or a batch at a time; read a customer's events and usage."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, TypeAdapter

from fubble.client._call import Call, given, page, segment
from fubble.events.schemas import BatchResult, EventOut

ONE = TypeAdapter(EventOut)
MANY = TypeAdapter(list[EventOut])
BATCH = TypeAdapter(BatchResult)
USAGE = TypeAdapter(dict[str, Decimal])

Quantity = Decimal | int | str


def event(
    *,
    metric_name: str,
    quantity: Quantity,
    customer_id: int | None = None,
    external_customer_id: str | None = None,
    event_time: datetime | None = None,
    properties: Mapping[str, Any] | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """One event as the API takes it (the fields given)."""
    return {
        "metric_name": metric_name,
        "quantity": quantity,
        **given(
            customer_id=customer_id,
            external_customer_id=external_customer_id,
            event_time=event_time,
            properties=None if properties is None else dict(properties),
            event_id=event_id,
        ),
    }


def record(
    *,
    metric_name: str,
    quantity: Quantity,
    customer_id: int | None = None,
    external_customer_id: str | None = None,
    event_time: datetime | None = None,
    properties: Mapping[str, Any] | None = None,
    event_id: str | None = None,
) -> Call[EventOut]:
    """Record one usage event for ``customer_id`` (or ``external_customer_id``); ``event_time`` defaults to now.
    With an ``event_id`` it is stored at most once (the same event sent again answers the stored one)."""
    body = event(
        metric_name=metric_name,
        quantity=quantity,
        customer_id=customer_id,
        external_customer_id=external_customer_id,
        event_time=event_time,
        properties=properties,
        event_id=event_id,
    )
    return Call("POST", "/events/", ONE, body=body)


def batch(events: Iterable[Mapping[str, Any] | BaseModel]) -> Call[BatchResult]:
    """Record up to 10,000 events (each a mapping of the event's fields), all or none: a batch with an invalid
    event is refused whole (422 listing every bad event by index)."""
    return Call("POST", "/events/batch", BATCH, body={"events": [_plain(e) for e in events]})


def _plain(event: Mapping[str, Any] | BaseModel) -> dict[str, Any]:
    if isinstance(event, BaseModel):
        return event.model_dump(mode="python", by_alias=True, exclude_none=True)
    return dict(event)


def list_(
    customer_id: int,
    *,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    metric_name: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Call[list[EventOut]]:
    """The customer's events in ``[start_date, end_date)``, by event time."""
    params = page(limit, offset, start_date=start_date, end_date=end_date, metric_name=metric_name)
    return Call("GET", f"/events/customers/{segment(customer_id)}", MANY, params)


def usage(
    customer_id: int, *, start_date: datetime | None = None, end_date: datetime | None = None
) -> Call[dict[str, Decimal]]:
    """``{metric_name: usage}`` of the customer in ``[start_date, end_date)``, each by its metric's aggregation."""
    params = {"start_date": start_date, "end_date": end_date}
    return Call("GET", f"/events/customers/{segment(customer_id)}/usage", USAGE, params)
