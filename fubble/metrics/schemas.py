"""Request and response bodies of the metrics API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, StrictBool, WithJsonSchema
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from fubble.api.fields import NO_NUL, ShortText, not_null
from fubble.api.json import FREE_NUMBER_SCHEMA, exponent_problem
from fubble.db.models.metric import Metric
from fubble.plans.schemas import MetricName
from fubble.pricing.aggregation import Aggregation


def _not_all_digits(value: str) -> str:
    if value.isascii() and value.isdigit():
        raise ValueError("must not be all digits (GET /metrics/{metric} reads a number as the metric's id)")
    return value


DefinableName = Annotated[
    MetricName, AfterValidator(_not_all_digits), Field(json_schema_extra={"not": {"pattern": "^[0-9]+$"}})
]
Unit = Annotated[ShortText, Field(max_length=64, examples=["requests"])]
PropertyName = Annotated[ShortText, Field(min_length=1, examples=["user_id"])]


_Scalar = str | Annotated[Decimal, WithJsonSchema(FREE_NUMBER_SCHEMA)] | bool | None


class FilterDoc(BaseModel):
    """``{"property": NAME, "eq": VALUE}`` or ``{"property": NAME, "in": [VALUE, ...]}`` (exactly one of eq/in).

    An event counts when every filter holds; an event without the property fails a filter on it. Values are JSON
    scalars compared by type and value (``200`` matches ``200.0`` but not ``"200"``)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": [{"required": ["eq"]}, {"required": ["in"]}]})

    property: str = Field(min_length=1, max_length=255, examples=["method"], json_schema_extra={"pattern": NO_NUL})
    eq: _Scalar = None
    in_: Annotated[list[_Scalar], Field(min_length=1, max_length=100)] | SkipJsonSchema[None] = not_null(alias="in")


def _raw_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError("must be a list of filters")
    problem = exponent_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# Documented as a list of FilterDoc; kept raw so fubble.pricing.filters.parse_filters names the bad entry.
RawFilters = Annotated[list[Any], PlainValidator(_raw_list, json_schema_input_type=list[FilterDoc])]

_AGGREGATION = (
    "How events become usage: `sum` of quantities (the default), `count` of events, `max` quantity, `unique_count` "
    "of distinct values of `property`, `latest` quantity in the period, or `weighted_sum` (time-weighted, for "
    "gauges: each value times the fraction of the period it held)."
)
_PROPERTY = "For `unique_count` (required there, and only there): the event property whose distinct values count."
_FILTERS = "Only events whose properties pass every filter count (at most 20). Empty or null: every event counts."


_ALLOW_NEGATIVE = (
    "true: events of this metric may carry a negative quantity (corrections, a gauge going down); false (the "
    "default): a negative quantity is refused (422). A quantity of 0 is always accepted. Changing it applies to "
    "events recorded afterwards; stored events are kept."
)
_RECURRING = (
    "true: the metric's value persists into later billing periods until changed (seats, licences, storage held); "
    "only for `sum` (the running total of every event so far) and `unique_count` (the units held: an event with "
    'property `operation` `"add"` (the default) or `"remove"` adds or removes the unit named by `property`). A '
    "price component may then be `prorated`. Changing it applies to everything computed afterwards; it cannot be "
    "turned off while a component still in use prices the metric `prorated` (409)."
)
RECURRING_AGGREGATIONS = (Aggregation.sum, Aggregation.unique_count)

# What the service checks (fubble.metrics.service), declared: `property` is given with unique_count, and only then.
_PROPERTY_RULE: JsonDict = {
    "if": {"properties": {"aggregation": {"const": Aggregation.unique_count.value}}, "required": ["aggregation"]},
    "then": {"required": ["property"], "properties": {"property": {"type": "string"}}},
    "else": {"properties": {"property": {"type": "null"}}},
}
# And: a recurring metric sums or counts units (an aggregation left out is sum on create, the stored one on update).
_RECURRING_RULE: JsonDict = {
    "if": {"properties": {"recurring": {"const": True}}, "required": ["recurring"]},
    "then": {"properties": {"aggregation": {"enum": [a.value for a in RECURRING_AGGREGATIONS]}}},
}


class MetricCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={**_PROPERTY_RULE, "allOf": [_RECURRING_RULE]})

    name: DefinableName = Field(description="The `metric_name` events carry; unique, case-sensitive, not all digits.")
    display_name: ShortText | None = Field(None, examples=["API calls"])
    unit: Unit | None = None
    aggregation: Aggregation = Field(Aggregation.sum, description=_AGGREGATION)
    property: PropertyName | None = Field(None, description=_PROPERTY)
    filters: RawFilters | None = Field(None, description=_FILTERS)
    allow_negative: StrictBool = Field(False, description=_ALLOW_NEGATIVE)
    recurring: StrictBool = Field(False, description=_RECURRING)


class MetricUpdate(BaseModel):
    """Only the fields present in the body change; send null to clear `display_name`, `unit`, `property` or
    `filters`. The name cannot change (sending a different one is a 422)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"allOf": [_RECURRING_RULE]})

    name: ShortText | None = Field(None, description="Immutable: if sent, it must be the metric's current name.")
    display_name: ShortText | None = None
    unit: Unit | None = None
    aggregation: Aggregation | SkipJsonSchema[None] = not_null(description=_AGGREGATION)
    property: PropertyName | None = Field(None, description=_PROPERTY)
    filters: RawFilters | None = Field(None, description=_FILTERS)
    allow_negative: StrictBool | SkipJsonSchema[None] = not_null(description=_ALLOW_NEGATIVE)
    recurring: StrictBool | SkipJsonSchema[None] = not_null(description=_RECURRING)


class MetricOut(BaseModel):
    id: int | None = Field(description="null for an implicit metric (priced by a plan, never defined here).")
    name: str
    display_name: str | None
    unit: str | None
    aggregation: Aggregation
    property: str | None
    filters: list[dict[str, Any]]
    allow_negative: bool = Field(description=_ALLOW_NEGATIVE)
    recurring: bool = Field(description=_RECURRING)
    implicit: bool = Field(
        description="True for a name only plans price: it is the `sum` of quantities until it is defined here."
    )
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, metric: Metric) -> MetricOut:
        return cls(
            id=metric.id,
            name=metric.name,
            display_name=metric.display_name,
            unit=metric.unit,
            aggregation=Aggregation(metric.aggregation),
            property=metric.property,
            filters=list(metric.filters),
            allow_negative=bool(metric.allow_negative),
            recurring=bool(metric.recurring),
            implicit=False,
            created_at=metric.created_at,
            updated_at=metric.updated_at,
        )

    @classmethod
    def implicit_sum(cls, name: str) -> MetricOut:
        return cls(
            id=None,
            name=name,
            display_name=None,
            unit=None,
            aggregation=Aggregation.sum,
            property=None,
            filters=[],
            allow_negative=False,
            recurring=False,
            implicit=True,
            created_at=None,
            updated_at=None,
        )
