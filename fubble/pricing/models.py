"""The pricing types a price component can have, and the rules their ``pricing_details`` must follow.

Numbers
-------
Every number in ``pricing_details`` may be a JSON number (``int`` or ``Decimal``, as the exact JSON loader gives
them) or a numeric string (``"0.01"``, ``"1e3"``). Refused: booleans, binary floats (their value is not what was
written), NaN, Infinity, strings that are not plain decimal numbers, and magnitudes from 1e24 up or with more than 20
decimal places. Numbers are stored canonically: exact value, no exponent, no trailing zeros (``"10.00"`` -> ``10``,
``1E+3`` -> ``1000``). Money amounts and prices are ``>= 0``. (The validators: :mod:`fubble.pricing.numbers`.)

Types (``pricing_type``: ``pricing_details``)
---------------------------------------------
* ``flat``: ``{amount}``. Charged in full once per billing period, never prorated.
* ``subscription``: ``{amount}``. Charged per billing period, prorated by the share of the period billed.
* ``tiered`` (graduated) and ``volume``: ``{tiers: [{start, end, price, flat_amount?}, ...]}``, 1 to 100 tiers
  (the tiers and their rules: :mod:`fubble.pricing.tiers`). If the last tier has a finite end, usage at or above it
  is still priced by the last tier (for both types).
* ``package``: ``{package_size > 0, package_price >= 0, free_units? >= 0}``. Usage past the free units is sold in
  whole packages (rounded up).
* ``usage_based_subscription``: ``{base_fee >= 0, usage_price >= 0}``. A prorated base fee plus usage x price.
* ``time_based``: ``{rate_per_unit >= 0, unit, event_unit?}``, units one of ``second|minute|hour|day``. The events'
  quantities are durations in ``event_unit`` (default: ``unit``); usage is converted exactly into ``unit`` and priced
  at ``rate_per_unit`` (events in seconds on a plan priced per hour: 5,400 seconds are 1.5 hours).
* ``dynamic``: ``{formula, <name>: <number>, ...}``. ``formula`` is a :mod:`fubble.pricing.formula` expression giving
  the unit price; every other key is a numeric formula variable (any sign) whose name must be a valid formula
  identifier other than ``usage`` and ``formula`` (at most 50). In the formula, ``usage`` is the usage being
  priced, details keys are their numbers, and every other name is an EXTERNAL FACTOR (e.g. ``market_factor``)
  whose current value comes from outside (0 if never set): see :attr:`DynamicPricing.factor_names`.
* ``percentage``: ``{rate >= 0, fixed_amount? >= 0, free_units_per_events? (an integer >= 0),
  free_units_per_total_aggregation? >= 0, per_transaction_min_amount? >= 0, per_transaction_max_amount? >= 0}``, a
  percent (``rate: 1.5`` is 1.5 %) of each event's value plus a fixed amount per event; the minimum may not exceed
  the maximum. A ``free_units_per_events`` or ``free_units_per_total_aggregation`` of 0 means no such allowance.
* ``graduated_percentage``: ``{tiers: [{start, end, rate, flat_amount?}, ...]}``, tiers as for ``tiered`` with a
  percent ``rate`` instead of a unit price.
* ``event_amount``: ``{amount_property}``, the event property (1 to 255 characters) that carries each event's price
  in currency units.

Optional keys (``end`` aside) that are not set are left out of the stored details, so details stored before a key
existed read back unchanged.

Any key not listed for a type is refused (422 naming the key). :func:`parse_pricing` raises
:class:`~fubble.errors.InvalidInput` whose entries are located at ``("pricing_details", ...)``, or at
``("pricing_type",)`` for an unknown type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Annotated, Any, ClassVar, TypeAlias, cast

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, PrivateAttr, ValidationError, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from fubble.errors import InvalidInput
from fubble.pricing.formula import FUNCTIONS, Formula, compile_formula
from fubble.pricing.numbers import (
    MAX_DECIMAL_PLACES,
    MAX_INTEGER_DIGITS,
    NonNegative,
    NonNegativeInteger,
    Number,
    OptionalNonNegative,
    Positive,
)
from fubble.pricing.tiers import PercentageTier, Tier, TierBase, check_bands

__all__ = [
    "MAX_DECIMAL_PLACES",
    "MAX_INTEGER_DIGITS",
    "MAX_PROPERTY_NAME",
    "MAX_TIERS",
    "MAX_VARIABLES",
    "PRICING_TYPES",
    "RESERVED_NAMES",
    "DynamicPricing",
    "EventAmountPricing",
    "FlatPricing",
    "GraduatedPercentagePricing",
    "PackagePricing",
    "PercentagePricing",
    "PricingModel",
    "SubscriptionPricing",
    "TieredPricing",
    "TimeBasedPricing",
    "TimeUnit",
    "UsageBasedSubscriptionPricing",
    "VolumePricing",
    "parse_pricing",
]

MAX_TIERS = 100
MAX_VARIABLES = 50
MAX_PROPERTY_NAME = 255
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# Names a formula reads as something other than a details variable or an external factor.
RESERVED_NAMES = frozenset({"usage", "formula"}) | FUNCTIONS


# --- models -----------------------------------------------------------------------------------------------------


class _Details(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pricing_type: ClassVar[str]

    def to_json(self) -> dict[str, Any]:
        """Canonical ``pricing_details`` for storage (numbers stay ``Decimal``); optional keys not set are left out."""
        return self.model_dump(mode="python", exclude_none=True)


class FlatPricing(_Details):
    """``flat``: ``amount`` once per billing period, in full (never prorated)."""

    pricing_type: ClassVar[str] = "flat"
    amount: NonNegative


class SubscriptionPricing(_Details):
    """``subscription``: ``amount`` per billing period, prorated by the share of the period billed."""

    pricing_type: ClassVar[str] = "subscription"
    amount: NonNegative


class _TierTable(_Details):
    tier_model: ClassVar[type[TierBase]] = Tier
    tiers: tuple[Tier, ...] = Field(min_length=1, max_length=MAX_TIERS)

    @model_validator(mode="after")
    def _check_tiers(self) -> _TierTable:
        """Tiers are contiguous from 0, each ``start < end``; only the last may be open-ended."""
        check_bands(self.tiers)
        return self

    def to_json(self) -> dict[str, Any]:
        return {"tiers": [t.band_json() for t in self.tiers]}

    def tier_for(self, usage: Decimal) -> Tier:
        """The tier with ``start <= usage < end``; the last tier for usage at or beyond the last end."""
        for tier in self.tiers:
            if tier.end is None or usage < tier.end:
                return tier
        return self.tiers[-1]


class TieredPricing(_TierTable):
    """``tiered`` (graduated): each unit is priced by the tier it falls in (units past a finite last end: last)."""

    pricing_type: ClassVar[str] = "tiered"


class VolumePricing(_TierTable):
    """``volume``: the one tier that contains the total usage prices ALL units (at/above a finite last end: last)."""

    pricing_type: ClassVar[str] = "volume"


class PackagePricing(_Details):
    """``package``: usage past ``free_units`` (optional) is sold in whole packages of ``package_size`` units (partly
    used packages count)."""

    pricing_type: ClassVar[str] = "package"
    package_size: Positive
    package_price: NonNegative
    free_units: OptionalNonNegative = None


class UsageBasedSubscriptionPricing(_Details):
    """``usage_based_subscription``: prorated ``base_fee`` per period plus ``usage_price`` per unit."""

    pricing_type: ClassVar[str] = "usage_based_subscription"
    base_fee: NonNegative
    usage_price: NonNegative


class TimeUnit(StrEnum):
    """The unit a ``time_based`` usage is measured in."""

    second = "second"
    minute = "minute"
    hour = "hour"
    day = "day"

    @property
    def seconds(self) -> int:
        """Length of one unit in seconds."""
        return {"second": 1, "minute": 60, "hour": 3600, "day": 86400}[self.value]


class TimeBasedPricing(_Details):
    """``time_based``: ``rate_per_unit`` for each ``unit`` (second/minute/hour/day) of usage, the usage being reported
    by the events in ``event_unit`` (``None``: the same as ``unit``)."""

    pricing_type: ClassVar[str] = "time_based"
    rate_per_unit: NonNegative
    unit: TimeUnit
    event_unit: TimeUnit | None = None

    @property
    def events_in(self) -> TimeUnit:
        """The unit the events' quantities are in."""
        return self.unit if self.event_unit is None else self.event_unit

    @property
    def to_unit(self) -> Fraction:
        """How many ``unit`` one ``event_unit`` is, exactly (second -> hour: 1/3600)."""
        return Fraction(self.events_in.seconds, self.unit.seconds)

    def to_json(self) -> dict[str, Any]:
        stored: dict[str, Any] = {"rate_per_unit": self.rate_per_unit, "unit": self.unit.value}
        if self.event_unit is not None:
            stored["event_unit"] = self.event_unit.value
        return stored


