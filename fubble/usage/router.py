"""GET /customers/{customer_id}/usage: a customer's usage per metric as a time series."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from fubble.api.deps import CustomerId, SessionDep
from fubble.api.fields import ShortText
from fubble.api.routing import new_router
from fubble.errors_doc import responses
from fubble.events.schemas import QueryTime
from fubble.usage import service
from fubble.usage.buckets import Granularity
from fubble.usage.schemas import UsageSeriesOut

router = new_router("/customers", tag="usage")


@router.get(
    "/{customer_id}/usage",
    summary="A customer's usage per metric over time",
    responses=responses(404, 422),
)
def customer_usage_series(
    customer_id: CustomerId,
    session: SessionDep,
    start_date: Annotated[
        QueryTime, Query(description="Start of the window (ISO 8601; naive means UTC).", examples=["2024-01-01"])
    ],
    end_date: Annotated[
        QueryTime,
        Query(
            description="End of the window, exclusive: the window is [start_date, end_date).", examples=["2024-02-01"]
        ),
    ],
    granularity: Annotated[
        Granularity, Query(description="Width of the points: UTC calendar hours, days or months.")
    ] = Granularity.day,
    metric_name: Annotated[ShortText | None, Query(description="Only this metric (404 if no such metric).")] = None,
) -> UsageSeriesOut:
    """The customer's usage of each metric in `[start_date, end_date)`, as one point per UTC calendar hour, day or
    month (the first and last points are clipped to the window), computed with each metric's aggregation from the
    exact usage rollups.

    Metrics shown: those priced (by a usage-based price component) by the plans of the customer's subscriptions
    active in the window, even without usage (zeros), plus every other metric with counted events in the window, plus
    `weighted_sum` gauges whose last reported value still holds in it. With `metric_name`, only that metric (even
    without usage).

    Each point is the usage of its own bucket: `sum`/`count` add up to `total`; `max`, `latest` and `unique_count`
    are per bucket (`total` is then the max, the last value, or the distinct values of the whole window);
    `weighted_sum` points are the time-weighted average over each bucket, the value held at a bucket's start coming
    from the last report before it, and `total` is the average over the whole window.

    At most 10,000 points per metric and 50,000 in all (422 asking for a coarser granularity). 404 for an unknown
    customer or metric, 422 if `end_date` is not after `start_date`.
    """
    return service.series(
        session, customer_id, start=start_date, end=end_date, granularity=granularity, metric_name=metric_name
    )
