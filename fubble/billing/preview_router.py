"""``GET /customers/{customer_id}/upcoming-invoice``: the draft the current billing period would produce now."""

from __future__ import annotations

from fubble.api.deps import ClockDep, CustomerId, SessionDep, SettingsDep
from fubble.api.routing import new_router
from fubble.billing import preview
from fubble.billing.preview_schemas import UpcomingInvoiceOut
from fubble.errors_doc import responses

router = new_router("/customers", tag="invoices")

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
    "/{customer_id}/upcoming-invoice",
    summary="Preview the customer's upcoming invoice",
    description=DESCRIPTION,
    responses=responses(404, 422),
)
def get_upcoming_invoice(
    customer_id: CustomerId, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> UpcomingInvoiceOut:
    return UpcomingInvoiceOut.of(preview.upcoming_invoice(session, customer_id, clock=clock, settings=settings))
