"""HTTP routes of the coupons and of the coupons applied to customers."""

from __future__ import annotations

from typing import Annotated

from fubble.api.deps import ClockDep, CustomerId, PageDep, SessionDep, id_path
from fubble.api.routing import new_router
from fubble.coupons import repository, service
from fubble.coupons.schemas import CouponCreate, CouponOut, RedemptionCreate, RedemptionOut
from fubble.errors_doc import responses

router = new_router(tag="coupons")

CouponId = Annotated[int, id_path("The coupon's id")]

CREATE = """
Returns 201 with the coupon; 409 when its `code` is taken. `type` `percentage` takes `percent_off` (a percent: 15
means 15%); `fixed` takes `amount_off` (with at most the minor unit places of its `currency`: 2 for USD, 0 for JPY)
and `currency`. `duration`: `once` covers the first billing period invoiced after the coupon is applied to a customer,
`repeating` the first `duration_in_periods` (required for it, and only for it), `forever` every one. `plan_ids`:
existing plans (each once) whose lines it discounts, null for every line; a fixed coupon cannot name a plan priced in
another currency. `expires_at` must be after now. Discounts apply to the covered plans' subtotal, never below zero;
a percentage discount is rounded half-up once per coupon and invoice. A coupon never changes once created.
"""

REDEEM = """
Applies the coupon `code` to the customer: 201 with the redemption. 404 for an unknown customer, 422 when no coupon
has that code; 409 when the coupon has expired (`expires_at` at or before the customer's now: its test clock's time,
if it has one), has reached `max_redemptions`, is already applied to this customer, or is a fixed coupon in another
currency than the customer's. The coupon covers the billing periods that end after it was applied (a manual invoice:
issued on that day or later), as many as its `duration` says; each is counted when an invoice it discounted is
finalized, and the period's later invoices (late usage) are discounted too.
"""


@router.post("/coupons/", status_code=201, summary="Create a coupon", description=CREATE, responses=responses(409, 422))
def create_coupon(body: CouponCreate, session: SessionDep, clock: ClockDep) -> CouponOut:
    return CouponOut.of(service.create(session, body, clock=clock))


@router.get("/coupons/", summary="List coupons (by id)", responses=responses(422))
def list_coupons(session: SessionDep, page: PageDep) -> list[CouponOut]:
    return [CouponOut.of(row) for row in repository.list_page(session, limit=page.limit, offset=page.offset)]


@router.get("/coupons/{coupon_id}", summary="Get a coupon", responses=responses(404, 422))
def get_coupon(coupon_id: CouponId, session: SessionDep) -> CouponOut:
    return CouponOut.of(service.get(session, coupon_id))


@router.post(
    "/customers/{customer_id}/coupons",
    status_code=201,
    summary="Apply a coupon to a customer",
    description=REDEEM,
    responses=responses(404, 409, 422),
)
def apply_coupon(
    customer_id: CustomerId, body: RedemptionCreate, session: SessionDep, clock: ClockDep
) -> RedemptionOut:
    return service.describe(service.redeem(session, customer_id, body.code, clock=clock))


@router.get(
    "/customers/{customer_id}/coupons",
    summary="List the coupons applied to a customer (by redemption id)",
    responses=responses(404, 422),
)
def list_customer_coupons(customer_id: CustomerId, session: SessionDep, page: PageDep) -> list[RedemptionOut]:
    """Each coupon applied to the customer: `periods_used` (billing periods it discounted, on finalized invoices),
    `periods_remaining` (null: every period) and `status` (`active` while it covers periods, `ended` once used up)."""
    rows = service.redemptions(session, customer_id, limit=page.limit, offset=page.offset)
    return [service.describe(row) for row in rows]
