"""Customer usage as the API shows it: totals per metric and time series, each by the metric's aggregation."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from fubble.customers import repository as customers
from fubble.errors import InvalidInput, NotFound
from fubble.metrics.repository import known_metric_names
from fubble.usage import reader, repository
from fubble.usage.buckets import MICROSECOND, Granularity, bucket_count, floor_day
from fubble.usage.definitions import resolve
from fubble.usage.schemas import MetricUsage, UsagePoint, UsageSeriesOut

MAX_POINTS = 10_000  # points of one metric's series
MAX_TOTAL_POINTS = 50_000  # points of all metrics together


def totals(session: Session, customer_id: int, *, start: datetime | None, end: datetime | None) -> dict[str, Decimal]:
    """``{metric: usage}`` for each metric with counted events in ``[start, end)`` (either bound optional).

    An open bound is the metric's first counted event (start) or just after its last one (end), which only matters
    for ``weighted_sum`` (its average over the window).
    """
    found = repository.extents(
        session, customer_id, since_day=floor_day(start) if start is not None else None, before=end
    )
    definitions = resolve(session, found)
    result: dict[str, Decimal] = {}
    for name, extent in sorted(found.items()):
        window_start = start if start is not None else extent.first_time
        window_end = end if end is not None else extent.last_time + MICROSECOND
        measured = reader.measure(session, customer_id, definitions[name], window_start, window_end)
        if measured.summary.count:
            result[name] = measured.value
    return result


def series(
    session: Session,
    customer_id: int,
    *,
    start: datetime,
    end: datetime,
    granularity: Granularity,
    metric_name: str | None,
) -> UsageSeriesOut:
    """The customer's usage per metric over ``[start, end)`` in calendar buckets (see the route for which metrics)."""
    if start >= end:
        raise InvalidInput.at(("query", "end_date"), "must be after start_date (the window is [start_date, end_date))")
    points = bucket_count(start, end, granularity)
    if points > MAX_POINTS:
        raise InvalidInput.at(
            ("query", "granularity"),
            f"the window has {points} {granularity.value}s; at most {MAX_POINTS} points are returned per metric: "
            "use a coarser granularity or a shorter window",
        )
    if not customers.exists(session, customer_id):
        raise NotFound(f"customer {customer_id} not found")
    if metric_name is not None:
        if metric_name not in known_metric_names(session):
            raise NotFound(f"metric {metric_name!r} not found")
        names = shown = {metric_name}
    else:
        shown = repository.priced_metrics(session, customer_id, start, end)
        names = shown | set(repository.extents(session, customer_id, since_day=floor_day(start), before=end))
        names |= repository.gauges_held_at(session, customer_id, start)
    if points * len(names) > MAX_TOTAL_POINTS:
        raise InvalidInput.at(
            ("query", "granularity"),
            f"{len(names)} metrics x {points} points is more than {MAX_TOTAL_POINTS}: use a coarser granularity, a "
            "shorter window or ask for one metric_name",
        )
    definitions = resolve(session, names)
    labels = repository.labels(session, names)
    metrics: list[MetricUsage] = []
    for name in sorted(names):
        definition = definitions[name]
        buckets, total = reader.series_and_total(session, customer_id, definition, start, end, granularity)
        if not total.summary.count and not total.value and name not in shown:
            continue  # its events are in the edge days only, outside the window
        display_name, unit = labels.get(name, (None, None))
        metrics.append(
            MetricUsage(
                metric_name=name,
                display_name=display_name,
                aggregation=definition.aggregation.value,
                unit=unit,
                total=total.value,
                points=[UsagePoint(start=a, end=b, value=v) for a, b, v in buckets],
            )
        )
    return UsageSeriesOut(
        customer_id=customer_id, start_date=start, end_date=end, granularity=granularity, metrics=metrics
    )
