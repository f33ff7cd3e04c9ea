from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from fubble.api.fields import CurrencyCode, Email, LongText, Metadata, Name, ShortText, not_null
from fubble.db.models import Customer

Currency = Annotated[CurrencyCode, Field(examples=["USD"])]


class CustomerCreate(BaseModel):
    """Both product documents' fields are accepted: the README's (company_name, billing_address, payment_method_id)
    and the guide's (phone, address, metadata)."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    email: Email
    company_name: ShortText | None = None
    billing_address: LongText | None = None
    payment_method_id: ShortText | None = None
    phone: Annotated[str, Field(max_length=64)] | None = None
    address: LongText | None = None
    metadata: Metadata = None
    currency: Currency | None = Field(None, description="ISO 4217 code; defaults to FUBBLE_DEFAULT_CURRENCY (USD).")
    external_id: ShortText | None = Field(None, description="Your own unique id for this customer.")


class CustomerUpdate(BaseModel):
    """Only the fields present in the body change; send null to clear an optional field."""

    model_config = ConfigDict(extra="forbid")

    name: Name | SkipJsonSchema[None] = not_null()
    email: Email | SkipJsonSchema[None] = not_null()
    company_name: ShortText | None = None
    billing_address: LongText | None = None
    payment_method_id: ShortText | None = None
    phone: Annotated[str, Field(max_length=64)] | None = None
    address: LongText | None = None
    metadata: Metadata = None
    currency: Currency | SkipJsonSchema[None] = not_null()
    external_id: ShortText | None = None


class CustomerOut(BaseModel):
    id: int
    name: str
    email: str
    company_name: str | None
    billing_address: str | None
    payment_method_id: str | None
    phone: str | None
    address: str | None
    metadata: dict[str, Any] | None
    currency: str
    external_id: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, customer: Customer) -> CustomerOut:
        return cls(
            id=customer.id,
            name=customer.name,
            email=customer.email,
            company_name=customer.company_name,
            billing_address=customer.billing_address,
            payment_method_id=customer.payment_method_id,
            phone=customer.phone,
            address=customer.address,
            metadata=customer.metadata_,
            currency=customer.currency,
            external_id=customer.external_id,
            created_at=customer.created_at,
            updated_at=customer.updated_at,
        )
