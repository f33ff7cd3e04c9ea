"""The invoice previews: ``GET /customers/{customer_id}/upcoming-invoice`` (the draft the current billing period would
produce now) and ``POST /plans/{plan_id}/preview`` (the first invoice a customer would get on a plan).

Both only read. The plan preview is a ``POST`` (its subscription is a body, as in Stripe's "preview an invoice for a
new subscription") that needs the ``read`` scope; it runs in a read session (:func:`_read_session`) although the
request pipeline opens a write one for every ``POST``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Request
from sqlalchemy.orm import Session

from fubble.api.deps import ClockDep, CustomerId, SessionDep, SettingsDep, id_path
from fubble.api.routing import SCOPE_KEY, new_router
from fubble.api_keys.scopes import Scope
from fubble.billing import preview
from fubble.billing.preview_schemas import PlanPreviewIn, UpcomingInvoiceOut
from fubble.errors_doc import responses

router = new_router(tag="invoices")

PlanId = Annotated[int, id_path("The plan's id")]

DESCRIPTION = """
The invoice the billing run would generate for the customer's **current** billing periods if it ran now, priced by
the same code as `POST /invoices/generate`. Nothing is stored: no invoice number is used, no time is marked as
billed, nothing appears in the audit log.

* A subscription's current period is its billing period containing now (periods are anchored at the subscription's
  start). Every subscription active during some of its current period takes part (also one that ended earlier in
  it); time already billed by a non-void invoice is left out.
* Subscription fees are prorated over the rest of the period **up to its end** and flat fees are charged once per
  period (unless an invoice already charged them), as a draft generated now for the current period would.
* Usage counts the events **before now** (`usage_as_of`), with each metric's aggregation (a `weighted_sum` gauge
  counts the time it held up to now, as a share of the whole period); tiered, volume and package prices continue
  from the usage already invoiced in the period.
* `id`, `invoice_number`, `paid_date`, `notes`, `created_at`, `updated_at` and each item's `id` are null; `status`
  is `upcoming`; `period_start`/`period_end` span the current periods taking part.
* A customer without a subscription in a current period gets `200` with no items and `amount` 0 (periods null).
"""


@router.get(
    "/customers/{customer_id}/upcoming-invoice",
    summary="Preview the customer's upcoming invoice",
    description=DESCRIPTION,
    responses=responses(404, 422),
)
def get_upcoming_invoice(
    customer_id: CustomerId, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> UpcomingInvoiceOut:
    return UpcomingInvoiceOut.of(preview.upcoming_invoice(session, customer_id, clock=clock, settings=settings))


PLAN_PREVIEW = """
What `customer_id` would pay on this plan: the invoice of the plan's **first billing period** for a subscription
starting at `start_date` (default: the customer's now, its test clock's time if it has one), as
`POST /customers/{customer_id}/subscriptions` with these fields would create it, priced by the same code as the
billing run and the upcoming invoice. A read: it needs the `read` scope and stores nothing (no subscription, no
invoice number, no time marked as billed, nothing in the audit log).

* The first period is the billing period containing `start_date`: with `billing_anchor` `anniversary` one whole
  period from the start; with `calendar` from the start to the next 1st of the month (quarter, year) at local
  midnight in the customer's time zone, fees prorated. The plan's latest version prices it, with `price_overrides`
  in place of its components (checked as for a subscription).
* Subscription fees and flat fees cover the first period **up to its end**; a plan's `minimum_commitment` and
  components' `min_amount` add their true-up lines when the period's charges fall short.
* Usage counts the customer's events in the first period **before now** (`usage_as_of`): the previewed subscription
  owns all of the customer's usage of the metrics it prices; the customer's real subscriptions and their invoices
  are ignored (tiers start at zero). A `start_date` after now has no usage yet.
* The customer's coupons (a coupon with `plan_ids` applies if they include this plan), tax rates and credit balance
  apply as on the upcoming invoice: `subtotal` -> `discount_amount` -> `tax_amount` -> `total` -> `credits_applied`
  -> `amount_due`.
* The answer has the upcoming invoice's shape: `status` `upcoming`, null ids, `period_start` the `start_date` and
  `period_end` the first period's end; items have a null `subscription_id`.
* 404 unknown plan or customer; 409 an inactive plan, or a plan priced in another currency than the customer's;
  422 an invalid body (unknown fields, a price override of a metric the plan does not price, invalid details).
"""


@contextmanager
def _read_session(request: Request) -> Iterator[Session]:
    """A read session for this request (on SQLite it takes no write turn; on PostgreSQL it refuses to write), or the
    request's own session once the pipeline began a transaction in it (an ``Idempotency-Key`` claimed), so a request
    never holds two connections."""
    session: Session = request.state.session
    if session.in_transaction():
        yield session
        return
    with request.app.state.db.session(write=False) as read:
        yield read


@router.post(
    "/plans/{plan_id}/preview",
    summary="Preview the first invoice of a plan for a customer",
    description=PLAN_PREVIEW,
    responses=responses(404, 409, 422),
    tags=["plans"],
    openapi_extra={SCOPE_KEY: Scope.read.value},
)
def preview_plan(
    plan_id: PlanId, body: PlanPreviewIn, request: Request, clock: ClockDep, settings: SettingsDep
) -> UpcomingInvoiceOut:
    with _read_session(request) as session:
        found = preview.plan_preview(
            session,
            plan_id,
            body.customer_id,
            start_date=body.start_date,
            billing_anchor=body.billing_anchor,
            price_overrides=body.price_overrides,
            clock=clock,
            settings=settings,
        )
        return UpcomingInvoiceOut.of(found)
