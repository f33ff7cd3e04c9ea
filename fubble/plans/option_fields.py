"""The request fields of a price component's charge options and of a plan's commitments, as the OpenAPI document
declares them. :func:`fubble.pricing.charges.parse_options` is the one check of a component's options (the service
runs it on what these fields let through); the schema states what it can: shapes, sizes, the types without events."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema
from pydantic.config import JsonDict

from fubble.api.fields import NO_NUL, ShortText
from fubble.api.json import FREE_NUMBER_SCHEMA, exponent_problem
from fubble.pricing.charges import MAX_CHARGE_FILTERS, MAX_FILTER_PROPERTIES, MAX_GROUPED_BY, NO_EVENTS
from fubble.pricing.filters import MAX_VALUES

PropertyName = Annotated[ShortText, Field(min_length=1, examples=["region"])]
_Scalar = Annotated[str, Field(max_length=512)] | Annotated[Decimal, WithJsonSchema(FREE_NUMBER_SCHEMA)] | bool | None


class ChargeFilterDoc(BaseModel):
    """Events whose properties match (each listed property present, with one of its values) are priced by this
    filter's ``pricing_details`` (the component's ``pricing_type``), on a line of their own. When several filters
    match an event, the one naming the most properties prices it (ties: the first listed). Two filters may not name
    the same properties with the same values."""

    model_config = ConfigDict(extra="forbid")

    properties: dict[str, Annotated[list[_Scalar], Field(min_length=1, max_length=MAX_VALUES)]] = Field(
        min_length=1,
        max_length=MAX_FILTER_PROPERTIES,
        examples=[{"region": ["eu", "uk"]}],
        json_schema_extra={"propertyNames": {"minLength": 1, "maxLength": 255, "pattern": NO_NUL}},
    )
    pricing_details: dict[str, Any] = Field(
        description="As the component's own, for its pricing_type.",
        examples=[{"tiers": [{"start": 0, "end": None, "price": 0.02}]}],  # for the component's example type, tiered
    )


def _raw_list(value: Any) -> list[Any]:
    """The filters as sent, once their property values are within the limits of free-form JSON numbers (their
    ``pricing_details`` are checked by the pricing, which names the number)."""
    if not isinstance(value, list):
        raise ValueError("must be a list of filters")
    for item in value:
        problem = exponent_problem(item.get("properties")) if isinstance(item, dict) else None
        if problem is not None:
            raise ValueError(f"properties: {problem}")
    return value


# Documented as a list of ChargeFilterDoc; kept raw so fubble.pricing.charges.parse_options names the bad entry.
ChargeFilters = Annotated[
    list[Any],
    PlainValidator(
        _raw_list, json_schema_input_type=Annotated[list[ChargeFilterDoc], Field(max_length=MAX_CHARGE_FILTERS)]
    ),
]
GroupedBy = Annotated[
    list[PropertyName], Field(min_length=1, max_length=MAX_GROUPED_BY, json_schema_extra={"uniqueItems": True})
]

GROUPED_BY = (
    "One invoice line per distinct combination of these event properties' values (e.g. per region), each rated on "
    "its own usage; an event without a property is in the group where it is absent. Not for flat, subscription and "
    "usage_based_subscription (a fee per period). null: one line."
)
FILTERS = (
    "Charge filters: events matching a filter are priced by its pricing_details on a line of their own, the rest by "
    "the component's. Not for flat, subscription and usage_based_subscription. null or []: none."
)
MIN_AMOUNT = (
    "The least the component charges per billing period: when its lines come to less, a true-up line charges the "
    "difference (prorated to the part of the period the subscription covered). With the plan's currency's decimal "
    "places at most, when the plan has a currency. null: no minimum."
)
PRORATED = (
    "true: each unit of the metric is charged for the fraction of the period it was held. Only for a metric defined "
    "with `recurring: true` (POST /metrics/)."
)
CURRENCY = (
    "ISO 4217 code the plan is priced in: only customers with this currency may subscribe (409 otherwise). null: the "
    "plan bills in each subscriber's currency. Cannot change once the plan has subscriptions (409)."
)
MINIMUM_COMMITMENT = (
    "The least a subscription to the plan is charged per billing period: when the period's charges come to less, a "
    "true-up line charges the difference. With the plan's currency's decimal places at most, when it has one. null: "
    "none."
)

# What parse_options refuses that a schema can state: no grouping or filters on a fee per period.
NO_EVENTS_RULE: JsonDict = {
    "if": {
        "properties": {"pricing_type": {"enum": [name for name in sorted(NO_EVENTS)]}},
        "required": ["pricing_type"],
    },
    "then": {
        "properties": {
            "grouped_by": {"type": "null"},
            "filters": {"anyOf": [{"type": "null"}, {"type": "array", "maxItems": 0}]},
        }
    },
}
