"""Analytics: invoiced revenue by month, plan or customer, and usage of a metric over time across customers.

Revenue
-------
The counted invoices are those with one of the chosen statuses (default ``pending`` and ``paid``: issued, not void, not
a draft). Amounts of different currencies are never added: every group and total is per currency. Sums are exact, in
the currency's minor unit. Which time an amount counts at (``period``):

* ``issue`` (default): an invoice's whole amount counts at its ``issue_date``;
* ``service``: each invoice line's amount counts at the start of the time it bills (a generated line's slice of a
  billing period; a line without one, e.g. manual, at its invoice's ``period_start``, else its ``issue_date``). This
  is what finance reconciles against: revenue in the month the service was delivered, whenever it was invoiced (an
  invoice billing January and February late in March counts in January and February). A line is never split: a slice
  of an anniversary period (Jan 20 - Feb 20) counts in the month it starts in, as a whole, so every group is a sum of
  line amounts as invoiced (splitting would need amounts below the currency's minor unit).

``[start_date, end_date)`` bounds that time. By month: amounts by the UTC calendar month of that time. By customer:
amounts per customer, largest first. By plan: line amounts by the plan of the line's subscription (lines without a
subscription, e.g. manual ones, form the ``manual`` group), largest first. ``invoice_count`` counts the invoices
contributing to a group (with ``service``, those with a line in it).

Usage
-----
Read from the usage rollups (never raw events), for whole hours: the window is widened to whole hours (start rounded
down, end rounded up). Each point of the series is a UTC calendar day or month clipped to the window; its value is the
sum over customers of each customer's usage in that bucket under the metric's aggregation: for ``sum`` and ``count``
this is the plain total; for ``max``, ``latest``, ``unique_count`` and ``weighted_sum`` it adds up per-customer values
(e.g. the sum of each customer's peak, or of each customer's average gauge level over the bucket). The top customers
are ranked by their usage over the whole window (computed as billing would for a period equal to the window), largest
first, ties by customer id; customers with zero usage are left out.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from fubble.analytics import repository
from fubble.analytics.repository import InvoiceFilter
from fubble.analytics.schemas import (
    MANUAL_PLAN,
    RevenueGroupBy,
    RevenueGroupOut,
    RevenueOut,
    RevenuePeriod,
    RevenueTotalOut,
    TopCustomerOut,
    UsageAnalyticsOut,
    UsageGranularity,
    UsagePointOut,
)
from fubble.errors import InvalidInput, NotFound
from fubble.invoices.money import exact_total
from fubble.invoices.status import InvoiceStatus
from fubble.metrics import repository as metrics
from fubble.pricing.aggregation import Aggregation, Summary, merge, usage_of
from fubble.pricing.money import is_currency
from fubble.usage import definitions
from fubble.usage.buckets import boundaries, bucket_count, ceil_hour, floor_hour
from fubble.usage.repository import summary_of

DEFAULT_STATUSES = (InvoiceStatus.PENDING, InvoiceStatus.PAID)
MAX_POINTS = 3660  # ten years of days
_ZERO = Decimal(0)


# --- revenue ----------------------------------------------------------------------------------------------------------


def revenue(
    session: Session,
    *,
    group_by: RevenueGroupBy,
    period: RevenuePeriod,
    start: datetime | None,
    end: datetime | None,
    statuses: Sequence[InvoiceStatus] | None,
    currency: str | None,
    limit: int,
    offset: int,
) -> RevenueOut:
    if start is not None and end is not None and start >= end:
        raise InvalidInput.at(("query", "end_date"), "end_date must be after start_date (the window is half-open)")
    if currency is not None:
        currency = currency.upper()
        if not is_currency(currency):
            raise InvalidInput.at(("query", "currency"), "must be an ISO 4217 currency code such as USD, EUR or JPY")
    chosen = sorted(set(statuses or DEFAULT_STATUSES), key=list(InvoiceStatus).index)
    where = InvoiceFilter(
        statuses=[s.value for s in chosen],
        start=start,
        end=end,
        currency=currency,
        by_service=period is RevenuePeriod.service,
    )
    groups = _revenue_groups(session, group_by, where)
    page = groups[offset : offset + limit]
    _name_groups(session, group_by, page)
    totals = sorted(repository.revenue_totals(session, where))
    return RevenueOut(
        group_by=group_by,
        period=period,
        start_date=start,
        end_date=end,
        statuses=chosen,
        currency=currency,
        totals=[RevenueTotalOut(currency=c, amount=exact_total([a], c), invoice_count=n) for c, a, n in totals],
        total_groups=len(groups),
        groups=page,
    )


def _revenue_groups(session: Session, group_by: RevenueGroupBy, where: InvoiceFilter) -> list[RevenueGroupOut]:
    """Every group, sorted: months chronologically (then currency); customers and plans by currency, then largest
    amount first, then id (manual last)."""
    if group_by is RevenueGroupBy.month:
        months = sorted(repository.revenue_by_month(session, where))
        return [_group(c, a, n, month=m) for m, c, a, n in months]
    if group_by is RevenueGroupBy.customer:
        customers = sorted(repository.revenue_by_customer(session, where), key=lambda r: (r[1], -r[2], r[0]))
        return [_group(c, a, n, customer_id=cid) for cid, c, a, n in customers]
    plans = repository.revenue_by_plan(session, where)
    plans.sort(key=lambda r: (r[1], -r[2], r[0] is None, r[0] or 0))
    return [_group(c, a, n, plan_id=pid) for pid, c, a, n in plans]


def _group(currency: str, amount: Decimal, count: int, **key: Any) -> RevenueGroupOut:
    return RevenueGroupOut(currency=currency, amount=exact_total([amount], currency), invoice_count=count, **key)


def _name_groups(session: Session, group_by: RevenueGroupBy, page: list[RevenueGroupOut]) -> None:
    if group_by is RevenueGroupBy.customer:
        names = repository.customer_names(session, (g.customer_id for g in page if g.customer_id is not None))
        for group in page:
            group.customer_name = names.get(group.customer_id or 0)
    elif group_by is RevenueGroupBy.plan:
        plan_names = repository.plan_names(session, (g.plan_id for g in page if g.plan_id is not None))
        for group in page:
            group.plan_name = MANUAL_PLAN if group.plan_id is None else plan_names.get(group.plan_id)


# --- usage ------------------------------------------------------------------------------------------------------------

_SERIES = {
    Aggregation.sum: repository.series_total,
    Aggregation.count: repository.series_count,
    Aggregation.max: repository.series_max,
    Aggregation.unique_count: repository.series_unique,
}


def usage(
    session: Session,
    *,
    metric_name: str,
    start: datetime,
    end: datetime,
    granularity: UsageGranularity,
    top: int,
) -> UsageAnalyticsOut:
    if "\x00" in metric_name:
        raise InvalidInput.at(("query", "metric_name"), "must not contain NUL characters")
    if start >= end:
        raise InvalidInput.at(("query", "end_date"), "end_date must be after start_date (the window is half-open)")
    start, end = floor_hour(start), ceil_hour(end)
    if bucket_count(start, end, granularity) > MAX_POINTS:
        raise InvalidInput.at(
            ("query", "end_date"), f"the window has more than {MAX_POINTS} {granularity.value}s; ask for a shorter one"
        )
    if metrics.get_by_name(session, metric_name) is None and not metrics.priced_by_plans(session, metric_name):
        raise NotFound(f"metric {metric_name!r} not found (neither defined nor priced by a plan)")
    definition = definitions.resolve(session, [metric_name])[metric_name]
    aggregation = definition.aggregation
    edges = boundaries(start, end, granularity)
    if aggregation in _SERIES:
        values = _SERIES[aggregation](session, metric_name, start, end, granularity.value)
        series = [_as_decimal(values.get(_key(b, granularity))) for b in edges[:-1]]
        per_customer = repository.customer_totals(session, metric_name, start, end, aggregation.value) if top else {}
    else:
        series, per_customer = _reduce_in_time_order(session, metric_name, aggregation, edges, with_window=top > 0)
    return UsageAnalyticsOut(
        metric_name=metric_name,
        aggregation=aggregation.value,
        granularity=granularity,
        start_date=start,
        end_date=end,
        series=[
            UsagePointOut(start=a, end=b, usage=u) for (a, b), u in zip(itertools.pairwise(edges), series, strict=True)
        ],
        top_customers=_top(session, per_customer, top),
    )


def _key(moment: datetime, granularity: UsageGranularity) -> str:
    return moment.strftime("%Y-%m-%d" if granularity is UsageGranularity.day else "%Y-%m")


def _as_decimal(value: Any) -> Decimal:
    return _ZERO if value is None else Decimal(value)


def _top(session: Session, per_customer: Mapping[int, Any], top: int) -> list[TopCustomerOut]:
    ranked = heapq.nsmallest(
        top,
        ((-_as_decimal(v), cid) for cid, v in per_customer.items() if _as_decimal(v) != 0),
    )
    names = repository.customer_names(session, (cid for _, cid in ranked))
    return [TopCustomerOut(customer_id=cid, customer_name=names.get(cid, ""), usage=-neg) for neg, cid in ranked]


def _reduce_in_time_order(
    session: Session, metric: str, aggregation: Aggregation, edges: list[datetime], *, with_window: bool
) -> tuple[list[Decimal], dict[int, Decimal]]:
    """``latest`` and ``weighted_sum``: per customer, merge its rollup rows per bucket in time order and apply the
    aggregation exactly as billing does (a gauge holds its last value into the next bucket). Returns the series
    (summed over customers) and each customer's usage over the whole window."""
    start, end = edges[0], edges[-1]
    weighted = aggregation is Aggregation.weighted_sum
    carry = repository.values_before(session, metric, start) if weighted else {}
    series = [_ZERO] * (len(edges) - 1)
    per_customer: dict[int, Decimal] = {}
    rows = repository.rollup_rows(session, metric, start, end)
    seen: set[int] = set()
    for customer_id, customer_rows in itertools.groupby(rows, key=lambda row: row.customer_id):
        seen.add(customer_id)
        parts = _summaries(customer_rows)
        _accumulate(series, per_customer, customer_id, parts, aggregation, edges, carry.get(customer_id), with_window)
    for customer_id in carry.keys() - seen:
        _accumulate(series, per_customer, customer_id, [], aggregation, edges, carry[customer_id], with_window)
    return series, per_customer


def _summaries(rows: Iterable[Any]) -> list[tuple[datetime, Summary]]:
    return [(row.bucket, summary_of(row)) for row in rows]


def _accumulate(
    series: list[Decimal],
    per_customer: dict[int, Decimal],
    customer_id: int,
    parts: list[tuple[datetime, Summary]],
    aggregation: Aggregation,
    edges: list[datetime],
    carry_in: Decimal | None,
    with_window: bool,
) -> None:
    by_bucket: list[list[Summary]] = [[] for _ in series]
    for bucket, summary in parts:
        by_bucket[bisect.bisect_right(edges, bucket) - 1].append(summary)
    held = carry_in
    for index, summaries in enumerate(by_bucket):
        if not summaries and not held:
            continue
        merged = merge(summaries)
        lo, hi = edges[index], edges[index + 1]
        series[index] += usage_of(aggregation, merged, start=lo, end=hi, period=hi - lo, carry_in=held)
        if merged.count:
            held = merged.last_value
    if with_window:
        whole = merge([summary for _, summary in parts])
        start, end = edges[0], edges[-1]
        per_customer[customer_id] = usage_of(
            aggregation, whole, start=start, end=end, period=end - start, carry_in=carry_in
        )