class DynamicPricing(_Details):
    """``dynamic``: the unit price is ``formula`` evaluated over ``usage``, ``variables`` and external factors.

    Built from flat ``pricing_details`` by :meth:`from_details` (``{"formula": ..., "base_rate": 0.15}``).
    """

    pricing_type: ClassVar[str] = "dynamic"
    formula: str
    variables: dict[str, Number] = Field(default_factory=dict, max_length=MAX_VARIABLES)
    _compiled: Formula = PrivateAttr()

    @model_validator(mode="after")
    def _check_formula(self) -> DynamicPricing:
        for name in self.variables:
            if name in RESERVED_NAMES or not _IDENTIFIER.fullmatch(name):
                raise InvalidInput.at(
                    ("pricing_details", name),
                    f"{name!r} cannot be a formula variable: use letters, digits and '_' (letter first), "
                    f"and none of {', '.join(sorted(RESERVED_NAMES))}",
                )
        self._compiled = compile_formula(self.formula, loc=("pricing_details", "formula"))
        return self

    @classmethod
    def from_details(cls, details: Mapping[str, object]) -> DynamicPricing:
        """Parse flat details: ``formula`` plus numeric variables."""
        data: dict[str, object] = {"variables": {key: value for key, value in details.items() if key != "formula"}}
        if "formula" in details:
            data["formula"] = details["formula"]
        return cls.model_validate(data)

    @property
    def compiled(self) -> Formula:
        """The compiled formula."""
        return self._compiled

    @property
    def factor_names(self) -> frozenset[str]:
        """Names in the formula that are neither ``usage`` nor a variable: external factors, 0 when unset."""
        return self._compiled.names - {"usage"} - self.variables.keys()

    def to_json(self) -> dict[str, Any]:
        return {"formula": self.formula, **self.variables}


