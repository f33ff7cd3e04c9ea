"""Bodies of the invoice previews: ``GET /customers/{customer_id}/upcoming-invoice`` and
``POST /plans/{plan_id}/preview`` answer an invoice's shape, for an invoice that does not exist (no id, no number,
status ``upcoming``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fubble.api.fields import Ref, UTCTime
from fubble.billing.preview import UpcomingInvoice
from fubble.invoices.schemas import InvoiceDiscountOut, InvoiceItemOut, InvoiceTaxOut
from fubble.plans.schemas import MAX_COMPONENTS
from fubble.subscriptions.schemas import BillingAnchor, PriceOverrideIn


class PlanPreviewIn(BaseModel):
    """A subscription to preview: the fields of ``POST /customers/{customer_id}/subscriptions`` a first invoice
    depends on, and the customer."""

    model_config = ConfigDict(extra="forbid")

    customer_id: Ref = Field(description="The customer the invoice is for (its usage, currency, coupons, taxes).")
    start_date: UTCTime | None = Field(
        None,
        description="When the subscription would start; defaults to the customer's now (its test clock's time, if it "
        "has one). Naive times are UTC.",
    )
    billing_anchor: BillingAnchor = Field(
        BillingAnchor.anniversary,
        description="anniversary: the first period runs from the start for one billing period; calendar: from the "
        "start to the next 1st of the month (quarter, year) at local midnight in the customer's time zone.",
    )
    price_overrides: list[PriceOverrideIn] = Field(
        default_factory=list,
        max_length=MAX_COMPONENTS,
        description="Negotiated prices replacing the plan's components, as for a subscription: each metric_name at "
        "most once, priced by the plan's latest version.",
    )


class UpcomingItemOut(InvoiceItemOut):
    """A line the billing run would produce: an invoice item's fields, with ``id`` always null."""

    id: None = None  # type: ignore[assignment]  # nothing is stored, so there is no id


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
        description="Upcoming invoice: start of the earliest current billing period of the subscriptions taking part "
        "(null if none). Plan preview: the start_date."
    )
    period_end: datetime | None = Field(
        description="Upcoming invoice: end of the latest current billing period of the subscriptions taking part "
        "(null if none). Plan preview: the end of the first billing period."
    )
    usage_as_of: datetime = Field(description="Usage counts the events before this instant (now).")
    created_at: None = None
    updated_at: None = None
    subtotal: Decimal = Field(description="The sum of the lines.")
    discount_amount: Decimal = Field(description="What the customer's coupons would take off.")
    tax_amount: Decimal = Field(description="Tax on the discounted subtotal, rounded once per rate.")
    total: Decimal = Field(description="subtotal - discount_amount + tax_amount, never below 0.")
    credits_applied: Decimal = Field(description="Prepaid credit that finalizing now would use.")
    amount_due: Decimal = Field(description="total - credits_applied.")
    discounts: list[InvoiceDiscountOut] = Field(description="The coupons' discounts: they add up to discount_amount.")
    taxes: list[InvoiceTaxOut] = Field(description="The tax per rate: they add up to tax_amount.")
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
            **upcoming.figures,
            discounts=[InvoiceDiscountOut.of(row) for row in upcoming.discounts],
            taxes=[InvoiceTaxOut.of(row) for row in upcoming.taxes],
            invoice_items=[UpcomingItemOut.of(item) for item in upcoming.items],
        )
