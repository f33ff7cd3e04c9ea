"""Coupons: created once (never changed), applied to customers by code, counted per billing period.

Rules:

* ``code``: 1 to 64 of ``A-Z a-z 0-9 _ -``, unique (case-sensitive; 409 when taken).
* ``percentage`` coupons take ``percent_off`` (a percent, 0 < p <= 100); ``fixed`` coupons take ``amount_off`` (> 0,
  with at most the minor unit places of their ``currency``) and ``currency``: only a customer billed in that currency
  may apply them (409 otherwise), and only invoices in it are discounted.
* ``duration``: ``once`` covers 1 billing period, ``repeating`` the first ``duration_in_periods`` (required for it,
  refused for the others), ``forever`` every one. The periods covered are those billed after the coupon was applied:
  a period that ends after ``applied_at`` (a manual invoice: issued on ``applied_at``'s UTC day or later), counted
  when an invoice discounted by it is finalized (:func:`count_periods`). A period already counted is always covered
  again (its second invoice: late usage, a re-invoice after a void); a new one while fewer than the coupon's periods
  are counted (:func:`applies`).
* ``plan_ids``: existing plans (each once, 422 otherwise) whose lines the coupon discounts; null: every line. A fixed
  coupon may not name a plan priced in another currency (422).
* ``max_redemptions``: how many customers may apply it, counted under a row lock on the coupon (``FOR UPDATE`` on
  PostgreSQL), so concurrent applications never exceed it (409 once reached). ``expires_at`` (after now when created):
  applying it at or after that instant is a 409; redemptions made before keep covering their periods.
* A coupon is applied to a customer once (409 the second time); ``applied_at`` is the customer's now (its test
  clock's time, if it has one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy.orm import Session

from fubble.clock import Clock
from fubble.coupons import repository
from fubble.coupons.periods import billed_after
from fubble.coupons.repository import Redeemed
from fubble.coupons.schemas import CouponCreate, FixedCouponCreate, RedemptionOut
from fubble.customers import service as customers
from fubble.db.models import Coupon, CouponRedemption, Invoice
from fubble.errors import Conflict, InvalidInput, NotFound, entry
from fubble.invoices.money import in_minor_units
from fubble.test_clocks.now import customer_now


def create(session: Session, data: CouponCreate, *, clock: Clock) -> Coupon:
    now = clock.now()
    _check_duration(data.duration, data.duration_in_periods)
    currency = data.currency if isinstance(data, FixedCouponCreate) else None
    if data.plan_ids is not None:
        _check_plans(session, data.plan_ids, currency)
    if data.expires_at is not None and data.expires_at <= now:
        raise InvalidInput.at(("body", "expires_at"), f"expires_at must be after now ({now.isoformat()})")
    amount_off = None
    if isinstance(data, FixedCouponCreate):
        amount_off = in_minor_units(data.amount_off, data.currency, ("body", "amount_off"))
    if repository.code_taken(session, data.code):
        raise Conflict(f"a coupon with code {data.code!r} already exists")
    row = Coupon(
        code=data.code,
        type=data.type,
        duration=data.duration,
        duration_in_periods=data.duration_in_periods,
        plan_ids=data.plan_ids,
        max_redemptions=data.max_redemptions,
        expires_at=data.expires_at,
        times_redeemed=0,
        percent_off=None if isinstance(data, FixedCouponCreate) else data.percent_off,
        amount_off=amount_off,
        currency=currency,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _check_duration(duration: str, periods: int | None) -> None:
    if duration == "repeating" and periods is None:
        raise InvalidInput.at(("body", "duration_in_periods"), "a repeating coupon needs duration_in_periods")
    if duration != "repeating" and periods is not None:
        raise InvalidInput.at(
            ("body", "duration_in_periods"), f"duration_in_periods is only for repeating coupons, not {duration}"
        )


def _check_plans(session: Session, plan_ids: Sequence[int], currency: str | None) -> None:
    currencies = repository.plan_currencies(session, plan_ids)
    problems = []
    seen: set[int] = set()
    for i, plan_id in enumerate(plan_ids):
        loc = ("body", "plan_ids", i)
        if plan_id in seen:
            problems.append(entry(loc, f"plan {plan_id} is listed twice"))
        elif plan_id not in currencies:
            problems.append(entry(loc, f"plan {plan_id} not found"))
        elif currency is not None and currencies[plan_id] not in (None, currency):
            problems.append(entry(loc, f"plan {plan_id} is priced in {currencies[plan_id]}, the coupon in {currency}"))
        seen.add(plan_id)
    if problems:
        raise InvalidInput(problems)


def get(session: Session, coupon_id: int) -> Coupon:
    row = repository.get(session, coupon_id)
    if row is None:
        raise NotFound(f"coupon {coupon_id} not found")
    return row


def redeem(session: Session, customer_id: int, code: str, *, clock: Clock) -> Redeemed:
    """Apply the coupon ``code`` to the customer (see the module rules for each refusal)."""
    customer = customers.get(session, customer_id)
    coupon = repository.by_code(session, code, lock=True)
    if coupon is None:
        raise InvalidInput.at(("body", "code"), f"no coupon with code {code!r}")
    now = customer_now(session, customer, clock)
    if coupon.expires_at is not None and coupon.expires_at <= now:
        raise Conflict(f"coupon {code!r} expired at {coupon.expires_at.isoformat()}")
    if coupon.currency is not None and coupon.currency != customer.currency:
        raise Conflict(
            f"coupon {code!r} takes {coupon.amount_off} {coupon.currency} off; customer {customer.id} is billed in "
            f"{customer.currency}"
        )
    if repository.redemption_of(session, customer.id, coupon.id) is not None:
        raise Conflict(f"coupon {code!r} is already applied to customer {customer.id}")
    if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        raise Conflict(f"coupon {code!r} has been applied {coupon.times_redeemed} times, its max_redemptions")
    redemption = CouponRedemption(customer_id=customer.id, coupon_id=coupon.id, applied_at=now, created_at=clock.now())
    coupon.times_redeemed += 1
    session.add(redemption)
    session.flush()
    return Redeemed(redemption, coupon)


def redemptions(session: Session, customer_id: int, *, limit: int, offset: int) -> list[Redeemed]:
    customers.get(session, customer_id)
    return repository.customer_page(session, customer_id, limit=limit, offset=offset)


def periods_covered(coupon: Coupon) -> int | None:
    """How many billing periods the coupon covers: 1 (``once``), ``duration_in_periods`` (``repeating``) or None
    (``forever``: every one)."""
    if coupon.duration == "forever":
        return None
    if coupon.duration == "repeating":
        assert coupon.duration_in_periods is not None
        return coupon.duration_in_periods
    return 1


def periods_remaining(redeemed: Redeemed) -> int | None:
    """How many more billing periods the redemption covers (None: every one)."""
    covered = periods_covered(redeemed.coupon)
    return None if covered is None else max(0, covered - len(redeemed.counted))


def applies(redeemed: Redeemed, period_key: str) -> bool:
    """Whether the redemption discounts an invoice of the billing period ``period_key``
    (:func:`fubble.coupons.periods.period_key`): always when that period was counted already (its second invoice);
    else when the period is billed after the coupon was applied and the coupon still covers a period."""
    if period_key in redeemed.counted:
        return True
    if not billed_after(period_key, redeemed.redemption.applied_at):
        return False
    remaining = periods_remaining(redeemed)
    return remaining is None or remaining > 0


def count_periods(session: Session, invoice: Invoice, redemption_ids: Sequence[int], period_key: str) -> None:
    """Count the billing period ``period_key`` of the finalized ``invoice`` for each redemption that discounted it
    (a redemption already counted for it stays counted once)."""
    repository.insert_periods(session, redemption_ids, period_key, invoice.id)


def status(redeemed: Redeemed) -> Literal["active", "ended"]:
    """``active`` while it covers more billing periods, ``ended`` once all are used."""
    remaining = periods_remaining(redeemed)
    return "active" if remaining is None or remaining > 0 else "ended"


def describe(redeemed: Redeemed) -> RedemptionOut:
    remaining = periods_remaining(redeemed)
    return RedemptionOut(
        id=redeemed.redemption.id,
        customer_id=redeemed.redemption.customer_id,
        coupon_id=redeemed.coupon.id,
        code=redeemed.coupon.code,
        applied_at=redeemed.redemption.applied_at,
        periods_used=len(redeemed.counted),
        periods_remaining=remaining,
        status=status(redeemed),
    )
