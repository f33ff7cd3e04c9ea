"""Metric definitions: how the events of a ``metric_name`` turn into usage.

A name priced by a plan but never defined here is implicitly the ``sum`` of quantities with no filters. Defining a
metric (or changing its aggregation, property or filters) rebuilds its usage rollups from the raw events in the same
transaction, so every usage read afterwards (usage endpoints, previews, invoices generated from then on) follows the
new definition. Invoices already issued keep their amounts: a change affects only what is computed after it.

Two flags say more about a metric's events (neither changes its rollups, so changing them rebuilds nothing):

* ``allow_negative``: events may carry a negative quantity (ingestion refuses one otherwise, see
  :func:`fubble.events.service.negative_quantity`); a quantity of 0 is accepted for every metric. Turning it off
  keeps the negative events already stored (they still count); only later events are checked.
* ``recurring`` (``sum`` and ``unique_count`` only): the value persists into later periods until changed. A
  recurring ``sum`` is the running total of all its events; a recurring ``unique_count`` holds the units named by
  ``property``: an event whose property ``operation`` is ``"add"`` (or absent) adds its unit, ``"remove"`` removes
  it. Events are stored as they come (the billing engine reads the raw events); a price component of a recurring
  metric may be ``prorated``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from fubble.api.fields import MAX_ID
from fubble.clock import Clock
from fubble.db.models.metric import Metric
from fubble.errors import Conflict, InvalidInput, NotFound
from fubble.metrics import repository
from fubble.metrics.schemas import RECURRING_AGGREGATIONS, MetricCreate, MetricOut, MetricUpdate
from fubble.pricing.aggregation import Aggregation
from fubble.pricing.filters import parse_filters
from fubble.usage import definitions
from fubble.usage.definitions import MetricDefinition


def create(session: Session, data: MetricCreate, *, clock: Clock) -> Metric:
    filters = _stored_filters(data.filters)
    _check_property(data.aggregation, data.property)
    _check_recurring(data.aggregation, data.recurring, given=("body", "recurring"))
    if repository.get_by_name(session, data.name) is not None:
        raise Conflict(f"a metric named {data.name!r} already exists")
    now = clock.now()
    metric = Metric(
        name=data.name,
        display_name=data.display_name,
        unit=data.unit,
        aggregation=data.aggregation.value,
        property=data.property,
        filters=filters,
        allow_negative=data.allow_negative,
        recurring=data.recurring,
        created_at=now,
        updated_at=now,
    )
    session.add(metric)
    session.flush()
    # Until now the name (if plans priced it) was the plain sum: rebuild when the definition says otherwise.
    if _rollup_rules(definitions.of(metric)) != _rollup_rules(MetricDefinition(metric.name)):
        _rebuild(session, metric.name)
    return metric


def update(session: Session, ref: str, data: MetricUpdate, *, clock: Clock) -> Metric:
    metric = _defined(session, ref)
    changes = data.model_dump(exclude_unset=True)
    if "name" in changes and changes.pop("name") != metric.name:
        raise Conflict(f"metric {metric.name!r}: a metric's name cannot change (events refer to it)")
    for field in ("aggregation", "allow_negative", "recurring"):
        if field in changes and changes[field] is None:
            raise InvalidInput.at(("body", field), f"{field} cannot be cleared")
    if "filters" in changes:
        changes["filters"] = _stored_filters(changes["filters"])
    aggregation = Aggregation(changes.get("aggregation", metric.aggregation))
    _check_property(aggregation, changes.get("property", metric.property))
    recurring = changes.get("recurring", metric.recurring)
    _check_recurring(aggregation, recurring, given=("body", "recurring" if "recurring" in changes else "aggregation"))
    if metric.recurring and not recurring:
        _check_not_prorated(session, metric.name, clock.now())
    before = _rollup_rules(definitions.of(metric))
    for field, value in changes.items():
        setattr(metric, field, value.value if isinstance(value, Aggregation) else value)
    metric.updated_at = clock.now()
    session.flush()
    if _rollup_rules(definitions.of(metric)) != before:
        _rebuild(session, metric.name)
    return metric


def get(session: Session, ref: str) -> MetricOut:
    """A defined metric, or the implicit ``sum`` of a name only plans price."""
    metric = _find(session, ref)
    if metric is not None:
        return MetricOut.of(metric)
    if not _is_id(ref) and repository.priced_by_plans(session, ref):
        return MetricOut.implicit_sum(ref)
    raise NotFound(_not_found(ref))


def list_page(session: Session, *, include_implicit: bool, limit: int, offset: int) -> list[MetricOut]:
    """Defined metrics by id; with ``include_implicit``, followed by the plan-only names in code-point order."""
    page = [MetricOut.of(m) for m in repository.list_page(session, limit=limit, offset=offset)]
    if not include_implicit or len(page) == limit:
        return page
    skip = max(offset - repository.count(session), 0)
    names = repository.implicit_names(session)[skip : skip + limit - len(page)]
    return page + [MetricOut.implicit_sum(name) for name in names]


def _defined(session: Session, ref: str) -> Metric:
    metric = _find(session, ref)
    if metric is not None:
        return metric
    if not _is_id(ref) and repository.priced_by_plans(session, ref):
        raise NotFound(
            f"metric {ref!r} is not defined (plans price it as the implicit sum); define it with POST /metrics/"
        )
    raise NotFound(_not_found(ref))


def _find(session: Session, ref: str) -> Metric | None:
    if _is_id(ref):
        metric_id = int(ref)
        # An id beyond the column's range names no metric: 404, like any other unknown id.
        return repository.get(session, metric_id) if 1 <= metric_id <= MAX_ID else None
    return repository.get_by_name(session, ref)


def _not_found(ref: str) -> str:
    return f"metric {ref} not found" if _is_id(ref) else f"metric {ref!r} not found"


def _is_id(ref: str) -> bool:
    """``ref`` is the metric's id when it is all (ASCII) digits, else its name."""
    return ref.isascii() and ref.isdigit()


