"""Request and response bodies of the plans API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool
from pydantic.json_schema import SkipJsonSchema

from fubble.api.fields import Amount, CurrencyCode, LongText, Name, ShortText, not_null
from fubble.db.models import Plan, PriceComponent
from fubble.errors import InvalidInput
from fubble.invoices.money import in_minor_units
from fubble.plans.option_fields import (
    CURRENCY,
    FILTERS,
    GROUPED_BY,
    MIN_AMOUNT,
    MINIMUM_COMMITMENT,
    NO_EVENTS_RULE,
    PRORATED,
    ChargeFilters,
    GroupedBy,
)
from fubble.pricing.charges import parse_options
from fubble.pricing.models import PRICING_TYPES, parse_pricing
from fubble.pricing.periods import BillingFrequency

MAX_COMPONENTS = 100


def _trimmed(value: str) -> str:
    if value != value.strip():
        raise ValueError("must not start or end with whitespace")
    return value


# Python's whitespace (what str.strip removes), as a character class of the schema's pattern.
_SPACE = "".join(f"\\u{code:04x}" for code in range(0x3001) if chr(code).isspace())
MetricName = Annotated[
    ShortText,
    Field(
        min_length=1,
        examples=["api_calls"],
        json_schema_extra={"pattern": f"^[^{_SPACE}\\u0000]([^\\u0000]*[^{_SPACE}\\u0000])?$"},
    ),
    AfterValidator(_trimmed),
]
"""1..255 characters, no NUL, no leading or trailing whitespace. Case-sensitive."""

PricingType = Annotated[
    str,
    Field(max_length=64, json_schema_extra={"enum": list(PRICING_TYPES)}, examples=["tiered"]),
]
"""Checked by :func:`fubble.pricing.models.parse_pricing`, which names the valid types in its error."""


TIERED_EXAMPLE = {"tiers": [{"start": 0, "end": 1000, "price": 0.01}, {"start": 1000, "end": None, "price": 0.005}]}


class PriceComponentIn(BaseModel):
    """One billable item of a plan. ``pricing_details`` must match ``pricing_type`` (see the pricing types); the
    charge options (``grouped_by``, ``filters``, ``min_amount``, ``prorated``) are optional."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=NO_EVENTS_RULE)

    metric_name: MetricName
    display_name: Name | None = Field(None, description="Shown on invoices; defaults to metric_name.")
    pricing_type: PricingType
    pricing_details: dict[str, Any] = Field(
        description="Numbers are kept exactly as written (send JSON numbers or numeric strings).",
        examples=[TIERED_EXAMPLE],
    )
    grouped_by: GroupedBy | None = Field(None, description=GROUPED_BY)
    filters: ChargeFilters | None = Field(None, description=FILTERS)
    min_amount: Amount | None = Field(None, description=MIN_AMOUNT)
    prorated: StrictBool = Field(False, description=PRORATED)


_FEES_IN_ADVANCE = (
    "true: a period's fixed fees (flat, subscription, the base fee of usage_based_subscription) are invoiced when "
    "the period starts; false: at the period's end, with its usage."
)


class PlanCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: LongText | None = None
    billing_frequency: BillingFrequency
    fees_in_advance: StrictBool = Field(False, description=_FEES_IN_ADVANCE)
    price_components: list[PriceComponentIn] = Field(
        default_factory=list,
        max_length=MAX_COMPONENTS,
        description="May be empty. Each metric_name may appear only once in a plan.",
    )
    currency: CurrencyCode | None = Field(None, description=CURRENCY, examples=["EUR"])
    minimum_commitment: Amount | None = Field(None, description=MINIMUM_COMMITMENT)


class PlanUpdate(BaseModel):
    """Only the fields present in the body change; ``description``, ``currency`` and ``minimum_commitment`` are
    cleared by ``null``."""

    model_config = ConfigDict(extra="forbid")

    name: Name | SkipJsonSchema[None] = not_null()
    description: LongText | None = None
    billing_frequency: BillingFrequency | SkipJsonSchema[None] = not_null(
        description="Cannot change once the plan has subscriptions (409)."
    )
    is_active: StrictBool | SkipJsonSchema[None] = not_null(
        description="false deactivates the plan, true re-activates it."
    )
    fees_in_advance: StrictBool | SkipJsonSchema[None] = not_null(
        description=_FEES_IN_ADVANCE + " Cannot change once the plan has subscriptions (409)."
    )
    price_components: Annotated[list[PriceComponentIn], Field(max_length=MAX_COMPONENTS)] | SkipJsonSchema[None] = (
        not_null(
            description="The plan's whole new set of components, matched to the current one by metric_name: a "
            "component with the same display_name, pricing_type, pricing_details (as numbers) and charge options is "
            "unchanged and "
            "keeps its id; the others are added, changed or removed. If subscriptions are on the plan's latest "
            "version, a change makes the next version (one per request) and those subscriptions keep theirs.",
        )
    )
    currency: CurrencyCode | None = Field(None, description=CURRENCY, examples=["EUR"])
    minimum_commitment: Amount | None = Field(None, description=MINIMUM_COMMITMENT)


