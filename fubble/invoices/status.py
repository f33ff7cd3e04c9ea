"""The invoice status machine, as data.

==========  ===========================
from        may change to
==========  ===========================
draft       pending (finalize), void
pending     paid, failed, void
failed      pending (retry), paid, void
paid        nothing (final)
void        nothing (final)
==========  ===========================

* ``draft``: being assembled; the only status whose items can change.
* ``pending``: finalized and sent; awaiting payment.
* ``paid``: payment received (``paid_date`` is set); final.
* ``failed``: a payment attempt failed; it can be retried (``pending``), paid, or voided.
* ``void``: cancelled; final. A paid invoice cannot be voided.

Staying in the same status is not a transition: asking for it is refused like any illegal change.

An invoice's total is never negative: lines that add up below zero give a total of 0 and grant the difference as
credit when the invoice is finalized (:mod:`fubble.invoices.terms`).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from fubble.errors import IllegalTransition


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    VOID = "void"


ALLOWED: Mapping[InvoiceStatus, frozenset[InvoiceStatus]] = MappingProxyType(
    {
        InvoiceStatus.DRAFT: frozenset({InvoiceStatus.PENDING, InvoiceStatus.VOID}),
        InvoiceStatus.PENDING: frozenset({InvoiceStatus.PAID, InvoiceStatus.FAILED, InvoiceStatus.VOID}),
        InvoiceStatus.FAILED: frozenset({InvoiceStatus.PENDING, InvoiceStatus.PAID, InvoiceStatus.VOID}),
        InvoiceStatus.PAID: frozenset(),
        InvoiceStatus.VOID: frozenset(),
    }
)
"""Status -> the statuses it may change to (read-only). ``paid`` and ``void`` are final."""

_ORDER = list(InvoiceStatus)


def allowed_targets(current: InvoiceStatus) -> list[InvoiceStatus]:
    """The statuses ``current`` may change to, in lifecycle order."""
    return sorted(ALLOWED[current], key=_ORDER.index)


def check_transition(current: str, target: InvoiceStatus) -> None:
    """Raise :class:`IllegalTransition` (409) unless ``current -> target`` is in :data:`ALLOWED`.

    The message names both statuses and the statuses ``current`` may change to.
    """
    source = InvoiceStatus(current)
    if target in ALLOWED[source]:
        return
    targets = allowed_targets(source)
    allowed = ", ".join(t.value for t in targets) if targets else f"none: {source.value} is final"
    raise IllegalTransition(
        f"cannot change invoice status from {source.value!r} to {target.value!r} (allowed from {source.value!r}: "
        f"{allowed})"
    )
