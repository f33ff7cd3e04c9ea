"""Tax rates: created once, never changed (an invoice's taxes keep the name and rate they were computed with, and
a rate in use must not move under customers billed at it: create a new rate and choose it instead).

Which rates tax a customer (:func:`fubble.taxes.repository.rates_for`): a ``tax_exempt`` customer none; else the
rates chosen for it (``tax_rate_ids``); else every rate with ``applies_by_default``. ``rate`` is a percent (20 means
20%), more than 0 and at most 100, with at most 4 decimal places.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from fubble.clock import Clock
from fubble.db.models import TaxRate
from fubble.errors import InvalidInput, NotFound, entry
from fubble.taxes import repository
from fubble.taxes.schemas import TaxRateCreate


def create(session: Session, data: TaxRateCreate, *, clock: Clock) -> TaxRate:
    row = TaxRate(name=data.name, rate=data.rate, applies_by_default=data.applies_by_default, created_at=clock.now())
    session.add(row)
    session.flush()
    return row


def get(session: Session, tax_rate_id: int) -> TaxRate:
    row = repository.get(session, tax_rate_id)
    if row is None:
        raise NotFound(f"tax rate {tax_rate_id} not found")
    return row


def check_ids(session: Session, tax_rate_ids: Sequence[int], loc: tuple[str | int, ...]) -> None:
    """422 located at ``(*loc, i)`` for each id given twice or naming no tax rate."""
    known = repository.existing_ids(session, tax_rate_ids)
    seen: set[int] = set()
    problems = []
    for i, tax_rate_id in enumerate(tax_rate_ids):
        if tax_rate_id in seen:
            problems.append(entry((*loc, i), f"tax rate {tax_rate_id} is listed twice"))
        elif tax_rate_id not in known:
            problems.append(entry((*loc, i), f"tax rate {tax_rate_id} not found"))
        seen.add(tax_rate_id)
    if problems:
        raise InvalidInput(problems)
