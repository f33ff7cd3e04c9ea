"""Customers: create, read, update. Emails and external ids are unique (case-insensitively for emails).

A customer's ``timezone`` (an IANA name, default UTC) places its billing-period boundaries; a customer created with a
``test_clock_id`` lives at that test clock's time for good (it cannot change).

Taxes: ``tax_rate_ids`` (each an existing tax rate, each once; ``[]``: the rates that apply by default) and
``tax_exempt`` (never taxed), see :mod:`fubble.taxes.service`. ``locale`` (a Babel locale, default ``en_US``) is
how its invoice documents write amounts and dates (:mod:`fubble.documents`).
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from fubble.clock import Clock
from fubble.coupons import repository as coupons
from fubble.customers import repository
from fubble.customers.schemas import CustomerCreate, CustomerUpdate
from fubble.db.models import CreditGrant, Customer, Invoice, TestClock
from fubble.errors import Conflict, InvalidInput, NotFound
from fubble.pricing.periods import zone
from fubble.taxes import repository as tax_rates
from fubble.taxes import service as taxes


def get(session: Session, customer_id: int) -> Customer:
    customer = repository.get(session, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} not found")
    return customer


def create(session: Session, data: CustomerCreate, *, clock: Clock, default_currency: str) -> Customer:
    _check_timezone(data.timezone)
    if data.test_clock_id is not None and session.get(TestClock, data.test_clock_id) is None:
        raise NotFound(f"test clock {data.test_clock_id} not found")
    if repository.email_taken(session, data.email):
        raise Conflict(f"a customer with email {data.email!r} already exists")
    if data.external_id is not None and repository.external_id_taken(session, data.external_id):
        raise Conflict(f"a customer with external_id {data.external_id!r} already exists")
    taxes.check_ids(session, data.tax_rate_ids, ("body", "tax_rate_ids"))
    now = clock.now()
    customer = Customer(
        name=data.name,
        email=data.email,
        company_name=data.company_name,
        billing_address=data.billing_address,
        payment_method_id=data.payment_method_id,
        phone=data.phone,
        address=data.address,
        metadata_=data.metadata,
        currency=data.currency or default_currency,
        external_id=data.external_id,
        invoice_seq=0,
        timezone=data.timezone,
        invoice_grace_period_hours=data.invoice_grace_period_hours,
        test_clock_id=data.test_clock_id,
        tax_exempt=data.tax_exempt,
        locale=data.locale,
        created_at=now,
        updated_at=now,
    )
    session.add(customer)
    session.flush()
    if data.tax_rate_ids:
        tax_rates.choose(session, customer.id, data.tax_rate_ids)
    return customer


def update(session: Session, customer_id: int, data: CustomerUpdate, *, clock: Clock) -> Customer:
    customer = get(session, customer_id)
    changes = data.model_dump(exclude_unset=True)
    if "test_clock_id" in changes:
        raise InvalidInput.at(
            ("body", "test_clock_id"), "test_clock_id is set when the customer is created and cannot change"
        )
    if "timezone" in changes:
        if changes["timezone"] is None:
            raise InvalidInput.at(("body", "timezone"), "timezone cannot be cleared (send UTC for the default)")
        _check_timezone(changes["timezone"])
        if changes["timezone"] != customer.timezone and repository.has_billed_time(session, customer.id):
            raise Conflict(
                f"customer {customer.id} has invoiced subscription time; its time zone cannot change (its billing "
                "periods would move under invoices already made). Void those invoices first, or create a new "
                "customer for the new zone"
            )
    if "name" in changes and changes["name"] is None:
        raise InvalidInput.at(("body", "name"), "name cannot be cleared")
    if "email" in changes:
        if changes["email"] is None:
            raise InvalidInput.at(("body", "email"), "email cannot be cleared")
        if repository.email_taken(session, changes["email"], except_id=customer.id):
            raise Conflict(f"a customer with email {changes['email']!r} already exists")
    if "currency" in changes:
        if changes["currency"] is None:
            raise InvalidInput.at(("body", "currency"), "currency cannot be cleared")
        if changes["currency"] != customer.currency and _has_invoices(session, customer.id):
            raise Conflict("the currency of a customer with invoices cannot change")
        if changes["currency"] != customer.currency and _has_credit(session, customer.id):
            raise Conflict("the currency of a customer with credit grants cannot change")
        other = sorted(coupons.fixed_currencies(session, customer.id) - {changes["currency"]})
        if other:
            raise Conflict(f"customer {customer.id} has fixed-amount coupons in {', '.join(other)}; its currency stays")
    if changes.get("external_id") is not None and repository.external_id_taken(
        session, changes["external_id"], except_id=customer.id
    ):
        raise Conflict(f"a customer with external_id {changes['external_id']!r} already exists")
    if "locale" in changes and changes["locale"] is None:
        raise InvalidInput.at(("body", "locale"), "locale cannot be cleared (send en_US for the default)")
    if "tax_exempt" in changes and changes["tax_exempt"] is None:
        raise InvalidInput.at(("body", "tax_exempt"), "tax_exempt cannot be null (send true or false)")
    if "tax_rate_ids" in changes:
        tax_rate_ids = changes.pop("tax_rate_ids")
        if tax_rate_ids is None:
            raise InvalidInput.at(("body", "tax_rate_ids"), "tax_rate_ids cannot be null (send [] instead)")
        taxes.check_ids(session, tax_rate_ids, ("body", "tax_rate_ids"))
        tax_rates.choose(session, customer.id, tax_rate_ids)
    if changes.get("timezone", customer.timezone) != customer.timezone:
        repository.forget_next_due(session, customer.id)  # its periods move: billing runs look at them again
    for field, value in changes.items():
        setattr(customer, "metadata_" if field == "metadata" else field, value)
    customer.updated_at = clock.now()
    session.flush()
    return customer


def _check_timezone(name: str) -> None:
    try:
        zone(name)
    except InvalidInput as exc:
        raise InvalidInput.at(("body", "timezone"), str(exc.detail[0]["msg"])) from None


def _has_credit(session: Session, customer_id: int) -> bool:
    return bool(session.scalar(select(exists().where(CreditGrant.customer_id == customer_id))))


def _has_invoices(session: Session, customer_id: int) -> bool:
    return bool(session.scalar(select(exists().where(Invoice.customer_id == customer_id))))
