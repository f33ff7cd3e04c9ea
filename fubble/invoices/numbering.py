"""Invoice numbers: ``INV-YYYYMMDD-CUSTOMERID-NNNNNN``.

``NNNNNN`` is the customer's own invoice sequence, taken with an atomic ``UPDATE ... RETURNING`` on the customer row,
so numbers stay unique under concurrent generation (the row lock also serializes billing per customer).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from fubble.customers.repository import next_invoice_seq


def invoice_number(customer_id: int, issue_date: datetime, seq: int) -> str:
    """The number of the customer's ``seq``-th invoice, issued on ``issue_date``."""
    return f"INV-{issue_date:%Y%m%d}-{customer_id}-{seq:06d}"


def next_invoice_number(session: Session, customer_id: int, issue_date: datetime) -> str:
    return invoice_number(customer_id, issue_date, next_invoice_seq(session, customer_id))