class PriceComponentUpdate(BaseModel):
    """The fields to change (at least one); the result is checked as in ``POST /plans/``. ``null`` clears
    ``display_name``, ``grouped_by``, ``filters`` and ``min_amount``."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1, **NO_EVENTS_RULE})

    display_name: Name | None = Field(None, description="null: the metric_name.")
    pricing_type: PricingType | SkipJsonSchema[None] = not_null(
        description="The current pricing_details must suit a new type, or come with new ones."
    )
    pricing_details: dict[str, Any] | SkipJsonSchema[None] = not_null(
        description="Replaces the details as a whole. Numbers are kept exactly as written.",
        examples=[TIERED_EXAMPLE],
    )
    grouped_by: GroupedBy | None = Field(None, description=GROUPED_BY)
    filters: ChargeFilters | None = Field(
        None, description=FILTERS + " A new pricing_type must suit the stored filters' details, or come with new ones."
    )
    min_amount: Amount | None = Field(None, description=MIN_AMOUNT)
    prorated: StrictBool | SkipJsonSchema[None] = not_null(description=PRORATED)


class PriceComponentOut(BaseModel):
    id: int
    plan_id: int
    metric_name: str
    display_name: str
    pricing_type: str
    pricing_details: dict[str, Any]
    grouped_by: list[str] | None = Field(description=GROUPED_BY)
    filters: list[dict[str, Any]] | None = Field(description="The charge filters (null: none). " + FILTERS)
    min_amount: Decimal | None = Field(description=MIN_AMOUNT + " Written with the currency's places.")
    prorated: bool = Field(description=PRORATED)
    created_at: datetime

    @classmethod
    def of(cls, component: PriceComponent, currency: str | None) -> PriceComponentOut:
        """``currency``: the plan's (amounts are written with its decimal places; as stored without one)."""
        return cls(
            id=component.id,
            plan_id=component.plan_id,
            metric_name=component.metric_name,
            display_name=component.display_name or component.metric_name,
            pricing_type=component.pricing_type,
            pricing_details=_in_canonical_order(component.pricing_type, component.pricing_details),
            grouped_by=component.grouped_by or None,
            filters=_filters_in_canonical_order(component),
            min_amount=money(component.min_amount, currency),
            prorated=bool(component.prorated),
            created_at=component.created_at,
        )


def money(amount: Decimal | None, currency: str | None) -> Decimal | None:
    """A plan's amount as answered: with its currency's decimal places (``10`` EUR -> ``10.00``), as stored
    without a currency; an amount stored before a stricter rule is shown as stored."""
    if amount is None or currency is None:
        return amount
    try:
        return in_minor_units(amount, currency, ())
    except InvalidInput:
        return amount


def _filters_in_canonical_order(component: PriceComponent) -> list[dict[str, Any]] | None:
    """The stored filters with their keys in the documented order, or as stored if a later rule refuses them."""
    if not component.filters:
        return None
    try:
        options = parse_options(component.pricing_type, {"filters": component.filters})
    except InvalidInput:
        return component.filters
    return [f.to_json() for f in options.filters]


def _in_canonical_order(pricing_type: str, details: dict[str, Any]) -> dict[str, Any]:
    """The stored details with their keys in the documented order (``start, end, price``), whatever the storage did
    to it; details a later, stricter validator would refuse are shown as stored."""
    try:
        return parse_pricing(pricing_type, details).to_json()
    except InvalidInput:
        return details


class PlanOut(BaseModel):
    id: int
    name: str
    description: str | None
    billing_frequency: BillingFrequency
    is_active: bool
    version: int = Field(
        description="The latest version of the price components (a new plan is version 1); new subscriptions take it."
    )
    fees_in_advance: bool = Field(description=_FEES_IN_ADVANCE)
    currency: str | None = Field(description=CURRENCY)
    minimum_commitment: Decimal | None = Field(description=MINIMUM_COMMITMENT)
    created_at: datetime
    updated_at: datetime
    price_components: list[PriceComponentOut] = Field(description="The components of the latest version.")

    @classmethod
    def of(cls, plan: Plan) -> PlanOut:
        return cls(
            id=plan.id,
            name=plan.name,
            description=plan.description,
            billing_frequency=BillingFrequency(plan.billing_frequency),
            is_active=plan.is_active,
            version=plan.version,
            fees_in_advance=plan.fees_in_advance,
            currency=plan.currency,
            minimum_commitment=money(plan.minimum_commitment, plan.currency),
            created_at=plan.created_at,
            updated_at=plan.updated_at,
            price_components=[PriceComponentOut.of(c, plan.currency) for c in plan.price_components],
        )


class PlanVersionOut(BaseModel):
    version: int
    created_at: datetime = Field(description="When the version began (version 1: when the plan was created).")
    price_components: list[PriceComponentOut] = Field(description="The components that price this version, by id.")
