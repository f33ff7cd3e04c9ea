"""Request and response bodies of the invoice routes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from fubble.api.fields import (
    NON_BLANK_PATTERN,
    LongText,
    NonNegativeQuantity,
    Ref,
    ShortText,
    SignedAmount,
    UTCTime,
    not_blank,
)
from fubble.db.models import Invoice, InvoiceDiscount, InvoiceItem, InvoiceTax
from fubble.invoices.money import in_minor_units
from fubble.invoices.status import InvoiceStatus

MAX_ITEMS_PER_REQUEST = 1000


# Not blank as fubble.api.fields defines it (and the schema declares it).
_NON_BLANK = Field(min_length=1, max_length=1000, json_schema_extra={"pattern": NON_BLANK_PATTERN})
Description = Annotated[LongText, _NON_BLANK, AfterValidator(not_blank)]
VoidReason = Annotated[LongText, _NON_BLANK, AfterValidator(not_blank)]


class ItemCreate(BaseModel):
    """One invoice line.

    * ``amount`` is the line total in the invoice's currency. It may be negative (a credit), but it must not have more
      decimal places than the currency's minor unit (10.005 USD is refused; 1000.5 JPY too).
    * ``quantity`` defaults to 1 and may be 0.
    * ``unit_price`` defaults to ``amount / quantity`` when ``quantity`` is given and > 0 (computed exactly, then
      rounded half-up to at most 12 decimal places), otherwise to ``amount``. A given ``unit_price`` is stored as is.
    """

    model_config = ConfigDict(extra="forbid")

    description: Description
    amount: SignedAmount = Field(examples=[Decimal("10.00")])
    quantity: NonNegativeQuantity | None = Field(None, examples=[Decimal("1000")])
    metric_name: ShortText | None = None
    unit_price: SignedAmount | None = Field(None, examples=[Decimal("0.01")])


class InvoiceCreate(BaseModel):
    """A manual invoice, created in ``draft`` status for the customer's currency."""

    model_config = ConfigDict(extra="forbid")

    customer_id: Ref
    issue_date: UTCTime | None = Field(None, description="Defaults to now.")
    due_date: UTCTime | None = Field(
        None, description="Defaults to issue_date + the payment term (FUBBLE_PAYMENT_TERM_DAYS, 30 days)."
    )
    notes: LongText | None = None
    items: list[ItemCreate] = Field(default_factory=list, max_length=MAX_ITEMS_PER_REQUEST)


class StatusUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: InvoiceStatus


class VoidRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: VoidReason | None = None


class InvoiceItemOut(BaseModel):
    """An invoice line: in an invoice's `invoice_items`, and the answer of `POST /invoices/{invoice_id}/items` (the
    created item, as the original product answered; its `id` is the one to delete it with)."""

    id: int
    description: str
    metric_name: str | None
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    subscription_id: int | None
    price_component_id: int | None
    period_start: datetime | None
    period_end: datetime | None
    kind: str | None = Field(
        description="For generated lines: `usage` (usage, and fixed fees billed after their time), `fee` (a fixed "
        "fee billed in advance), `credit` (the unused part of a fee paid in advance), `adjustment` (late usage of a "
        "period already finalized). null for lines added by hand."
    )

    @classmethod
    def of(cls, item: InvoiceItem) -> InvoiceItemOut:
        return cls(
            id=item.id,
            description=item.description,
            metric_name=item.metric_name,
            quantity=item.quantity,
            unit_price=item.unit_price,
            amount=item.amount,
            subscription_id=item.subscription_id,
            price_component_id=item.price_component_id,
            period_start=item.period_start,
            period_end=item.period_end,
            kind=item.kind,
        )


class InvoiceDiscountOut(BaseModel):
    """A coupon's discount on an invoice (one per coupon that applied to its period, even at 0)."""

    coupon_id: int
    description: str = Field(examples=["Coupon WELCOME10"])
    amount: Decimal = Field(description="What the coupon takes off the subtotal, in the invoice's currency.")

    @classmethod
    def of(cls, row: InvoiceDiscount) -> InvoiceDiscountOut:
        return cls(coupon_id=row.coupon_id, description=row.description, amount=row.amount)


