"""Pricing factors: external, time-varying values (e.g. ``market_factor``) that ``dynamic`` formulas read.

Setting a factor appends a value in effect from ``effective_from`` (default now) until the next value; setting it
again at the same instant replaces that value. A factor never set, or not yet in effect, counts as 0 in formulas.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from fubble.audit import recorder as audit
from fubble.clock import Clock
from fubble.errors import InvalidInput, NotFound
from fubble.pricing.models import RESERVED_NAMES
from fubble.pricing_factors import repository
from fubble.pricing_factors.schemas import FactorOut, FactorSet, FactorValueOut


def set_value(session: Session, name: str, data: FactorSet, *, clock: Clock) -> FactorValueOut:
    if name in RESERVED_NAMES:
        reserved = ", ".join(sorted(RESERVED_NAMES))
        raise InvalidInput.at(("path", "name"), f"{name!r} is reserved in formulas ({reserved}); choose another name")
    now = clock.now()
    effective_from = data.effective_from or now
    existing = repository.at_instant(session, name, effective_from)
    before = audit.snapshot(existing) if existing is not None else None
    row = repository.upsert(session, name, data.value, effective_from, now=now)
    # The upsert is a Core statement the audit hooks cannot see: log it explicitly.
    audit.record_change(session, row, action="update" if before else "create", before=before)
    return FactorValueOut.of(row)


def describe(session: Session, name: str, *, clock: Clock) -> FactorOut:
    rows = repository.history(session, name)
    if not rows:
        raise NotFound(f"pricing factor {name!r} has never been set")
    now = clock.now()
    current = next((row for row in reversed(rows) if row.effective_from <= now), None)
    return FactorOut(
        name=name,
        current=FactorValueOut.of(current) if current is not None else None,
        history=[FactorValueOut.of(row) for row in rows],
    )


def current_values(session: Session, *, clock: Clock, limit: int, offset: int) -> list[FactorValueOut]:
    now: datetime = clock.now()
    return [FactorValueOut.of(row) for row in repository.current_page(session, now, limit=limit, offset=offset)]
