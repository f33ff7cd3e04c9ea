"""Property: whatever happens (grants that expire or not, invoices using credit in consumption order, voided grants,
voided invoices returning credit, time passing), the ledger sums to the balance, no grant's remaining is negative,
and each grant's remaining is its amount plus its stored entries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from fubble.clock import FrozenClock
from fubble.credits import repository, service
from fubble.db.models import CreditGrant, CreditLedgerEntry, Customer, Invoice
from fubble.db.session import Database
from fubble.pricing.terms import GrantTerm, consume

from .helpers import new_customer

cents = st.integers(min_value=1, max_value=5000).map(lambda n: Decimal(n).scaleb(-2))
ops = st.lists(
    st.one_of(
        st.tuples(st.just("grant"), cents, st.sampled_from([None, 1, 3])),  # expiring in that many days
        st.tuples(st.just("invoice"), cents),
        st.tuples(st.just("void grant"), st.integers(0, 5)),
        st.tuples(st.just("void invoice"), st.integers(0, 5)),
        st.tuples(st.just("wait"), st.integers(1, 2)),  # days
    ),
    max_size=10,
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=ops)
def test_the_ledger_always_sums_to_the_balance(client: TestClient, db: Database, ops: list[tuple[Any, ...]]) -> None:
    customer_id = new_customer(client)
    clock = FrozenClock(datetime(2024, 1, 15, tzinfo=UTC))
    grants: list[int] = []
    invoices: list[int] = []
    for op in ops:
        # made over HTTP before the transaction below opens (on SQLite it holds the one write lock)
        new_invoice = _invoice(client, customer_id, op[1]) if op[0] == "invoice" else None
        with db.transaction() as session:
            customer = session.get(Customer, customer_id)
            assert customer is not None
            now = clock.now()
            if op[0] == "grant":
                days = op[2]
                expires = None if days is None else now + timedelta(days=days)
                made = service.grant_from(
                    session,
                    customer=customer,
                    amount=op[1],
                    at=now,
                    source="grant",
                    description="x",
                    expires_at=expires,
                )
                grants.append(made.id)
            elif op[0] == "invoice":
                invoice = session.get(Invoice, new_invoice)
                assert invoice is not None
                usable = repository.grants_for(session, [customer_id], lock=True)[customer_id]
                terms = [GrantTerm(g.id, g.remaining, g.priority, g.expires_at) for g in usable]
                service.use(session, invoice, consume(terms, op[1], at=now), now)
                invoices.append(invoice.id)
            elif op[0] == "void grant" and grants:
                grant = session.get(CreditGrant, grants[op[1] % len(grants)])
                assert grant is not None
                service.void_grant(session, grant, at=now)
            elif op[0] == "void invoice" and invoices:
                invoice = session.get(Invoice, invoices[op[1] % len(invoices)])
                assert invoice is not None
                service.restore(session, invoice, now)
            elif op[0] == "wait":
                clock.advance(timedelta(days=op[1]))
        _check(db, customer_id, clock)


def _invoice(client: TestClient, customer_id: int, amount: Decimal) -> int:
    body = {"customer_id": customer_id, "items": [{"description": "Usage", "amount": str(amount)}]}
    response = client.post("/invoices/", json=body)
    assert response.status_code == 201, response.text
    invoice_id: int = response.json()["id"]
    return invoice_id


def _check(db: Database, customer_id: int, clock: FrozenClock) -> None:
    with db.transaction() as session:
        found = service.balance(session, customer_id, clock=clock)
        lines = service.ledger(session, customer_id, clock=clock, limit=10_000, offset=0)
        assert sum((line.amount for line in lines), Decimal(0)) == found.balance
        assert [line.at for line in lines] == sorted(line.at for line in lines)
        for grant in session.scalars(select(CreditGrant).where(CreditGrant.customer_id == customer_id)):
            entries = session.scalars(select(CreditLedgerEntry.amount).where(CreditLedgerEntry.grant_id == grant.id))
            assert grant.remaining >= 0
            assert sum(entries, Decimal(0)) == grant.remaining  # the grant entry + uses, returns and voids