class PercentagePricing(_Details):
    """``percentage``: ``rate`` percent of each event's value plus ``fixed_amount`` per event, after the free
    allowances, each event's charge kept within the per-transaction bounds (rules: :mod:`fubble.pricing.per_event`)."""

    pricing_type: ClassVar[str] = "percentage"
    rate: NonNegative
    fixed_amount: OptionalNonNegative = None
    free_units_per_events: NonNegativeInteger | None = None
    free_units_per_total_aggregation: OptionalNonNegative = None
    per_transaction_min_amount: OptionalNonNegative = None
    per_transaction_max_amount: OptionalNonNegative = None

    @model_validator(mode="after")
    def _check_bounds(self) -> PercentagePricing:
        low, high = self.per_transaction_min_amount, self.per_transaction_max_amount
        if low is not None and high is not None and low > high:
            raise InvalidInput.at(
                ("pricing_details", "per_transaction_max_amount"),
                f"must be greater than or equal to per_transaction_min_amount ({low}), not {high}",
            )
        return self


class GraduatedPercentagePricing(_Details):
    """``graduated_percentage``: each part of the usage is charged the ``rate`` percent of the tier it falls in, plus
    the ``flat_amount`` of every tier reached (tiers as for ``tiered``)."""

    pricing_type: ClassVar[str] = "graduated_percentage"
    tier_model: ClassVar[type[TierBase]] = PercentageTier
    tiers: tuple[PercentageTier, ...] = Field(min_length=1, max_length=MAX_TIERS)

    @model_validator(mode="after")
    def _check_tiers(self) -> GraduatedPercentagePricing:
        """Tiers are contiguous from 0, each ``start < end``; only the last may be open-ended."""
        check_bands(self.tiers)
        return self

    def to_json(self) -> dict[str, Any]:
        return {"tiers": [t.band_json() for t in self.tiers]}


