"""Payment collection: the answer to a Stripe webhook, an invoice's payment attempts, a credit note's refund."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field

from fubble.db.models import PaymentAttempt, PaymentRefund


class WebhookReceived(BaseModel):
    received: bool = Field(description="Always true: the event was verified and is recorded.")
    duplicate: bool = Field(description="True when this event id was applied before (nothing happened this time).")


class AttemptState(StrEnum):
    pending = "pending"
    processing = "processing"
    succeeded = "succeeded"
    failed = "failed"
    canceled = "canceled"


class PaymentAttemptOut(BaseModel):
    id: int
    invoice_id: int
    provider: str = Field(description="The payment provider (`stripe`).")
    step: int = Field(description="The attempt's place in the retry schedule: 1 for the first, 2 for the first retry.")
    state: AttemptState = Field(
        description="`pending` (due at `due_at`, not made yet), `processing` (the provider decides later, by "
        "webhook), `succeeded`, `failed` (declined; `next_attempt_at` names the retry when one is left) or "
        "`canceled` (the invoice was paid or voided otherwise before the attempt was made)."
    )
    due_at: datetime = Field(description="When the attempt is (was) due.")
    attempted_at: datetime | None = Field(description="When the provider was asked; null while pending.")
    payment_intent_id: str | None = Field(description="The provider's payment (Stripe: `pi_...`), once made.")
    intent_status: str | None = Field(description="The provider's status of that payment.")
    error: str | None = Field(description="Why the attempt failed or could not be made.")
    next_attempt_at: datetime | None = Field(description="When the retry after this failed attempt is due.")
    created_at: datetime

    @classmethod
    def of(cls, row: PaymentAttempt) -> PaymentAttemptOut:
        return cls(
            id=row.id,
            invoice_id=row.invoice_id,
            provider=row.provider,
            step=row.step,
            state=AttemptState(row.state),
            due_at=row.due_at,
            attempted_at=row.attempted_at,
            payment_intent_id=row.payment_intent_id,
            intent_status=row.intent_status,
            error=row.error,
            next_attempt_at=row.next_attempt_at,
            created_at=row.created_at,
        )


class RefundState(StrEnum):
    pending = "pending"
    processing = "processing"
    succeeded = "succeeded"
    failed = "failed"


class RefundOut(BaseModel):
    """The money of a `refund` credit note going back through the provider that collected the invoice."""

    provider: str = Field(description="The payment provider (`stripe`).")
    state: RefundState = Field(
        description="`pending` (the payment worker makes it shortly), `processing` (the provider finishes it "
        "later), `succeeded` or `failed` (the provider refused it: `error` says why)."
    )
    amount: Decimal = Field(description="The note's amount, in the invoice's currency.")
    payment_intent_id: str = Field(description="The payment it returns money from (Stripe: `pi_...`).")
    refund_id: str | None = Field(description="The provider's refund (Stripe: `re_...`), once made.")
    error: str | None = Field(description="Why it failed, or why the provider could not be reached yet.")
    attempted_at: datetime | None = Field(description="When the provider was last asked; null while pending.")

    @classmethod
    def of(cls, row: PaymentRefund) -> RefundOut:
        return cls(
            provider=row.provider,
            state=RefundState(row.state),
            amount=row.amount,
            payment_intent_id=row.payment_intent_id,
            refund_id=row.refund_id,
            error=row.error,
            attempted_at=row.attempted_at,
        )
