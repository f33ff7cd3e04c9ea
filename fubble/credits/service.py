"""Prepaid credits: grants, their use by invoices, voids, and the ledger of every movement.

Rules
-----
* A grant is in its customer's currency; ``amount`` > 0 with at most the currency's decimal places (422 otherwise),
  stored and answered with exactly that many (``10.00`` USD, ``1000`` JPY). ``priority`` 1 (used first) to 50 (used
  last, the default). ``expires_at`` (optional) must be after now; a grant serves invoices finalized before it.
* "Now" is the customer's now (:func:`fubble.test_clocks.now.customer_now`: its test clock's time, if it has one).
  A grant made through the API is stamped (``created_at`` and its ledger entry) at that now.
* ``remaining`` = ``amount`` + the grant's ``use`` and ``void`` entries (signed). Voiding takes what remains (a
  ``void`` entry of ``-remaining``; ``remaining`` becomes 0); a voided or expired grant cannot be voided (409).
* Expiry is read, never written: an unvoided grant with something remaining whose ``expires_at`` has passed shows a
  derived ``expiry`` entry of ``-remaining`` at ``expires_at`` in the ledger, and stops counting in the balance.
  So the ledger's entries always sum to the balance.
* The balance is the sum of ``remaining`` over grants not voided, not expired, in the customer's currency.
* Invoices use credit through :func:`use` (``use`` entries, negative); voiding an invoice returns it through
  :func:`restore` (``use`` entries with a positive amount; on a grant voided meanwhile, followed by a ``void`` of the
  same amount, so a voided grant stays empty).

Nothing here commits; the request's unit of work does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from fubble.clock import Clock
from fubble.credits import repository
from fubble.credits.schemas import MAX_PRIORITY, GrantCreate, GrantSource, LedgerType
from fubble.customers import service as customers
from fubble.db.models import CreditGrant, CreditLedgerEntry, Customer, Invoice
from fubble.errors import Conflict, InvalidInput, NotFound
from fubble.invoices.money import in_minor_units
from fubble.pricing.terms import GrantTerm, available, consumption_order
from fubble.test_clocks.now import customer_now


@dataclass(frozen=True)
class Balance:
    balance: Decimal
    currency: str
    grants: list[CreditGrant]  # usable, in consumption order
    now: datetime


@dataclass(frozen=True)
class LedgerLine:
    """One ledger entry, stored or derived (an ``expiry``)."""

    type: LedgerType
    amount: Decimal
    grant_id: int
    invoice_id: int | None
    at: datetime


def _negated(amount: Decimal, currency: str) -> Decimal:
    """``-amount`` with the currency's places, never ``-0``."""
    return in_minor_units(Decimal(0) - amount, currency, ("amount",))


# --- the API --------------------------------------------------------------------------------------------------------


def customer_and_now(session: Session, customer_id: int, clock: Clock) -> tuple[Customer, datetime]:
    """The customer (404 if unknown) and its now."""
    customer = customers.get(session, customer_id)
    return customer, customer_now(session, customer, clock)


def create_grant(
    session: Session, customer_id: int, data: GrantCreate, *, clock: Clock
) -> tuple[CreditGrant, datetime]:
    """``POST /customers/{id}/credit-grants``: the new grant and the customer's now. 404 unknown customer; 422 an
    amount with more places than the currency, or ``expires_at`` not after now."""
    customer, now = customer_and_now(session, customer_id, clock)
    amount = in_minor_units(data.amount, customer.currency, ("body", "amount"))
    if data.expires_at is not None and data.expires_at <= now:
        raise InvalidInput.at(("body", "expires_at"), f"must be after now ({_text(now)}); got {_text(data.expires_at)}")
    grant = grant_from(
        session,
        customer=customer,
        amount=amount,
        at=now,
        source=GrantSource.GRANT.value,
        description=data.description,
        expires_at=data.expires_at,
        priority=data.priority,
    )
    return grant, now


