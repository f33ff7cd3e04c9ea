"""``GET /analytics/revenue`` and ``GET /analytics/usage`` (scope ``read``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from fubble.analytics import service
from fubble.analytics.schemas import RevenueGroupBy, RevenueOut, RevenuePeriod, UsageAnalyticsOut, UsageGranularity
from fubble.api.deps import PageDep, SessionDep
from fubble.api.fields import CurrencyCode
from fubble.api.routing import new_router
from fubble.errors_doc import responses
from fubble.events.schemas import QueryTime
from fubble.invoices.status import InvoiceStatus

router = new_router("/analytics", tag="analytics")

REVENUE = """
Invoiced amounts, per currency (amounts of different currencies are never added), grouped by:

* `month`: the UTC calendar month of the invoice's `issue_date` (`"YYYY-MM"`), in time order;
* `plan`: the plan of the subscription that produced each invoice line (lines without a subscription, such as manual
  ones, form the group with `plan_id` null and `plan_name` `"manual"`), largest amount first;
* `customer`: the customer (with its name), largest amount first (the top customers).

`period` says which time an amount counts at (for the months and for `start_date`/`end_date`):

* `issue` (default): the invoice's `issue_date`, for its whole amount;
* `service`: each line's service time, the start of the time it bills (a generated line's slice; a line without one,
  such as a manual one, counts at its invoice's `period_start`, else its `issue_date`). Revenue by the month the
  service was delivered, as finance reconciles it: an invoice billing January and February issued in March counts
  in January and February. A line is never split: one covering Jan 20 - Feb 20 counts in January, in full.

Groups are ordered by currency first (months: by month first). `invoice_count` is the number of counted invoices in
the group (with `period=service`: those with a line in it). Only invoices with one of the `status` values count
(repeat the parameter: `status=paid&status=pending`); the default is `pending` and `paid`, i.e. issued revenue without
drafts, failed or void invoices. `start_date` and `end_date` (both optional) bound the chosen time to
`[start_date, end_date)`, and `end_date` must then be after `start_date` (422); `currency` keeps one currency.
The groups are paginated with `limit`/`offset` (`total_groups` says how many there are); `totals` cover all of
them. Amounts are exact, with the currency's decimal places.
"""

USAGE = """
Usage of one metric over time, across all customers, and the customers using it most, read from the usage rollups.

* `end_date` must be after `start_date` (422). The window is widened to whole hours (`start_date` rounded down,
  `end_date` rounded up; the response gives the window used), and holds at most 3660 points of the granularity
  (422: ask for a shorter window). `granularity` cuts it at UTC calendar days or months, the first and last points
  clipped to the window.
* Each point's `usage` is the sum over customers of each customer's usage in that point's time under the metric's
  aggregation: plain totals for `sum` and `count`; for `max`, `latest`, `unique_count` and `weighted_sum` the sum of
  the per-customer values (each customer's peak, last value, distinct count, or time-weighted average level over the
  point's time).
* `top_customers`: the `top` customers (0-100, default 10) by their usage over the whole window, largest first,
  ties by id; customers without usage are left out.
* `metric_name` must be defined (`POST /metrics/`) or priced by a plan (404 otherwise); a name plans price without
  a definition is the `sum` of quantities.
"""


@router.get(
    "/revenue", summary="Invoiced revenue by month, plan or customer", description=REVENUE, responses=responses(422)
)
def get_revenue(
    session: SessionDep,
    page: PageDep,
    group_by: Annotated[RevenueGroupBy, Query(description="How to group the invoiced amounts.")] = RevenueGroupBy.month,
    period: Annotated[
        RevenuePeriod, Query(description="Count amounts at the invoice's issue date or at the lines' service time.")
    ] = RevenuePeriod.issue,
    start_date: Annotated[QueryTime | None, Query(description="Count amounts at or after this (see period).")] = None,
    end_date: Annotated[QueryTime | None, Query(description="Count amounts before this (see period).")] = None,
    status: Annotated[
        list[InvoiceStatus] | None, Query(description="Invoice statuses to count (repeatable); default pending, paid.")
    ] = None,
    currency: Annotated[CurrencyCode | None, Query(description="Only this currency.")] = None,
) -> RevenueOut:
    return service.revenue(
        session,
        group_by=group_by,
        period=period,
        start=start_date,
        end=end_date,
        statuses=status,
        currency=currency,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/usage",
    summary="Usage of a metric over time and its top customers",
    description=USAGE,
    responses=responses(404, 422),
)
def get_usage(
    session: SessionDep,
    metric_name: Annotated[str, Query(min_length=1, max_length=255, description="The metric (event metric_name).")],
    start_date: Annotated[QueryTime, Query(description="Start of the window (rounded down to the hour).")],
    end_date: Annotated[QueryTime, Query(description="End of the window, exclusive (rounded up to the hour).")],
    granularity: Annotated[UsageGranularity, Query(description="The width of each point.")] = UsageGranularity.day,
    top: Annotated[int, Query(ge=0, le=100, description="How many top customers to list.")] = 10,
) -> UsageAnalyticsOut:
    return service.usage(
        session, metric_name=metric_name, start=start_date, end=end_date, granularity=granularity, top=top
    )
