"""The billing period an invoice bills, as a key: what a coupon's ``duration`` counts.

* An invoice with a ``period_end`` (a subscription's period): ``period_end`` in UTC, ISO 8601
  (``2024-02-01T00:00:00+00:00``). Two invoices of the same period (a late-usage invoice, a period invoiced again
  after a void) share the key, so a coupon counts the period once.
* An invoice without one (manual): ``issued:`` and its issue date in UTC (``issued:2024-01-15``).

:func:`period_instant` reads a key back: the instant the period is billed through, the earliest instant the key can
stand for (a manual invoice's: the start of its issue day), which a coupon's ``applied_at`` is compared with.
"""

from __future__ import annotations

from datetime import UTC, datetime
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


def period_instant(key: str) -> datetime:
    """The instant a key stands for: a period's end, or the start (UTC midnight) of a manual invoice's issue day."""
    if key.startswith(ISSUED):
        return datetime.fromisoformat(key[len(ISSUED) :]).replace(tzinfo=UTC)
    return to_utc(datetime.fromisoformat(key))
