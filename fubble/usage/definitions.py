"""How each metric name aggregates: a row in ``metrics``, or the default (``sum`` of quantities, no filters) for a name
that only appears in plans."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any

from sqlalchemy.orm import Session

from fubble.db.models.metric import Metric
from fubble.db.types import dumps_exact, loads_exact
from fubble.metrics.repository import defined
from fubble.pricing.aggregation import Aggregation
from fubble.pricing.filters import PropertyFilter, matches, parse_filters

_EXACT = Context(prec=100)


@dataclass(frozen=True)
class MetricDefinition:
    name: str
    aggregation: Aggregation = Aggregation.sum
    property: str | None = None  # unique_count: the property whose distinct values count
    filters: tuple[PropertyFilter, ...] = ()
    allow_negative: bool = False  # events may carry negative quantities (else ingestion refuses them)
    recurring: bool = False  # the value persists into later periods until changed (sum, unique_count only)

    def counts(self, properties: Mapping[str, Any] | None) -> bool:
        """Whether an event with these properties counts towards this metric."""
        return not self.filters or matches(self.filters, properties)

    def distinct_value(self, properties: Mapping[str, Any] | None) -> str | None:
        """For unique_count: the event's value of the counted property as canonical JSON text (None if absent), so
        ``"42"`` and ``42`` are different values while ``42`` and ``42.0`` are the same one."""
        if self.property is None or properties is None or self.property not in properties:
            return None
        value = properties[self.property]
        if isinstance(value, float):  # only from non-JSON callers; stored JSON reads it back as a Decimal
            value = Decimal(repr(value))
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            value = _EXACT.normalize(Decimal(value)) if value else Decimal(0)
        return dumps_exact(value)[:512]


def of(metric: Metric) -> MetricDefinition:
    return MetricDefinition(
        name=metric.name,
        aggregation=Aggregation(metric.aggregation),
        property=metric.property,
        filters=parse_filters(metric.filters),
        allow_negative=bool(metric.allow_negative),
        recurring=bool(metric.recurring),
    )


def resolve(session: Session, names: Iterable[str], *, lock: bool = False) -> dict[str, MetricDefinition]:
    """The definition of each name: its ``metrics`` row, else the default sum.

    ``lock=True`` (event ingestion) reads the rows ``FOR SHARE`` on PostgreSQL, so a concurrent change of a metric
    (which updates its row, then rebuilds its rollups) waits for the events being recorded, or they wait for it and
    are rolled up with the new definition. SQLite serializes writers anyway.
    """
    wanted = sorted(set(names))
    found = _defined(session, wanted, lock=lock)
    return {name: found.get(name, MetricDefinition(name)) for name in wanted}


def of_rows(rows: Iterable[tuple[Any, ...]]) -> dict[str, MetricDefinition]:
    """What event ingestion needs about the metric names its events carry, from the rows of
    :func:`fubble.metrics.repository.defined_or_priced_query` (read ``FOR SHARE`` on PostgreSQL, like
    ``resolve(lock=True)``): the definition of each name an event may carry (a defined metric, or a name a plan
    prices, which sums). A name missing from the result is unknown."""
    return {row[0]: _definition(*row) for row in rows}


def _defined(session: Session, wanted: list[str], *, lock: bool) -> dict[str, MetricDefinition]:
    """The definitions of the names among ``wanted`` that have a ``metrics`` row."""
    share = lock and session.connection().dialect.name == "postgresql"
    return {row[0]: _definition(*row) for row in defined(session, wanted, share=share)}


def _definition(
    name: str,
    aggregation: str | None,
    prop: str | None,
    filters: str | None,
    allow_negative: object,
    recurring: object,
) -> MetricDefinition:
    """A definition from a raw ``metrics`` row (``filters`` as its exact JSON text; the flags as the driver gives
    booleans: ``0``/``1`` on SQLite), or the default sum (no row: ``aggregation`` ``None``)."""
    if aggregation is None:
        return MetricDefinition(name)
    return MetricDefinition(
        name,
        Aggregation(aggregation),
        prop,
        parse_filters(loads_exact(filters or "[]")),
        allow_negative=bool(allow_negative),
        recurring=bool(recurring),
    )
