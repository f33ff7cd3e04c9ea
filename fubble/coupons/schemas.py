"""Request and response bodies of the coupons API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag

from fubble.api.fields import MAX_ID, CurrencyCode, Quantity, Ref, UTCTime, not_boolean
from fubble.db.models import Coupon
from fubble.taxes.schemas import Percent

MAX_PLANS = 100
CODE_PATTERN = "^[A-Za-z0-9_-]+$"

Code = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=CODE_PATTERN,
        examples=["SPRING24"],
        description="1 to 64 letters (A-Z, a-z), digits, '_' or '-'; case-sensitive.",
    ),
]
Duration = Literal["once", "repeating", "forever"]
Count = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(not_boolean)]

_DURATION = (
    "`once`: the first billing period invoiced after the coupon is applied; `repeating`: the first "
    "`duration_in_periods` of them; `forever`: every one."
)
_DURATION_IN_PERIODS = "Required for `repeating` (at least 1), refused for `once` and `forever`."
_PLAN_IDS = (
    "The plans whose invoice lines the coupon discounts (existing plan ids, each once); left out or null: every line."
)


class _CouponCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code
    duration: Duration = Field(description=_DURATION)
    duration_in_periods: Count | None = Field(None, description=_DURATION_IN_PERIODS)
    plan_ids: Annotated[list[Ref], Field(min_length=1, max_length=MAX_PLANS)] | None = Field(
        None, description=_PLAN_IDS
    )
    max_redemptions: Count | None = Field(None, description="How many customers may apply it; null: no limit.")
    expires_at: UTCTime | None = Field(
        None, description="Customers may apply it until this instant (after now); null: no limit."
    )


class PercentageCouponCreate(_CouponCreate):
    type: Literal["percentage"]
    percent_off: Percent = Field(
        examples=[15], description="A percent (15 means 15%): more than 0, at most 100, at most 4 places."
    )


class FixedCouponCreate(_CouponCreate):
    type: Literal["fixed"]
    amount_off: Quantity = Field(
        examples=[10],
        description="Taken off each covered invoice (never below zero), in `currency`, with at most its minor unit's "
        "decimal places (2 for USD, 0 for JPY).",
    )
    currency: CurrencyCode = Field(
        examples=["USD"], description="ISO 4217: only customers billed in this currency may apply the coupon."
    )


def _coupon_type(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in ("percentage", "fixed") else None


# Errors in a coupon's fields are located under its type, as pydantic locates them: ("body", "fixed", "amount_off").
CouponCreate = Annotated[
    Annotated[PercentageCouponCreate, Tag("percentage")] | Annotated[FixedCouponCreate, Tag("fixed")],
    Discriminator(
        _coupon_type,
        custom_error_type="coupon_type",
        custom_error_message="type must be 'percentage' (with percent_off) or 'fixed' (with amount_off and currency)",
    ),
]


class CouponOut(BaseModel):
    id: int
    code: str
    type: Literal["percentage", "fixed"]
    percent_off: Decimal | None = Field(description="A percent, for `percentage` coupons (null for `fixed`).")
    amount_off: Decimal | None = Field(description="In `currency`, for `fixed` coupons (null for `percentage`).")
    currency: str | None
    duration: Duration = Field(description=_DURATION)
    duration_in_periods: int | None
    plan_ids: list[int] | None = Field(description=_PLAN_IDS)
    max_redemptions: int | None
    times_redeemed: int = Field(description="How many customers applied it.")
    expires_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, row: Coupon) -> CouponOut:
        return cls(
            id=row.id,
            code=row.code,
            type="fixed" if row.type == "fixed" else "percentage",
            percent_off=row.percent_off,
            amount_off=row.amount_off,
            currency=row.currency,
            duration=_duration(row.duration),
            duration_in_periods=row.duration_in_periods,
            plan_ids=row.plan_ids,
            max_redemptions=row.max_redemptions,
            times_redeemed=row.times_redeemed,
            expires_at=row.expires_at,
            created_at=row.created_at,
        )


def _duration(value: str) -> Duration:
    return "repeating" if value == "repeating" else "forever" if value == "forever" else "once"


class RedemptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Code = Field(description="The coupon's code (422 when no coupon has it).")


class RedemptionOut(BaseModel):
    id: int
    customer_id: int
    coupon_id: int
    code: str
    applied_at: datetime = Field(description="When it was applied (a test-clock customer's: its clock's time).")
    periods_used: int = Field(description="The billing periods it has discounted (finalized invoices).")
    periods_remaining: int | None = Field(description="The billing periods it still covers; null: every one.")
    status: Literal["active", "ended"] = Field(
        description="`active`: it still covers billing periods; `ended`: all its periods are used."
    )