def _property_name(value: object) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "must be a property name (a string)")
    if not 1 <= len(value) <= MAX_PROPERTY_NAME or "\x00" in value:
        raise PydanticCustomError("string_value", f"must be a property name (1 to {MAX_PROPERTY_NAME} characters)")
    return value


PropertyName = Annotated[str, PlainValidator(_property_name, json_schema_input_type=str)]
"""An event property name: 1 to 255 characters, no NUL."""


class EventAmountPricing(_Details):
    """``event_amount``: each event is charged the amount (currency units) its ``amount_property`` carries."""

    pricing_type: ClassVar[str] = "event_amount"
    amount_property: PropertyName


PricingModel: TypeAlias = (
    FlatPricing
    | SubscriptionPricing
    | TieredPricing
    | VolumePricing
    | PackagePricing
    | UsageBasedSubscriptionPricing
    | TimeBasedPricing
    | DynamicPricing
    | PercentagePricing
    | GraduatedPercentagePricing
    | EventAmountPricing
)

_MODELS: dict[str, type[_Details]] = {
    model.pricing_type: model
    for model in (
        FlatPricing,
        SubscriptionPricing,
        TieredPricing,
        VolumePricing,
        PackagePricing,
        UsageBasedSubscriptionPricing,
        TimeBasedPricing,
        DynamicPricing,
        PercentagePricing,
        GraduatedPercentagePricing,
        EventAmountPricing,
    )
}
PRICING_TYPES: tuple[str, ...] = tuple(_MODELS)
"""Every valid ``pricing_type``."""


def _entry(pricing_type: str, error: ErrorDetails) -> dict[str, Any]:
    loc = list(error["loc"])
    if pricing_type == "dynamic" and loc[:1] == ["variables"]:
        loc = loc[1:]  # variables are flat keys of pricing_details
    msg = error["msg"]
    if error["type"] == "extra_forbidden" and loc:
        model = _MODELS[pricing_type]
        tier_model: type[TierBase] | None = getattr(model, "tier_model", None)
        fields = tier_model.model_fields if len(loc) > 1 and tier_model is not None else model.model_fields
        allowed = ", ".join(fields)
        msg = f"unknown key {loc[-1]!r}; allowed keys: {allowed}"
    return {"loc": ["pricing_details", *loc], "msg": msg, "type": error["type"]}


def parse_pricing(pricing_type: str, details: object) -> PricingModel:
    """Validate ``details`` for ``pricing_type`` and return its model; :class:`InvalidInput` listing what is wrong."""
    model = _MODELS.get(pricing_type) if isinstance(pricing_type, str) else None
    if model is None:
        raise InvalidInput.at(
            ("pricing_type",), f"unknown pricing type {pricing_type!r}; expected one of: {', '.join(PRICING_TYPES)}"
        )
    if not isinstance(details, Mapping):
        raise InvalidInput.at(("pricing_details",), f"must be an object, not {type(details).__name__}")
    try:
        if model is DynamicPricing:
            parsed: _Details = DynamicPricing.from_details(details)
        else:
            parsed = model.model_validate(dict(details))
    except ValidationError as exc:
        errors = exc.errors()
        # A list whose items failed also reports "too short" (it counts valid items only): noise, drop it.
        failed_inside = {error["loc"][:cut] for error in errors for cut in range(len(error["loc"]))}
        errors = [e for e in errors if not (e["type"] == "too_short" and e["loc"] in failed_inside)]
        raise InvalidInput([_entry(pricing_type, error) for error in errors]) from None
    return cast("PricingModel", parsed)
