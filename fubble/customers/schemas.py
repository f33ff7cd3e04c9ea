from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, field_validator
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy.orm import Session, object_session

from fubble.api.fields import CurrencyCode, Email, LongText, Metadata, Name, Ref, ShortText, not_boolean, not_null
from fubble.db.models import Customer
from fubble.documents.locales import DEFAULT_LOCALE, check_locale, known_locales
from fubble.pricing.periods import known_zones
from fubble.taxes.repository import chosen_ids

Currency = Annotated[CurrencyCode, Field(examples=["USD"])]
MAX_GRACE_PERIOD_HOURS = 8760  # a year

Timezone = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        examples=["America/New_York"],
        json_schema_extra={"enum": known_zones()},  # exactly the names zone() accepts on this installation
        description="IANA time zone name in which the customer's billing periods start (local midnight, the 1st of "
        "the month); an unknown name is a 422.",
    ),
]
GracePeriodHours = Annotated[
    int,
    Field(
        ge=0,
        le=MAX_GRACE_PERIOD_HOURS,
        description="Hours a period's invoice stays a draft (refreshed with late usage) before it is finalized, "
        f"0..{MAX_GRACE_PERIOD_HOURS}; null: the server default FUBBLE_GRACE_PERIOD_HOURS.",
    ),
    BeforeValidator(not_boolean),
]
# Checked by the models' validators (so that a 422 names body.locale itself, whichever model).
LocaleName = Annotated[
    str,
    Field(
        examples=["de_DE"],
        json_schema_extra={"enum": list(known_locales())},  # exactly the names check_locale accepts here
        description="The locale (a Babel/CLDR name such as en_US, de_DE, fr_FR) in which the customer's invoice "
        "documents write amounts and dates; an unknown name is a 422.",
    ),
]


def _known_locale(value: str | None) -> str | None:
    return None if value is None else check_locale(value)


MAX_TAX_RATES = 100
TaxRateIds = Annotated[
    list[Ref],
    Field(
        max_length=MAX_TAX_RATES,
        description="The tax rates (ids, each once) this customer's invoices are taxed at, instead of the rates that "
        "apply by default; [] (the default): the default rates. An unknown id is a 422.",
    ),
]
_TAX_EXEMPT = "Never taxed: the rates chosen for it, or applying by default, are ignored."


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
    timezone: Timezone = "UTC"
    invoice_grace_period_hours: GracePeriodHours | None = None
    test_clock_id: Ref | None = Field(
        None,
        description="A test clock (404 if unknown): the customer then lives at that clock's time. Set only here, "
        "when the customer is created.",
    )
    tax_rate_ids: TaxRateIds = []
    tax_exempt: StrictBool = Field(False, description=_TAX_EXEMPT)
    locale: LocaleName = DEFAULT_LOCALE

    _locale = field_validator("locale")(_known_locale)


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
    timezone: Timezone | SkipJsonSchema[None] = not_null()
    invoice_grace_period_hours: GracePeriodHours | None = None
    tax_rate_ids: TaxRateIds | SkipJsonSchema[None] = not_null()
    tax_exempt: StrictBool | SkipJsonSchema[None] = not_null(description=_TAX_EXEMPT)
    locale: LocaleName | SkipJsonSchema[None] = not_null()
    _locale = field_validator("locale")(_known_locale)
    # Not updatable: accepted here only to answer a 422 that says so (the document does not declare it).
    test_clock_id: SkipJsonSchema[Any] = None


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
    timezone: str = Field(description="IANA time zone of the customer's billing periods.")
    invoice_grace_period_hours: int | None = Field(
        description="Hours an invoice stays a draft before it is finalized; null: the server default "
        "(FUBBLE_GRACE_PERIOD_HOURS)."
    )
    test_clock_id: int | None = Field(description="The test clock whose time the customer lives at, if any.")
    tax_rate_ids: list[int] = Field(
        description="The tax rates chosen for this customer, by id ([]: the rates that apply by default)."
    )
    tax_exempt: bool = Field(description=_TAX_EXEMPT)
    locale: str = Field(description="The locale of the customer's invoice documents (amounts and dates).")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, customer: Customer, tax_rate_ids: list[int] | None = None) -> CustomerOut:
        """The customer as the API answers it; its ``tax_rate_ids`` are read from its session unless given."""
        if tax_rate_ids is None:
            session = object_session(customer)
            assert session is not None  # customers come from a request's session
            tax_rate_ids = chosen_ids(session, [customer.id])[customer.id]
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
            timezone=customer.timezone,
            invoice_grace_period_hours=customer.invoice_grace_period_hours,
            test_clock_id=customer.test_clock_id,
            tax_rate_ids=tax_rate_ids,
            tax_exempt=customer.tax_exempt,
            locale=customer.locale,
            created_at=customer.created_at,
            updated_at=customer.updated_at,
        )

    @classmethod
    def page(cls, session: Session, customers: list[Customer]) -> list[CustomerOut]:
        """Many customers, their ``tax_rate_ids`` read in one query."""
        chosen = chosen_ids(session, [customer.id for customer in customers])
        return [cls.of(customer, chosen[customer.id]) for customer in customers]
