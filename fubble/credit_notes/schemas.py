"""Request and response bodies of the credit note routes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from fubble.api.fields import NON_BLANK_PATTERN, LongText, Quantity, Ref, not_blank
from fubble.db.models import CreditNote, CreditNoteItem, PaymentRefund
from fubble.payments.schemas import RefundOut

MAX_ITEMS = 1000

PositiveAmount = Annotated[Quantity, Field(examples=[10])]  # a number (a Decimal example would be a string)
Reason = Annotated[
    LongText,
    Field(min_length=1, max_length=1000, json_schema_extra={"pattern": NON_BLANK_PATTERN}),
    AfterValidator(not_blank),
]


def _not_null(schema: dict[str, Any]) -> None:
    """The schema of an optional field that may be left out but not sent as null: its type alone, no default."""
    options = [option for option in schema.pop("anyOf", []) if option != {"type": "null"}]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options
    schema.pop("default", None)


class CreditNoteMethod(StrEnum):
    """``credit``: the amount goes to the customer's credit balance (a grant later invoices use); ``refund``: the
    money goes back, through the payment provider when it collected the invoice, else out of band (only recorded)."""

    CREDIT = "credit"
    REFUND = "refund"


class NoteItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invoice_item_id: Ref = Field(description="An item of this invoice (422 otherwise), named once.")
    amount: PositiveAmount = Field(
        description="More than 0, with at most the currency's decimal places, and at most what remains of the item "
        "after earlier credit notes."
    )


class CreditNoteCreate(BaseModel):
    """Exactly one of ``items`` and ``amount``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"oneOf": [{"required": ["items"]}, {"required": ["amount"]}]},
    )

    # Not nullable (left out means not given); an explicit null is refused by the service, naming the field.
    items: list[NoteItemIn] | None = Field(
        None,
        min_length=1,
        max_length=MAX_ITEMS,
        description="Amounts to credit against the invoice's items.",
        json_schema_extra=_not_null,
    )
    amount: PositiveAmount | None = Field(
        None,
        description="An amount to credit against the invoice as a whole.",
        examples=[10],
        json_schema_extra=_not_null,
    )
    reason: Reason = Field(examples=["Service outage on 3 March"])
    method: CreditNoteMethod


class NoteItemOut(BaseModel):
    invoice_item_id: int
    amount: Decimal

    @classmethod
    def of(cls, item: CreditNoteItem) -> NoteItemOut:
        return cls(invoice_item_id=item.invoice_item_id, amount=item.amount)


class CreditNoteOut(BaseModel):
    id: int
    number: str = Field(description="`CN-YYYYMMDD-CUSTOMERID-NNNNNN`: the day it was made and the customer's sequence.")
    invoice_id: int
    customer_id: int
    amount: Decimal = Field(description="Credited, in the invoice's currency.")
    method: CreditNoteMethod
    reason: str | None
    items: list[NoteItemOut] = Field(description="The items it credits (empty for a note of a plain amount).")
    refund: RefundOut | None = Field(
        description="For a `refund` note of an invoice paid through the payment provider (with one configured): the "
        "refund made there. Null when the note is only recorded (a `credit` note, an invoice paid by hand or still "
        "pending, no provider)."
    )
    created_at: datetime

    @classmethod
    def of(cls, note: CreditNote, items: Sequence[CreditNoteItem], refund: PaymentRefund | None) -> CreditNoteOut:
        return cls(
            id=note.id,
            number=note.number,
            invoice_id=note.invoice_id,
            customer_id=note.customer_id,
            amount=note.amount,
            method=CreditNoteMethod(note.method),
            reason=note.reason,
            items=[NoteItemOut.of(item) for item in items],
            refund=RefundOut.of(refund) if refund is not None else None,
            created_at=note.created_at,
        )