class InvoiceTaxOut(BaseModel):
    """The tax at one rate on an invoice (one per rate, even at 0), with the name and rate it was computed at."""

    tax_rate_id: int
    name: str
    rate: Decimal = Field(description="A percent: 20 means 20%.")
    taxable_amount: Decimal = Field(description="What the rate taxes: the subtotal less the discounts.")
    amount: Decimal = Field(description="rate percent of taxable_amount, rounded half-up once.")

    @classmethod
    def of(cls, row: InvoiceTax) -> InvoiceTaxOut:
        return cls(
            tax_rate_id=row.tax_rate_id, name=row.name, rate=row.rate, taxable_amount=row.taxable, amount=row.amount
        )


class InvoiceOut(BaseModel):
    id: int
    invoice_number: str
    customer_id: int
    status: InvoiceStatus
    currency: str
    issue_date: datetime
    due_date: datetime
    amount: Decimal
    paid_date: datetime | None
    notes: str | None
    period_start: datetime | None
    period_end: datetime | None
    created_at: datetime
    updated_at: datetime
    billing_run_id: int | None = Field(description="The billing run that created the invoice (null otherwise).")
    credit_carried: Decimal = Field(
        description="What the invoice's lines fall below zero by (credits for unused time, negative corrections): "
        "its total stops at 0 and, once it is finalized, this is granted to the customer as credit (source "
        "`invoice`, see GET /customers/{id}/credit-ledger). 0 otherwise."
    )
    grace_until: datetime | None = Field(
        description="For a billing run's draft: the instant after which a run finalizes it (its period's end plus "
        "the grace period); until then runs refresh it with late usage. null otherwise."
    )
    subtotal: Decimal = Field(description="The sum of the lines.")
    discount_amount: Decimal = Field(description="What the customer's coupons take off the subtotal.")
    tax_amount: Decimal = Field(description="Tax on the discounted subtotal, rounded once per rate.")
    total: Decimal = Field(description="subtotal - discount_amount + tax_amount, never below 0 (see credit_carried).")
    credits_applied: Decimal = Field(description="Prepaid credit used when the invoice was finalized (0 on drafts).")
    amount_due: Decimal = Field(description="total - credits_applied: what the customer pays.")
    discounts: list[InvoiceDiscountOut] = Field(description="The coupons' discounts: they add up to discount_amount.")
    taxes: list[InvoiceTaxOut] = Field(description="The tax per rate: they add up to tax_amount.")
    invoice_items: list[InvoiceItemOut]

    @classmethod
    def of(cls, invoice: Invoice) -> InvoiceOut:
        return cls(
            id=invoice.id,
            invoice_number=invoice.invoice_number,
            customer_id=invoice.customer_id,
            status=InvoiceStatus(invoice.status),
            currency=invoice.currency,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            amount=invoice.amount,
            paid_date=invoice.paid_date,
            notes=invoice.notes,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
            created_at=invoice.created_at,
            updated_at=invoice.updated_at,
            billing_run_id=invoice.billing_run_id,
            credit_carried=carried(invoice),
            grace_until=invoice.grace_until,
            **figures(invoice),
            discounts=[InvoiceDiscountOut.of(row) for row in invoice.discounts],
            taxes=[InvoiceTaxOut.of(row) for row in invoice.taxes],
            invoice_items=[InvoiceItemOut.of(item) for item in invoice.invoice_items],
        )


def carried(invoice: Invoice) -> Decimal:
    """The invoice's ``credit_carried``, 0 (in the currency's places) when it carries none."""
    if invoice.credit_carried is not None:
        return invoice.credit_carried
    return in_minor_units(Decimal(0), invoice.currency, ("credit_carried",))


FIGURES = ("subtotal", "discount_amount", "tax_amount", "total", "credits_applied", "amount_due")


def figures(invoice: Invoice) -> dict[str, Decimal]:
    """The invoice's terms figures; an invoice from before terms existed (NULL columns) shows its ``amount`` as
    subtotal, total and amount due, and 0 discount, tax and credits."""
    zero = in_minor_units(Decimal(0), invoice.currency, ("amount",))
    result = {}
    for name in FIGURES:
        value = getattr(invoice, name)
        if value is None:
            value = invoice.amount if name in ("subtotal", "total", "amount_due") else zero
        result[name] = value
    return result
