"""``/invoices``: generate for a window, manual invoices and their items, status changes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter

from fubble.client._call import Call, given, page, segment
from fubble.invoices.schemas import InvoiceItemOut, InvoiceOut

ONE = TypeAdapter(InvoiceOut)
MANY = TypeAdapter(list[InvoiceOut])
ITEM = TypeAdapter(InvoiceItemOut)


def _path(invoice_id: int) -> str:
    return f"/invoices/{segment(invoice_id)}"


def generate(start_date: datetime, end_date: datetime, *, customer_id: int | None = None) -> Call[list[InvoiceOut]]:
    """Draft invoices for the window ``[start_date, end_date)``, one per customer (or only ``customer_id``) with
    time not billed yet; generating a window again answers the invoices that bill it and creates nothing."""
    body = {"start_date": start_date, "end_date": end_date, **given(customer_id=customer_id)}
    return Call("POST", "/invoices/generate", MANY, body=body)


def create(customer_id: int, items: Sequence[Mapping[str, Any]] = (), **fields: Any) -> Call[InvoiceOut]:
    """A manual draft invoice; each item ``{"description", "amount", "quantity"?, ...}``. Other fields:
    ``issue_date``, ``due_date``, ``notes``."""
    body = {"customer_id": customer_id, "items": [dict(item) for item in items], **fields}
    return Call("POST", "/invoices/", ONE, body=body)


def get(invoice_id: int) -> Call[InvoiceOut]:
    """Get an invoice with its items."""
    return Call("GET", _path(invoice_id), ONE)


def list_(
    *, customer_id: int | None = None, status: str | None = None, limit: int = 100, offset: int = 0
) -> Call[list[InvoiceOut]]:
    """Invoices by id: every customer's, or ``customer_id``'s; only those in ``status`` if given."""
    path = "/invoices/" if customer_id is None else f"/invoices/customer/{segment(customer_id)}"
    return Call("GET", path, MANY, page(limit, offset, status=status))


def add_item(invoice_id: int, description: str, amount: Decimal | int | str, **fields: Any) -> Call[InvoiceItemOut]:
    """Add a line to a draft invoice (answers the created item). Other fields: ``quantity``, ``unit_price``,
    ``metric_name``."""
    body = {"description": description, "amount": amount, **fields}
    return Call("POST", f"{_path(invoice_id)}/items", ITEM, body=body)


def remove_item(invoice_id: int, item_id: int) -> Call[InvoiceOut]:
    """Remove a line from a draft invoice (answers the invoice with its new total)."""
    return Call("DELETE", f"{_path(invoice_id)}/items/{segment(item_id)}", ONE)


def finalize(invoice_id: int) -> Call[InvoiceOut]:
    """``draft -> pending`` (applies the customer's credit)."""
    return Call("PUT", f"{_path(invoice_id)}/finalize", ONE)


def pay(invoice_id: int) -> Call[InvoiceOut]:
    """Mark the invoice paid (sets ``paid_date``)."""
    return set_status(invoice_id, "paid")


def set_status(invoice_id: int, status: str) -> Call[InvoiceOut]:
    """Move the invoice to ``status`` (``pending``, ``paid``, ``failed`` or ``void``, as its state allows)."""
    return Call("PUT", f"{_path(invoice_id)}/status", ONE, body={"status": status})


def void(invoice_id: int, *, reason: str | None = None) -> Call[InvoiceOut]:
    """Void the invoice (its time can then be billed again); ``reason`` goes to its notes."""
    return Call("PUT", f"{_path(invoice_id)}/void", ONE, body=given(reason=reason))
