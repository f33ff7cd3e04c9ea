from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from fubble.api import paths as _paths  # noqa: F401  (registers {name:rest})
from fubble.api.deps import ClockDep, PageDep, SessionDep
from fubble.api.routing import new_router
from fubble.errors_doc import responses
from fubble.metrics import service
from fubble.metrics.schemas import MetricCreate, MetricOut, MetricUpdate

router = new_router("/metrics", tag="metrics")

MetricRef = Annotated[
    str,
    Path(
        min_length=1,
        max_length=255,
        description="The metric's id (all digits) or its name.",
        examples=["api_calls"],
    ),
]


@router.post("/", status_code=201, summary="Define a metric", responses=responses(409, 422))
def create_metric(body: MetricCreate, session: SessionDep, clock: ClockDep) -> MetricOut:
    """Define how the events named `name` turn into usage. A metric may be defined before or after plans price it;
    a name plans price without a definition is the `sum` of quantities. Events for a defined metric are accepted
    even before any plan prices it.

    `property` is required for `unique_count` and refused for every other aggregation (422). `filters` are
    `{"property": ..., "eq": value}` or `{"property": ..., "in": [values]}` entries (a bad entry is a 422 naming it;
    a one-value `in` is stored as `eq`). `recurring: true` is only for `sum` and `unique_count` (422). A name
    already defined is a 409. Defining a name that already has events recomputes its usage rollups.

    `allow_negative: true` lets events carry negative quantities (otherwise refused, 422); a quantity of 0 is
    accepted for every metric. A `recurring` metric keeps its value into later periods: a `sum` is the running
    total of its events; a `unique_count` holds units, each event adding (`properties.operation` `"add"` or absent)
    or removing (`"remove"`) the unit named by its `property`."""
    return MetricOut.of(service.create(session, body, clock=clock))


@router.get("/", summary="List metrics (by id)", responses=responses(422))
def list_metrics(
    session: SessionDep,
    page: PageDep,
    include_implicit: Annotated[
        bool,
        Query(
            description="Also list the names plans price without a definition (implicit `sum`, `id` null), after "
            "the defined metrics, in code-point order."
        ),
    ] = False,
) -> list[MetricOut]:
    """The defined metrics ordered by id, paginated with `limit`/`offset`; with `include_implicit=true` the
    implicit ones follow (the pagination runs over the whole list)."""
    return service.list_page(session, include_implicit=include_implicit, limit=page.limit, offset=page.offset)


@router.get("/{metric:rest}", summary="Get a metric by id or name", responses=responses(404, 422))
def get_metric(metric: MetricRef, session: SessionDep) -> MetricOut:
    """A path of digits is an id, anything else a name. A name only plans price is returned as its implicit `sum`
    definition (`implicit: true`, `id` null)."""
    return service.get(session, metric)


@router.put(
    "/{metric:rest}", summary="Update a metric (fields present in the body)", responses=responses(404, 409, 422)
)
def update_metric(metric: MetricRef, body: MetricUpdate, session: SessionDep, clock: ClockDep) -> MetricOut:
    """Change `display_name`, `unit`, `aggregation`, `property`, `filters`, `allow_negative` or `recurring` of a
    defined metric (404 for a name only plans price: define it with `POST /metrics/` first). The name cannot
    change: a `name` other than the stored one is a 409 (conflict with the stored metric); the same name is
    accepted. `property` is required for `unique_count` and must be null for every other aggregation (the stored
    one when none is given): 422. A `recurring` metric (the stored flag when none is given) must be a `sum` or a
    `unique_count` (the stored aggregation when none is given): 422. A metric stays recurring while a component
    still in use prices it `prorated` (in a plan's latest version, or in an earlier one a subscription not yet ended
    is on): turning `recurring` off then is a 409 naming the plans.

    Changing the aggregation, property or filters recomputes the metric's usage rollups from the raw events in the
    same transaction. It is allowed even when usage was already invoiced: issued invoices keep their amounts, and
    the new definition applies to everything computed afterwards (usage, previews, invoices generated later).
    Changing `allow_negative` or `recurring` rebuilds nothing: `allow_negative` applies to events recorded
    afterwards (negative events already stored are kept and still count), `recurring` to everything computed
    afterwards."""
    return MetricOut.of(service.update(session, metric, body, clock=clock))
