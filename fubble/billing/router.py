"""``POST /invoices/generate``: the billing run over HTTP (registered before the invoices router, so the path is not
mistaken for ``/invoices/{invoice_id}``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Body, Query, Response

from fubble.api.deps import ClockDep, SessionDep, SettingsDep
from fubble.api.fields import Ref, UTCTime
from fubble.api.routing import new_router
from fubble.billing import service
from fubble.billing.render import invoices_json
from fubble.billing.schemas import WINDOW_NOTE, GenerateRequest, GenerateWindow
from fubble.errors import InvalidInput
from fubble.errors_doc import responses
from fubble.invoices.schemas import InvoiceOut

router = new_router("/invoices", tag="invoices")

DESCRIPTION = f"""
Generate draft invoices for the billing window, for every customer with a subscription active in it (or only
`customer_id`). Send `start_date`, `end_date` and optionally `customer_id` either as query parameters
(`?start_date=...&end_date=...`) or as a JSON body; a field sent both ways must agree.

{WINDOW_NOTE}

For each customer, the time of its subscriptions inside the window that no non-void invoice bills yet is cut at the
plan's billing-period boundaries (anchored at the subscription's start) and priced component by component: tiered,
volume and package pricing continue from the usage already billed in the same period, subscription fees are
prorated by the share of the period billed, flat fees are charged once per period. When subscriptions overlap, a
metric's usage is billed by the latest-starting subscription whose plan prices it. All new lines of a customer go on
one draft invoice, whose `period_start`/`period_end` span the time it bills (its earliest line start to its latest
line end), which may be less than the window when part of it was billed already.

Returns the new invoices, plus, for each customer with nothing new to bill, the existing non-void invoices that
already bill this window (so generating the same window twice returns the same invoices and creates nothing). Voiding
an invoice frees its time to be billed again. Customers without a subscription in the window get no invoice.

`end_date` must be after `start_date`, and a run bills at most 240 billing periods of a subscription (a longer
window is a 422: bill it in parts).
"""


def _pick(name: str, query: Any, body: Any) -> Any:
    if query is not None and body is not None and query != body:
        raise InvalidInput.at(("body", name), f"{name} differs between the query string and the JSON body")
    return query if query is not None else body


def _window(
    start_date: datetime | None, end_date: datetime | None, customer_id: int | None, body: GenerateRequest | None
) -> GenerateWindow:
    start = _pick("start_date", start_date, body.start_date if body else None)
    end = _pick("end_date", end_date, body.end_date if body else None)
    customer = _pick("customer_id", customer_id, body.customer_id if body else None)
    missing = [name for name, value in (("start_date", start), ("end_date", end)) if value is None]
    if missing:
        raise InvalidInput(
            [
                {
                    "loc": ["query", name],
                    "msg": "Field required (as a query parameter or in the JSON body)",
                    "type": "missing",
                }
                for name in missing
            ]
        )
    return GenerateWindow(start_date=start, end_date=end, customer_id=customer)


@router.post(
    "/generate",
    summary="Generate invoices for a billing window",
    description=DESCRIPTION,
    responses=responses(404, 422),
    response_model=list[InvoiceOut],
)
def generate_invoices(
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    start_date: Annotated[UTCTime | None, Query(description="Start of the window (inclusive).")] = None,
    end_date: Annotated[UTCTime | None, Query(description="End of the window (exclusive).")] = None,
    customer_id: Annotated[Ref | None, Query(description="Bill only this customer.")] = None,
    body: Annotated[GenerateRequest | None, Body(description="The window as JSON instead of query parameters.")] = None,
) -> Response:
    window = _window(start_date, end_date, customer_id, body)
    invoices = service.generate_invoices(
        session,
        start=window.start_date,
        end=window.end_date,
        customer_id=window.customer_id,
        clock=clock,
        settings=settings,
    )
    # Written directly (same bytes as the generic encoder, much faster for thousands of invoices).
    return Response(content=invoices_json(invoices), media_type="application/json")
