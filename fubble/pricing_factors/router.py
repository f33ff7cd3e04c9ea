"""HTTP routes of pricing factors, the external values that `dynamic` price formulas read."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from fubble.api.deps import ClockDep, PageDep, SessionDep
from fubble.api.routing import new_router
from fubble.errors_doc import responses
from fubble.pricing_factors import service
from fubble.pricing_factors.schemas import NAME_PATTERN, FactorOut, FactorSet, FactorValueOut

router = new_router("/pricing-factors", tag="pricing factors")

FactorName = Annotated[
    str,
    Path(
        pattern=NAME_PATTERN,
        max_length=64,
        description="A formula identifier: a letter, then up to 63 letters, digits or underscores.",
        examples=["market_factor"],
    ),
]


@router.get("/", summary="List the pricing factors' current values (by name)", responses=responses(422))
def list_factors(session: SessionDep, clock: ClockDep, page: PageDep) -> list[FactorValueOut]:
    """The value in effect now of every factor that has one (factors whose values all lie in the future are left
    out)."""
    return service.current_values(session, clock=clock, limit=page.limit, offset=page.offset)


@router.get("/{name}", summary="Get a pricing factor with its history", responses=responses(404, 422))
def get_factor(name: FactorName, session: SessionDep, clock: ClockDep) -> FactorOut:
    return service.describe(session, name, clock=clock)


@router.put("/{name}", summary="Set a pricing factor's value from a point in time", responses=responses(422))
def set_factor(name: FactorName, body: FactorSet, session: SessionDep, clock: ClockDep) -> FactorValueOut:
    """The value applies from `effective_from` (default now) until the next value of the factor; setting a value at
    an instant that already has one replaces it. Dynamic formulas that name the factor use the value in effect at
    each moment of the billed window, and 0 where none is. Names are case-sensitive; `usage`, `formula`, `min`,
    `max` and `abs` are reserved."""
    return service.set_value(session, name, body, clock=clock)
