"""Writes the audit log: every insert, update and delete of an audited object, with its state before and after.

It hooks SQLAlchemy's ``after_flush``, so no service has to remember to log anything: whatever the ORM writes to an
audited table in a transaction is logged in that same transaction (and rolled back with it). Who did it comes from
``session.info["actor"]``, set by the request pipeline (the API key's name) or the CLI.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session, sessionmaker

from fubble.db.models import Customer, Invoice, InvoiceItem, Plan, PriceComponent, PricingFactor, Subscription
from fubble.db.models.api_key import ApiKey
from fubble.db.models.audit import AuditEntry

AUDITED: dict[type[Any], str] = {
    Customer: "customer",
    Plan: "plan",
    PriceComponent: "price_component",
    Subscription: "subscription",
    Invoice: "invoice",
    InvoiceItem: "invoice_item",
    PricingFactor: "pricing_factor",
    ApiKey: "api_key",
}
# Columns never copied into the log (secrets) and columns whose change alone is not worth an entry.
HIDDEN = {"key_hash"}
IGNORED_CHANGES = {"last_used_at", "updated_at", "invoice_seq"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value.tzinfo else value.isoformat() + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | int | str | bool | dict | list) or value is None:
        return value
    return str(value)


def _state(obj: Any, *, before: bool) -> dict[str, Any]:
    state = inspect(obj)
    values: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        if attr.key in HIDDEN:
            continue
        name = attr.columns[0].name
        value = getattr(obj, attr.key)
        if before:
            history = state.attrs[attr.key].history
            if history.deleted:
                value = history.deleted[0]
        values[name] = _plain(value)
    return values


def _changed(obj: Any) -> bool:
    state = inspect(obj)
    return any(
        state.attrs[attr.key].history.has_changes()
        for attr in state.mapper.column_attrs
        if attr.key not in IGNORED_CHANGES
    )


def _entity_id(obj: Any) -> str:
    identity = inspect(obj).identity
    return "/".join(str(part) for part in identity) if identity else "?"


def _after_flush(session: Session, _context: Any) -> None:
    rows: list[dict[str, Any]] = []
    info = session.info
    actor = info.get("actor", "system")
    key_id = info.get("api_key_id")
    request = info.get("request")
    now = info.get("now") or datetime.now(UTC)
    new_invoices = {obj.id for obj in session.new if isinstance(obj, Invoice)}

    def entry(obj: Any, action: str, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        rows.append(
            {
                "at": now,
                "actor": actor,
                "api_key_id": key_id,
                "action": action,
                "entity_type": AUDITED[type(obj)],
                "entity_id": _entity_id(obj),
                "before": before,
                "after": after,
                "request": request,
            }
        )

    for obj in session.new:
        if type(obj) in AUDITED:
            # Lines created together with their invoice are part of the invoice's creation entry.
            if isinstance(obj, InvoiceItem) and obj.invoice_id in new_invoices:
                continue
            entry(obj, "create", None, _state(obj, before=False))
    for obj in session.dirty:
        if type(obj) in AUDITED and session.is_modified(obj, include_collections=False) and _changed(obj):
            entry(obj, "update", _state(obj, before=True), _state(obj, before=False))
    for obj in session.deleted:
        if type(obj) in AUDITED:
            entry(obj, "delete", _state(obj, before=True), None)
    if rows:
        session.connection().execute(insert(AuditEntry), rows)


def install(factory: sessionmaker[Session]) -> None:
    event.listen(factory, "after_flush", _after_flush)
