"""Response body of ``GET /customers/{customer_id}/upcoming-invoice``: an invoice's shape, for an invoice that does
not exist yet (no id, no number, status ``upcoming``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from fubble.billing.preview import UpcomingInvoice
from fubble.db.models import InvoiceItem


class UpcomingItemOut(BaseModel):
    """A line the billing run would produce; the fields of an invoice item, with ``id`` always null."""

    id: None = None
    description: str
    metric_name: str | None
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    subscription_id: int | None
    price_component_id: int | None
    period_start: datetime | None
    period_end: datetime | None

    @classmethod
    def of(cls, item: InvoiceItem) -> UpcomingItemOut:
        return cls(
            description=item.description,
            metric_name=item.metric_name,
            quantity=item.quantity,
            unit_price=item.unit_price,
            amount=item.amount,
            subscription_id=item.subscription_id,
            price_component_id=item.price_component_id,
            period_start=item.period_start,
            period_end=item.period_end,
        )


class UpcomingInvoiceOut(BaseModel):
    """The fields of an invoice; ``id``, ``invoice_number``, ``paid_date``, ``notes``, ``created_at`` and
    ``updated_at`` are null because nothing is stored."""

    id: None = None
    invoice_number: None = None
    customer_id: int
    status: Literal["upcoming"] = "upcoming"
    currency: str
    issue_date: datetime = Field(description="Now: the issue date of a draft generated now.")
    due_date: datetime = Field(description="issue_date + the payment term (FUBBLE_PAYMENT_TERM_DAYS).")
    amount: Decimal
    paid_date: None = None
    notes: None = None
    period_start: datetime | None = Field(
        description="Start of the earliest current billing period of the subscriptions taking part (null if none)."
    )
    period_end: datetime | None = Field(
        description="End of the latest current billing period of the subscriptions taking part (null if none)."
    )
    usage_as_of: datetime = Field(description="Usage counts the events before this instant (now).")
    created_at: None = None
    updated_at: None = None
    invoice_items: list[UpcomingItemOut]

    @classmethod
    def of(cls, upcoming: UpcomingInvoice) -> UpcomingInvoiceOut:
        return cls(
            customer_id=upcoming.customer.id,
            currency=upcoming.customer.currency,
            issue_date=upcoming.issue_date,
            due_date=upcoming.due_date,
            amount=upcoming.amount,
            period_start=upcoming.period_start,
            period_end=upcoming.period_end,
            usage_as_of=upcoming.usage_as_of,
            invoice_items=[UpcomingItemOut.of(item) for item in upcoming.items],
        )
