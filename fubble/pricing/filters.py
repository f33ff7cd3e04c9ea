"""Which events a metric counts: equality and in-list filters on event properties. Pure.

A filter is ``{"property": NAME, "eq": VALUE}`` or ``{"property": NAME, "in": [VALUE, ...]}``. An event passes a
metric's filters when every filter holds (AND); an event without the property fails a filter on it. Values compare as
JSON scalars (strings, numbers by value, booleans, null): ``{"eq": 200}`` matches ``200`` and ``200.0`` but not
``"200"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fubble.errors import InvalidInput

__all__ = ["MAX_FILTERS", "MAX_VALUES", "PropertyFilter", "matches", "parse_filters"]

MAX_FILTERS = 20
MAX_VALUES = 100
Scalar = str | int | Decimal | bool | None


@dataclass(frozen=True)
class PropertyFilter:
    property: str
    values: tuple[Scalar, ...]

    def holds(self, properties: Mapping[str, Any] | None) -> bool:
        if properties is None or self.property not in properties:
            return False
        return any(_same(properties[self.property], v) for v in self.values)

    def to_json(self) -> dict[str, Any]:
        if len(self.values) == 1:
            return {"property": self.property, "eq": self.values[0]}
        return {"property": self.property, "in": list(self.values)}


def _same(actual: Any, wanted: Scalar) -> bool:
    if isinstance(actual, bool) or isinstance(wanted, bool):
        return type(actual) is type(wanted) and actual == wanted
    if isinstance(actual, int | Decimal) and isinstance(wanted, int | Decimal):
        return Decimal(actual) == Decimal(wanted)
    if isinstance(actual, float):  # never produced by fubble's JSON parsing; compare exactly if a caller passes one
        return isinstance(wanted, int | Decimal) and Decimal(repr(actual)) == Decimal(wanted)
    return type(actual) is type(wanted) and actual == wanted


def _scalar(value: Any, loc: tuple[str | int, ...]) -> Scalar:
    if value is None or isinstance(value, str | bool | int | Decimal):
        if isinstance(value, str) and len(value) > 512:
            raise InvalidInput.at(loc, "filter values are at most 512 characters")
        return value
    raise InvalidInput.at(loc, "filter values must be strings, numbers, booleans or null")


def parse_filters(raw: Any, loc: tuple[str | int, ...] = ("filters",)) -> tuple[PropertyFilter, ...]:
    """Validate filters as sent by a client (a list of objects); raises InvalidInput naming the bad entry."""
    if raw is None:
        return ()
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise InvalidInput.at(loc, "must be a list of filters")
    if len(raw) > MAX_FILTERS:
        raise InvalidInput.at(loc, f"at most {MAX_FILTERS} filters")
    result = []
    for i, item in enumerate(raw):
        where = (*loc, i)
        if not isinstance(item, Mapping):
            raise InvalidInput.at(where, 'must be {"property": ..., "eq": ...} or {"property": ..., "in": [...]}')
        keys = set(item)
        prop = item.get("property")
        if not isinstance(prop, str) or not 1 <= len(prop) <= 255 or "\x00" in prop:
            raise InvalidInput.at((*where, "property"), "must be a property name (1 to 255 characters)")
        if keys == {"property", "eq"}:
            values: tuple[Scalar, ...] = (_scalar(item["eq"], (*where, "eq")),)
        elif keys == {"property", "in"}:
            listed = item["in"]
            if not isinstance(listed, Sequence) or isinstance(listed, str) or not 1 <= len(listed) <= MAX_VALUES:
                raise InvalidInput.at((*where, "in"), f"must be a list of 1 to {MAX_VALUES} values")
            values = tuple(_scalar(v, (*where, "in", j)) for j, v in enumerate(listed))
        else:
            raise InvalidInput.at(where, 'must have exactly "property" and one of "eq" or "in"')
        result.append(PropertyFilter(prop, values))
    return tuple(result)


def matches(filters: Sequence[PropertyFilter], properties: Mapping[str, Any] | None) -> bool:
    return all(f.holds(properties) for f in filters)
