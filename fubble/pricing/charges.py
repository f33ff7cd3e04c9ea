"""What a price component may carry besides its pricing: grouping, charge filters, a minimum, proration. Pure.

A component (as sent by a client, and as stored) may have these optional keys next to ``pricing_type`` and
``pricing_details``; :func:`parse_options` validates them into :class:`ComponentOptions`.

Rules
-----
* ``grouped_by``: a list of 1 to 10 distinct event property names (1 to 255 characters each). The component then
  bills one line per distinct combination of those properties' values (:func:`group_key`), each rated on its own
  usage. Values compare as JSON values (numbers by value: ``1``, ``1.0`` and ``"1.0"`` as a number are one group;
  the string ``"1"`` is another); an event without a property is in the group where it is absent (shown ``(none)``),
  which is not the group of a ``null`` value.
* ``filters``: at most 50 filters ``{properties: {name: [value, ...]}, pricing_details: {...}}``. ``properties`` maps
  1 to 20 property names to 1 to 100 JSON scalars each (strings of at most 512 characters, numbers, booleans, null);
  ``pricing_details`` follows the rules of the component's own ``pricing_type``. An event matches a filter when it
  has every listed property with one of the listed values (compared as in :mod:`fubble.pricing.filters`). An event
  is priced by the most specific matching filter (the most properties; ties: the first listed), and by the
  component's own details when none matches (:func:`choose_filter`). Two filters with the same property names and
  values are refused (the second could never be chosen). A component whose pricing has no events to group or filter
  (``flat``, ``subscription``, ``usage_based_subscription``: a fee per period) may have neither ``grouped_by`` nor
  ``filters``.
* ``min_amount`` (``>= 0``): the least the component charges per billing period. When its lines for a period come to
  less, a true-up line charges the difference: ``round(min_amount * fraction) - charged``, where ``fraction`` is the
  share of the period the subscription covered (:func:`minimum_true_up`).
* ``prorated`` (a boolean, default false): each unit of a recurring metric is charged for the fraction of the period
  it was held (see :mod:`fubble.pricing.recurring`).
* Errors are :class:`~fubble.errors.InvalidInput` located at ``("grouped_by", i)``, ``("filters", i, "properties",
  ...)``, ``("filters", i, "pricing_details", ...)``, ``("min_amount",)`` or ``("prorated",)`` (the caller prefixes
  the component's own location).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow
from fractions import Fraction
from typing import Any

from pydantic_core import PydanticCustomError

from fubble.errors import InvalidInput
from fubble.pricing.filters import MAX_VALUES, Scalar, _same, _scalar
from fubble.pricing.models import PricingModel, parse_pricing
from fubble.pricing.money import round_money
from fubble.pricing.numbers import canonical, non_negative

__all__ = [
    "MAX_CHARGE_FILTERS",
    "MAX_FILTER_PROPERTIES",
    "MAX_GROUPED_BY",
    "NO_EVENTS",
    "ChargeFilter",
    "ComponentOptions",
    "EventValue",
    "choose_filter",
    "group_key",
    "group_label",
    "minimum_true_up",
    "parse_options",
]

MAX_CHARGE_FILTERS = 50
MAX_FILTER_PROPERTIES = 20
MAX_GROUPED_BY = 10
MAX_PROPERTY_NAME = 255
NO_EVENTS = frozenset({"flat", "subscription", "usage_based_subscription"})
"""Pricing types with a fee per period: nothing to group or filter."""
_EXACT = Context(prec=2000, traps=[Inexact, InvalidOperation, Overflow])


@dataclass(frozen=True)
class EventValue:
    """One event as a per-event model prices it: ``quantity`` is its value for the metric (a payment's volume),
    ``amount`` the amount property ``event_amount`` charges (currency units; ``None``: the event has none)."""

    quantity: Decimal
    amount: Decimal | None = None


@dataclass(frozen=True, eq=True)
class ChargeFilter:
    """Events whose ``properties`` match are priced by ``model`` (see the module rules)."""

    properties: Mapping[str, tuple[Scalar, ...]]
    model: PricingModel

    def matches(self, properties: Mapping[str, Any] | None) -> bool:
        """The event has every listed property, each with one of the listed values."""
        if properties is None:
            return False
        for name, values in self.properties.items():
            if name not in properties:
                return False
            if not any(_same(properties[name], value) for value in values):
                return False
        return True

    @property
    def specificity(self) -> int:
        """How many properties the filter names (more is more specific)."""
        return len(self.properties)

    def to_json(self) -> dict[str, Any]:
        return {
            "properties": {name: list(values) for name, values in self.properties.items()},
            "pricing_details": self.model.to_json(),
        }


@dataclass(frozen=True)
class ComponentOptions:
    """A component's ``grouped_by``, ``filters``, ``min_amount`` and ``prorated`` (see the module rules)."""

    grouped_by: tuple[str, ...] = ()
    filters: tuple[ChargeFilter, ...] = ()
    min_amount: Decimal | None = None
    prorated: bool = False

    def to_json(self) -> dict[str, Any]:
        """The keys that are set (an empty dict for a component without options)."""
        stored: dict[str, Any] = {}
        if self.grouped_by:
            stored["grouped_by"] = list(self.grouped_by)
        if self.filters:
            stored["filters"] = [f.to_json() for f in self.filters]
        if self.min_amount is not None:
            stored["min_amount"] = self.min_amount
        if self.prorated:
            stored["prorated"] = True
        return stored


def _name(value: object, loc: tuple[str | int, ...]) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_PROPERTY_NAME or "\x00" in value:
        raise InvalidInput.at(loc, f"must be a property name (1 to {MAX_PROPERTY_NAME} characters)")
    return value


def _list(value: object, loc: tuple[str | int, ...], low: int, high: int, what: str) -> Sequence[object]:
    if not isinstance(value, Sequence) or isinstance(value, str | bytes) or not low <= len(value) <= high:
        raise InvalidInput.at(loc, f"must be a list of {low} to {high} {what}")
    return value


def _grouped_by(raw: object) -> tuple[str, ...]:
    names = _list(raw, ("grouped_by",), 1, MAX_GROUPED_BY, "property names")
    seen: list[str] = []
    for index, value in enumerate(names):
        name = _name(value, ("grouped_by", index))
        if name in seen:
            raise InvalidInput.at(("grouped_by", index), f"{name!r} is listed twice")
        seen.append(name)
    return tuple(seen)


def _filter_properties(raw: object, loc: tuple[str | int, ...]) -> dict[str, tuple[Scalar, ...]]:
    if not isinstance(raw, Mapping) or not 1 <= len(raw) <= MAX_FILTER_PROPERTIES:
        raise InvalidInput.at(
            loc, f"must be an object of 1 to {MAX_FILTER_PROPERTIES} property names, each with a list of values"
        )
    properties: dict[str, tuple[Scalar, ...]] = {}
    for key, listed in raw.items():
        name = _name(key, loc)
        values = _list(listed, (*loc, name), 1, MAX_VALUES, "values")
        properties[name] = tuple(_scalar(value, (*loc, name, j)) for j, value in enumerate(values))
    return properties


def _same_properties(a: Mapping[str, tuple[Scalar, ...]], b: Mapping[str, tuple[Scalar, ...]]) -> bool:
    def covers(x: tuple[Scalar, ...], y: tuple[Scalar, ...]) -> bool:
        return all(any(_same(value, other) for other in y) for value in x)

    return a.keys() == b.keys() and all(covers(a[k], b[k]) and covers(b[k], a[k]) for k in a)


def _filters(pricing_type: str, raw: object) -> tuple[ChargeFilter, ...]:
    items = _list(raw, ("filters",), 0, MAX_CHARGE_FILTERS, "filters")
    result: list[ChargeFilter] = []
    for index, item in enumerate(items):
        here: tuple[str | int, ...] = ("filters", index)
        if not isinstance(item, Mapping) or set(item) != {"properties", "pricing_details"}:
            raise InvalidInput.at(here, 'must be {"properties": {...}, "pricing_details": {...}}')
        properties = _filter_properties(item["properties"], (*here, "properties"))
        for earlier, other in enumerate(result):
            if _same_properties(other.properties, properties):
                raise InvalidInput.at((*here, "properties"), f"the same properties as filter {earlier}")
        try:
            model = parse_pricing(pricing_type, item["pricing_details"])
        except InvalidInput as exc:
            raise InvalidInput(exc.entries_under(here)) from None
        result.append(ChargeFilter(properties, model))
    return tuple(result)


def _min_amount(raw: object) -> Decimal:
    try:
        return non_negative(raw)
    except PydanticCustomError as exc:
        raise InvalidInput.at(("min_amount",), exc.message()) from None


def parse_options(pricing_type: str, raw: Mapping[str, object]) -> ComponentOptions:
    """The options of a component given as JSON (``raw`` may hold other keys, which are not read); a key that is
    absent or ``null`` is not set. :class:`InvalidInput` located as the module rules say."""
    grouped_by = raw.get("grouped_by")
    filters = raw.get("filters")
    min_amount = raw.get("min_amount")
    prorated = raw.get("prorated")
    if pricing_type in NO_EVENTS:
        for key, value in (("grouped_by", grouped_by), ("filters", filters)):
            if value is not None and value != []:
                raise InvalidInput.at((key,), f"a {pricing_type} component charges a fee per period: no {key}")
    if prorated is not None and not isinstance(prorated, bool):
        raise InvalidInput.at(("prorated",), "must be true or false")
    return ComponentOptions(
        grouped_by=() if grouped_by is None else _grouped_by(grouped_by),
        filters=() if filters is None else _filters(pricing_type, filters),
        min_amount=None if min_amount is None else _min_amount(min_amount),
        prorated=bool(prorated),
    )


def choose_filter(filters: Sequence[ChargeFilter], properties: Mapping[str, Any] | None) -> int | None:
    """The index of the most specific filter ``properties`` match (ties: the first listed); ``None`` if none does."""
    chosen: int | None = None
    for index, candidate in enumerate(filters):
        if candidate.matches(properties) and (chosen is None or candidate.specificity > filters[chosen].specificity):
            chosen = index
    return chosen


def _canonical_json(value: Any) -> str:
    """JSON text of a property value, the same for equal values (numbers by value, object keys sorted)."""
    if value is None or isinstance(value, bool | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | Decimal | float):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if not number.is_finite():
            return json.dumps(str(number))
        return format(canonical(number), "f")
    if isinstance(value, Mapping):
        members = sorted((str(k), _canonical_json(v)) for k, v in value.items())
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{v}" for k, v in members) + "}"
    if isinstance(value, Sequence):
        return "[" + ",".join(_canonical_json(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def group_key(grouped_by: Sequence[str], properties: Mapping[str, Any] | None) -> tuple[str | None, ...]:
    """The group of an event: for each ``grouped_by`` property, the canonical JSON text of its value (``None`` when
    the event does not have it)."""
    properties = properties or {}
    return tuple(_canonical_json(properties[name]) if name in properties else None for name in grouped_by)


def group_label(grouped_by: Sequence[str], key: Sequence[str | None]) -> str:
    """A group for an invoice line: ``"region: eu, tier: gold"`` (strings without quotes, an absent value
    ``(none)``)."""
    parts = []
    for name, text in zip(grouped_by, key, strict=True):
        if text is None:
            shown = "(none)"
        elif text.startswith('"'):
            shown = str(json.loads(text))
        else:
            shown = text
        parts.append(f"{name}: {shown}")
    return ", ".join(parts)


def minimum_true_up(min_amount: Decimal, charged: Decimal, fraction: Fraction, currency: str) -> Decimal | None:
    """The true-up a component owes for a period whose lines came to ``charged``: ``round(min_amount * fraction) -
    charged`` when that is positive, else ``None``. ``fraction`` is the share of the period covered (1: all of it)."""
    minimum = round_money(Fraction(min_amount) * fraction, currency)
    short = round_money(Fraction(_EXACT.subtract(minimum, charged)), currency)
    return short if short > 0 else None