def void_by_id(session: Session, customer_id: int, grant_id: int, *, clock: Clock) -> tuple[CreditGrant, datetime]:
    """``POST /customers/{id}/credit-grants/{grant_id}/void``: a ``void`` entry of ``-remaining``, ``remaining`` 0.
    404 unknown customer or grant (or another customer's); 409 already voided or expired."""
    customer, now = customer_and_now(session, customer_id, clock)
    grant = repository.get(session, customer.id, grant_id, lock=True)
    if grant is None:
        raise NotFound(f"credit grant {grant_id} of customer {customer_id} not found")
    if grant.voided_at is not None:
        raise Conflict(f"credit grant {grant_id} is already voided")
    if grant.expires_at is not None and grant.expires_at <= now:
        raise Conflict(f"credit grant {grant_id} has expired; nothing of it can be voided")
    void_grant(session, grant, at=now)
    return grant, now


def list_grants(
    session: Session, customer_id: int, *, clock: Clock, limit: int, offset: int
) -> tuple[list[CreditGrant], datetime]:
    customer, now = customer_and_now(session, customer_id, clock)
    return repository.list_page(session, customer.id, limit=limit, offset=offset), now


def balance(session: Session, customer_id: int, *, clock: Clock) -> Balance:
    """``GET /customers/{id}/credit-balance``: what the usable grants have left, and those grants in the order
    invoices use them."""
    customer, now = customer_and_now(session, customer_id, clock)
    grants = {g.id: g for g in repository.unvoided(session, customer.id) if g.currency == customer.currency}
    terms = [_term(g) for g in grants.values()]
    total = in_minor_units(available(terms, now), customer.currency, ("balance",))
    return Balance(total, customer.currency, [grants[t.key] for t in consumption_order(terms, now)], now)


def ledger(session: Session, customer_id: int, *, clock: Clock, limit: int, offset: int) -> list[LedgerLine]:
    """``GET /customers/{id}/credit-ledger``: the stored entries and the derived expiries, in time order (at one
    instant, stored entries by id, then expiries by grant id), one page of them."""
    customer, now = customer_and_now(session, customer_id, clock)
    lines: list[tuple[tuple[datetime, int, int], LedgerLine]] = [
        (
            (row.at, 0, row.id),
            LedgerLine(LedgerType(row.type), row.amount, row.grant_id, row.invoice_id, row.at),
        )
        for row in repository.ledger(session, customer.id)
    ]
    for grant in repository.unvoided(session, customer.id):
        if grant.remaining > 0 and grant.expires_at is not None and grant.expires_at <= now:
            amount = _negated(grant.remaining, grant.currency)
            expiry = LedgerLine(LedgerType.EXPIRY, amount, grant.id, None, grant.expires_at)
            lines.append(((grant.expires_at, 1, grant.id), expiry))
    lines.sort(key=lambda pair: pair[0])
    return [line for _, line in lines[offset : offset + limit]]


# --- what invoices call ---------------------------------------------------------------------------------------------


def grant_from(
    session: Session,
    *,
    customer: Customer,
    amount: Decimal,
    at: datetime,
    source: str,
    invoice_id: int | None = None,
    credit_note_id: int | None = None,
    description: str,
    expires_at: datetime | None = None,
    priority: int = MAX_PRIORITY,
) -> CreditGrant:
    """Grant ``amount`` (> 0, in the customer's currency and its minor unit) to ``customer`` at ``at``, with a
    ``grant`` ledger entry. ``source``: ``grant`` | ``invoice`` (``invoice_id``: an invoice whose total fell below
    zero) | ``credit_note`` (``credit_note_id``). No expiry and priority 50 unless given. :class:`InvalidInput` for
    an amount with more places than the currency; :class:`ValueError` for an amount <= 0 or an unknown source."""
    source = GrantSource(source).value
    amount = in_minor_units(amount, customer.currency, ("amount",))
    if amount <= 0:
        raise ValueError(f"a credit grant must be more than 0, got {amount}")
    grant = CreditGrant(
        customer_id=customer.id,
        amount=amount,
        remaining=amount,
        currency=customer.currency,
        expires_at=expires_at,
        priority=priority,
        description=description,
        source=source,
        invoice_id=invoice_id,
        credit_note_id=credit_note_id,
        voided_at=None,
        created_at=at,
    )
    session.add(grant)
    session.flush()
    session.add(_entry(grant, LedgerType.GRANT, amount, None, at))
    session.flush()
    return grant


