"""Request and response bodies of the credit routes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from fubble.api.fields import NON_BLANK_PATTERN, LongText, Quantity, UTCTime, not_blank, not_boolean
from fubble.db.models import CreditGrant

MIN_PRIORITY, MAX_PRIORITY = 1, 50
MAX_DESCRIPTION = 500

# Money that must be more than zero, exact, in the customer's currency (its minor-unit places are checked by the
# service: 10.005 USD and 1.5 JPY are 422).
PositiveAmount = Annotated[Quantity, Field(examples=[50])]  # a number (a Decimal example would be a string)
Priority = Annotated[
    int,
    Field(
        ge=MIN_PRIORITY,
        le=MAX_PRIORITY,
        description=f"{MIN_PRIORITY} (used first) to {MAX_PRIORITY} (used last).",
    ),
    BeforeValidator(not_boolean),
]
GrantDescription = Annotated[
    LongText,
    Field(min_length=1, max_length=MAX_DESCRIPTION, json_schema_extra={"pattern": NON_BLANK_PATTERN}),
    AfterValidator(not_blank),
]


class GrantStatus(StrEnum):
    """A grant's state at the customer's now: ``voided`` (voided by hand), ``used`` (nothing left), ``expired``
    (something left, but ``expires_at`` has passed), else ``active``."""

    ACTIVE = "active"
    EXPIRED = "expired"
    USED = "used"
    VOIDED = "voided"


class GrantSource(StrEnum):
    GRANT = "grant"
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class LedgerType(StrEnum):
    GRANT = "grant"
    USE = "use"
    EXPIRY = "expiry"
    VOID = "void"


class GrantCreate(BaseModel):
    """Prepaid credit for a customer, in the customer's currency."""

    model_config = ConfigDict(extra="forbid")

    amount: PositiveAmount = Field(
        description="More than 0, in the customer's currency, with at most its decimal places (422 otherwise)."
    )
    expires_at: UTCTime | None = Field(
        None,
        description="When the remainder expires: it serves invoices finalized before this instant. Must be after "
        "now (the customer's now: its test clock's time, if it has one), else 422. null: never expires.",
    )
    priority: Priority = 50
    description: GrantDescription = Field(examples=["Prepaid credits, Q1"])


def grant_status(grant: CreditGrant, now: datetime) -> GrantStatus:
    """The grant's :class:`GrantStatus` at ``now``."""
    if grant.voided_at is not None:
        return GrantStatus.VOIDED
    if grant.remaining <= 0:
        return GrantStatus.USED
    if grant.expires_at is not None and grant.expires_at <= now:
        return GrantStatus.EXPIRED
    return GrantStatus.ACTIVE


class GrantOut(BaseModel):
    id: int
    customer_id: int
    amount: Decimal = Field(description="Granted, in `currency`.")
    remaining: Decimal = Field(description="Not used yet (0 once voided: the void took it).")
    currency: str
    expires_at: datetime | None
    priority: int = Field(description="1 (used first) to 50 (used last).")
    description: str | None
    source: GrantSource = Field(
        description="`grant` (this API), `invoice` (an invoice whose total fell below zero granted the difference) "
        "or `credit_note` (a credit note with method `credit`)."
    )
    invoice_id: int | None = Field(description="For source `invoice`: the invoice that granted it.")
    credit_note_id: int | None = Field(description="For source `credit_note`: the credit note.")
    voided_at: datetime | None
    created_at: datetime
    status: GrantStatus = Field(
        description="At the customer's now: `voided`, else `used` (nothing left), else `expired` (something left "
        "after `expires_at`), else `active`."
    )

    @classmethod
    def of(cls, grant: CreditGrant, *, now: datetime) -> GrantOut:
        return cls(
            id=grant.id,
            customer_id=grant.customer_id,
            amount=grant.amount,
            remaining=grant.remaining,
            currency=grant.currency,
            expires_at=grant.expires_at,
            priority=grant.priority,
            description=grant.description,
            source=GrantSource(grant.source),
            invoice_id=grant.invoice_id,
            credit_note_id=grant.credit_note_id,
            voided_at=grant.voided_at,
            created_at=grant.created_at,
            status=grant_status(grant, now),
        )


class BalanceOut(BaseModel):
    balance: Decimal = Field(description="What the usable grants have left, in `currency`.")
    currency: str
    grants: list[GrantOut] = Field(
        description="The usable grants (not voided, something left, not expired), in the order invoices use them: "
        "priority, then soonest expiry (none last), then id."
    )


class LedgerEntryOut(BaseModel):
    type: LedgerType
    amount: Decimal = Field(
        description="Signed: a `grant` adds (+); a `use`, an `expiry` and a `void` take (-). A `use` with a positive "
        "amount returns credit an invoice had used, when that invoice is voided."
    )
    grant_id: int
    invoice_id: int | None = Field(description="For a `use`: the invoice that used (or, voided, returned) it.")
    at: datetime
