"""HTTP routes of the credits: a customer's prepaid credit grants, balance and ledger.

"Now" is the customer's now: its test clock's time, if it has one.
"""

from __future__ import annotations

from typing import Annotated

from fubble.api.deps import ClockDep, CustomerId, PageDep, SessionDep, id_path
from fubble.api.routing import new_router
from fubble.credits import service
from fubble.credits.schemas import BalanceOut, GrantCreate, GrantOut, LedgerEntryOut
from fubble.errors_doc import responses

router = new_router(tag="credits")

GrantId = Annotated[int, id_path("The credit grant's id")]


@router.post(
    "/customers/{customer_id}/credit-grants",
    status_code=201,
    summary="Grant prepaid credit to a customer",
    responses=responses(404, 422),
)
def create_grant(customer_id: CustomerId, body: GrantCreate, session: SessionDep, clock: ClockDep) -> GrantOut:
    """Returns 201 with the grant, in the customer's currency; a `grant` entry goes to the ledger. Finalized invoices
    use credit highest priority first (1 before 50), then soonest expiring, then oldest. `amount` must be more than 0
    with at most the currency's decimal places (10.005 USD and 1.5 JPY are 422); `expires_at` must be after now (422).
    Send an `Idempotency-Key` header to make retries safe: a retry with the same key answers the same grant and
    grants nothing more. 404 if the customer does not exist."""
    grant, now = service.create_grant(session, customer_id, body, clock=clock)
    return GrantOut.of(grant, now=now)


@router.get(
    "/customers/{customer_id}/credit-grants",
    summary="List a customer's credit grants (by id)",
    responses=responses(404, 422),
)
def list_grants(customer_id: CustomerId, session: SessionDep, clock: ClockDep, page: PageDep) -> list[GrantOut]:
    """Every grant, voided, used and expired ones included, with its `status` at the customer's now."""
    grants, now = service.list_grants(session, customer_id, clock=clock, limit=page.limit, offset=page.offset)
    return [GrantOut.of(grant, now=now) for grant in grants]


@router.post(
    "/customers/{customer_id}/credit-grants/{grant_id}/void",
    summary="Void what remains of a credit grant",
    responses=responses(404, 409, 422),
)
def void_grant(customer_id: CustomerId, grant_id: GrantId, session: SessionDep, clock: ClockDep) -> GrantOut:
    """What remains of the grant is voided: a `void` entry of `-remaining` goes to the ledger, `remaining` becomes 0
    and `status` `voided`. 409 if it is already voided or has expired; 404 if the customer or the grant does not
    exist (or the grant is another customer's)."""
    grant, now = service.void_by_id(session, customer_id, grant_id, clock=clock)
    return GrantOut.of(grant, now=now)


@router.get(
    "/customers/{customer_id}/credit-balance",
    summary="A customer's credit balance",
    responses=responses(404, 422),
)
def get_balance(customer_id: CustomerId, session: SessionDep, clock: ClockDep) -> BalanceOut:
    """`balance`: what the grants not voided and not expired (at the customer's now) have left, in the customer's
    currency; `grants`: those grants, in the order invoices use them."""
    found = service.balance(session, customer_id, clock=clock)
    return BalanceOut(
        balance=found.balance,
        currency=found.currency,
        grants=[GrantOut.of(grant, now=found.now) for grant in found.grants],
    )


@router.get(
    "/customers/{customer_id}/credit-ledger",
    summary="A customer's credit ledger: every grant, use, expiry and void",
    responses=responses(404, 422),
)
def get_ledger(customer_id: CustomerId, session: SessionDep, clock: ClockDep, page: PageDep) -> list[LedgerEntryOut]:
    """In time order (`at`; at one instant, in the order they were written, expiries last). Amounts are signed:
    `grant` +, `use`, `expiry` and `void` -. Two kinds are special:

    * `expiry` entries are derived, not stored: each grant not voided whose `expires_at` has passed (at the customer's
      now) with something remaining shows one, of `-remaining`, at `expires_at`.
    * A `use` with a positive amount returns credit that an invoice had used, when the invoice is voided (the grant
      has it again; if the grant was voided meanwhile, a `void` of the same amount follows at once).

    So the entries always sum to the balance."""
    lines = service.ledger(session, customer_id, clock=clock, limit=page.limit, offset=page.offset)
    return [
        LedgerEntryOut(
            type=line.type, amount=line.amount, grant_id=line.grant_id, invoice_id=line.invoice_id, at=line.at
        )
        for line in lines
    ]
