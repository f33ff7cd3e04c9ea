"""Payment collection: the answer to a Stripe webhook, and an invoice's payment attempts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from fubble.db.models import PaymentAttempt


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