def use(session: Session, invoice: Invoice, taken: Sequence[tuple[int, Decimal]], at: datetime) -> None:
    """``invoice`` (finalized at ``at``) uses ``amount`` of each ``(grant id, amount)``: ``remaining`` goes down and a
    ``use`` entry (negative) names the invoice. Amounts of 0 are skipped. The caller has locked the grants
    (:func:`fubble.credits.repository.grants_for` with ``lock=True``) and computed ``taken`` from them
    (:func:`fubble.pricing.terms.invoice_totals`).

    :class:`ValueError` for a grant that is unknown, another customer's or in another currency, or a negative amount
    (programming errors); :class:`Conflict` for a grant voided, expired at ``at``, or with less remaining."""
    grants = repository.by_ids(session, (grant_id for grant_id, _ in taken), lock=False)
    for grant_id, amount in taken:
        if amount < 0:
            raise ValueError(f"cannot use a negative amount ({amount}) of credit grant {grant_id}")
        if amount == 0:
            continue
        grant = grants.get(grant_id)
        if grant is None or grant.customer_id != invoice.customer_id or grant.currency != invoice.currency:
            raise ValueError(f"credit grant {grant_id} is not a grant of invoice {invoice.id}'s customer and currency")
        if grant.voided_at is not None:
            raise Conflict(f"credit grant {grant_id} is voided")
        if grant.expires_at is not None and grant.expires_at <= at:
            raise Conflict(f"credit grant {grant_id} expired before invoice {invoice.id} was finalized")
        if amount > grant.remaining:
            raise Conflict(f"credit grant {grant_id} has {grant.remaining} left, less than the {amount} to use")
        grant.remaining = in_minor_units(grant.remaining - amount, grant.currency, ("remaining",))
        session.add(_entry(grant, LedgerType.USE, _negated(amount, grant.currency), invoice.id, at))
    session.flush()


def restore(session: Session, invoice: Invoice, at: datetime) -> None:
    """``invoice`` is voided at ``at``: every grant gets back what the invoice used of it (net of earlier returns, so
    calling this twice returns nothing more), as a ``use`` entry with a positive amount; a grant voided meanwhile
    voids it again at once (a ``void`` entry of the same amount: it stays empty). An expired grant gets it back too,
    and it expires at once (the derived expiry shows it). (The credit the invoice itself granted, source ``invoice``,
    is the caller's to void: :func:`void_grant`.)"""
    used: dict[int, Decimal] = {}
    for row in repository.uses_by(session, invoice.id):
        used[row.grant_id] = used.get(row.grant_id, Decimal(0)) - row.amount
    grants = repository.by_ids(session, (g for g, net in used.items() if net > 0), lock=True)
    for grant_id, grant in grants.items():
        back = in_minor_units(used[grant_id], grant.currency, ("amount",))
        session.add(_entry(grant, LedgerType.USE, back, invoice.id, at))
        if grant.voided_at is not None:
            session.add(_entry(grant, LedgerType.VOID, _negated(back, grant.currency), None, at))
        else:
            grant.remaining = in_minor_units(grant.remaining + back, grant.currency, ("remaining",))
    session.flush()


def void_grant(session: Session, grant: CreditGrant, *, at: datetime) -> None:
    """Void what remains of ``grant`` at ``at``: a ``void`` entry of ``-remaining``, ``remaining`` 0, ``voided_at``
    ``at``. Nothing happens to a grant already voided."""
    if grant.voided_at is not None:
        return
    session.add(_entry(grant, LedgerType.VOID, _negated(grant.remaining, grant.currency), None, at))
    grant.remaining = in_minor_units(Decimal(0), grant.currency, ("remaining",))
    grant.voided_at = at
    session.flush()


# --- helpers --------------------------------------------------------------------------------------------------------


def _entry(
    grant: CreditGrant, kind: LedgerType, amount: Decimal, invoice_id: int | None, at: datetime
) -> CreditLedgerEntry:
    return CreditLedgerEntry(
        customer_id=grant.customer_id,
        grant_id=grant.id,
        type=kind.value,
        amount=amount,
        invoice_id=invoice_id,
        at=at,
    )


def _text(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _term(grant: CreditGrant) -> GrantTerm:
    return GrantTerm(key=grant.id, remaining=grant.remaining, priority=grant.priority, expires_at=grant.expires_at)
