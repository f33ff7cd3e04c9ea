"""The building blocks invoice generation uses, called directly (on both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from fubble.clock import FrozenClock
from fubble.db.models import Customer
from fubble.db.session import Database
from fubble.errors import Conflict, IllegalTransition, InvalidInput
from fubble.invoices import service
from fubble.invoices.status import InvoiceStatus, check_transition

JAN = datetime(2024, 1, 1, tzinfo=UTC)
FEB = datetime(2024, 2, 1, tzinfo=UTC)


def _customer(db: Database, clock: FrozenClock, currency: str = "EUR") -> int:
    with db.transaction() as session:
        customer = Customer(
            name="Gen", email=f"gen-{currency}@example.com", currency=currency, invoice_seq=0,
            created_at=clock.now(), updated_at=clock.now(),
        )  # fmt: skip
        session.add(customer)
        session.flush()
        return customer.id


def test_create_invoice_and_add_items(db: Database, clock: FrozenClock) -> None:
    customer_id = _customer(db, clock)
    with db.transaction() as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None
        invoice = service.create_invoice(
            session, customer=customer, issue_date=FEB, due_date=None, notes=None, clock=clock,
            payment_term_days=14, period_start=JAN, period_end=FEB,
        )  # fmt: skip
        assert (invoice.status, invoice.currency, invoice.amount) == ("draft", "EUR", Decimal("0.00"))
        assert invoice.due_date == FEB + timedelta(days=14)
        assert invoice.invoice_number == f"INV-20240201-{customer_id}-000001"
        clock.advance(timedelta(seconds=1))
        item = service.add_item(
            session, invoice, description="API calls", amount=Decimal("12.5"), quantity=Decimal("250"),
            metric_name="api_calls", price_component_id=7, period_start=JAN, period_end=FEB, clock=clock,
        )  # fmt: skip
        assert (item.amount, item.unit_price, item.quantity) == (Decimal("12.50"), Decimal("0.05"), Decimal(250))
        service.add_item(session, invoice, description="Fee", amount=Decimal("0.1"), unit_price=Decimal(3), clock=clock)
        assert invoice.amount == Decimal("12.60")
        assert invoice.updated_at == clock.now()
        invoice_id = invoice.id
    with db.transaction() as session:
        out = service.invoice_out(service.get(session, invoice_id))
        assert out.amount == Decimal("12.60")
        assert out.period_start == JAN and out.period_end == FEB
        first, second = out.invoice_items
        assert (first.price_component_id, first.period_start, first.period_end) == (7, JAN, FEB)
        assert (second.quantity, second.unit_price) == (Decimal(1), Decimal(3))


def test_building_block_errors(db: Database, clock: FrozenClock) -> None:
    customer_id = _customer(db, clock, currency="JPY")
    with db.transaction() as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None
        with pytest.raises(InvalidInput):
            service.create_invoice(
                session, customer=customer, issue_date=FEB, due_date=JAN, notes=None, clock=clock,
                payment_term_days=30,
            )  # fmt: skip
        invoice = service.create_invoice(
            session, customer=customer, issue_date=FEB, due_date=None, notes=None, clock=clock, payment_term_days=0
        )
        assert invoice.due_date == FEB
        with pytest.raises(InvalidInput):
            service.add_item(session, invoice, description="x", amount=Decimal("0.5"), clock=clock)
        invoice.status = InvoiceStatus.PENDING.value
        with pytest.raises(Conflict):
            service.add_item(session, invoice, description="x", amount=Decimal(1), clock=clock)


def test_check_transition_message() -> None:
    check_transition("draft", InvoiceStatus.PENDING)
    with pytest.raises(IllegalTransition, match=r"from 'draft' to 'paid' \(allowed from 'draft': pending, void\)"):
        check_transition("draft", InvoiceStatus.PAID)
    with pytest.raises(IllegalTransition, match="paid is final"):
        check_transition("paid", InvoiceStatus.VOID)
