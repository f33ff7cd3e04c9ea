"""``/customers``: create, get, list, update; the upcoming invoice."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from fubble.billing.preview_schemas import UpcomingInvoiceOut
from fubble.client._call import Call, page, segment
from fubble.customers.schemas import CustomerOut

ONE = TypeAdapter(CustomerOut)
MANY = TypeAdapter(list[CustomerOut])
UPCOMING = TypeAdapter(UpcomingInvoiceOut)


def create(name: str, email: str, **fields: Any) -> Call[CustomerOut]:
    """Create a customer (``POST /customers/``). Other fields: ``currency``, ``external_id``, ``timezone``,
    ``metadata``, ``company_name``, ``invoice_grace_period_hours``, ``tax_rate_ids``, ... (see the API)."""
    return Call("POST", "/customers/", ONE, body={"name": name, "email": email, **fields})


def get(customer_id: int) -> Call[CustomerOut]:
    """Get a customer by id."""
    return Call("GET", f"/customers/{segment(customer_id)}", ONE)


def list_(*, limit: int = 100, offset: int = 0) -> Call[list[CustomerOut]]:
    """List customers, by id."""
    return Call("GET", "/customers/", MANY, page(limit, offset))


def update(customer_id: int, **fields: Any) -> Call[CustomerOut]:
    """Change the fields given (``PUT /customers/{id}``)."""
    return Call("PUT", f"/customers/{segment(customer_id)}", ONE, body=fields)


def upcoming_invoice(customer_id: int) -> Call[UpcomingInvoiceOut]:
    """The draft the customer's current periods would produce now (nothing is written)."""
    return Call("GET", f"/customers/{segment(customer_id)}/upcoming-invoice", UPCOMING)
