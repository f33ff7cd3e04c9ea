"""The billing period an invoice bills, as a key: what a coupon's ``duration`` counts.

* An invoice with a ``period_end`` (a subscription's period): ``period_end`` in UTC, ISO 8601
  (``2024-02-01T00:00:00+00:00``). Two invoices of the same period (a late-usage invoice, a period invoiced again
  after a void) share the key, so a coupon counts the period once.
* An invoice without one (manual): ``issued:`` and its issue date in UTC (``issued:2024-01-15``).

:func:`billed_after` tells whether a key's period is billed after an instant (a coupon's ``applied_at``): a period
that ends after it, or a manual invoice issued on its (UTC) day or later.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from fubble.db.types import to_utc

ISSUED = "issued:"


class Billed(Protocol):
    """What a period key is read from (an :class:`~fubble.db.models.Invoice`, or a transient one of a preview)."""

    @property
    def period_end(self) -> datetime | None: ...

    @property
    def issue_date(self) -> datetime: ...


def period_key(invoice: Billed) -> str:
    """The key of the billing period ``invoice`` bills (see the module rules); at most 64 characters."""
    if invoice.period_end is not None:
        return to_utc(invoice.period_end).isoformat()
    return ISSUED + to_utc(invoice.issue_date).date().isoformat()


def billed_after(key: str, at: datetime) -> bool:
    """Whether the period ``key`` is billed after ``at``: its period ends after ``at`` (a period ending at ``at`` was
    over by then), or its manual invoice was issued on ``at``'s day (UTC) or later (the key keeps only the day)."""
    if key.startswith(ISSUED):
        return date.fromisoformat(key[len(ISSUED) :]) >= to_utc(at).date()
    return to_utc(datetime.fromisoformat(key)) > to_utc(at)