def _stored_filters(raw: Any) -> list[dict[str, Any]]:
    return [f.to_json() for f in parse_filters(raw, ("body", "filters"))]


def _check_property(aggregation: Aggregation, prop: str | None) -> None:
    if aggregation is Aggregation.unique_count and prop is None:
        raise InvalidInput.at(("body", "property"), "unique_count needs the property whose distinct values count")
    if aggregation is not Aggregation.unique_count and prop is not None:
        raise InvalidInput.at(
            ("body", "property"), f"property is only for unique_count, not {aggregation.value} (send null to clear it)"
        )


def _check_recurring(aggregation: Aggregation, recurring: bool, *, given: tuple[str, ...]) -> None:
    if recurring and aggregation not in RECURRING_AGGREGATIONS:
        raise InvalidInput.at(
            given,
            f"a recurring metric is a sum or a unique_count, not {aggregation.value} (recurring: false, or change "
            "the aggregation)",
        )


def _check_not_prorated(session: Session, name: str, now: datetime) -> None:
    """A metric stops being recurring only when no component still in use prorates it (409 otherwise): a prorated
    component charges each unit for the share of the period it was held, which only a recurring metric has."""
    plans = repository.prorated_by(session, name, now)
    if plans:
        raise Conflict(
            f"metric {name!r} stays recurring: plan(s) {', '.join(map(str, plans))} price it with prorated: true "
            "(in the latest version, or in one a subscription is still on); set prorated to false "
            "(PUT /plans/{plan_id}/components/{component_id}), and let the subscriptions on earlier versions change "
            "plan or end, first"
        )


def _rollup_rules(definition: MetricDefinition) -> tuple[Any, ...]:
    """What the usage rollups of a metric depend on (a change of it rebuilds them; the flags do not)."""
    return definition.aggregation, definition.property, definition.filters


def _rebuild(session: Session, name: str) -> None:
    from fubble.usage import rollup_rebuild

    rollup_rebuild.rebuild(session, name)
