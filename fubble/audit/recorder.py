"""Writes the audit log: every insert, update and delete of an audited object, with its state before and after.

It hooks the ORM's per-row flush events (``after_insert``, ``after_update``, ``after_delete`` of each audited class), so
no service has to remember to log anything, and rows the ORM writes on its own are logged too (e.g. a price component
removed from its plan's collection and deleted as an orphan). The entries are written at the end of each flush, in the
same transaction (and rolled back with it). Only sessions made by an installed (write) session factory are logged.
Who did it comes from ``session.info["actor"]``, set by the request pipeline (the API key's name) or the CLI.

Lines created together with their invoice (in the same flush, or the same bulk insert of a billing run) are part of
the invoice's ``create`` entry: its ``after`` holds them under :data:`LINES` (the lines' states, in id order), and
they get no entry of their own. A line added to or removed from an existing invoice gets its own ``invoice_item``
entry.

Statements that bypass the ORM's unit of work (``session.execute(insert(...))``, ``update(...)``) are not seen here.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Mapper, Session, object_session, sessionmaker

from fubble.db.models import (
    Customer,
    Invoice,
    InvoiceItem,
    Metric,
    Plan,
    PriceComponent,
    PricingFactor,
    Subscription,
)
from fubble.db.models.api_key import ApiKey
from fubble.db.models.audit import AuditEntry
from fubble.db.models.terms import Coupon, CouponRedemption, CreditGrant, CreditNote, CustomerTaxRate, TaxRate
from fubble.db.models.webhooks import UsageAlert, WebhookEndpoint
from fubble.db.types import to_utc

AUDITED: dict[type[Any], str] = {
    Customer: "customer",
    Plan: "plan",
    PriceComponent: "price_component",
    Subscription: "subscription",
    Invoice: "invoice",
    InvoiceItem: "invoice_item",
    PricingFactor: "pricing_factor",
    Metric: "metric",
    ApiKey: "api_key",
    TaxRate: "tax_rate",
    CustomerTaxRate: "customer_tax_rate",
    Coupon: "coupon",
    CouponRedemption: "coupon_redemption",
    CreditGrant: "credit_grant",
    CreditNote: "credit_note",
    WebhookEndpoint: "webhook_endpoint",
    UsageAlert: "usage_alert",
}
# Columns never copied into the log (secrets) and columns whose change alone is not worth an entry.
HIDDEN = {"key_hash", "secret", "previous_secret"}
IGNORED_CHANGES = {"last_used_at", "updated_at", "invoice_seq"}

LINES = "invoice_items"  # key of an invoice's lines in its create entry

_ENABLED = "fubble_audit"  # session.info flag: this session's changes are logged
_PENDING = "fubble_audit_pending"  # session.info: (action, object, entity id, before) seen in the current flush


_AS_IS = frozenset({Decimal, int, str, bool, type(None)})


@functools.lru_cache(maxsize=4096)
def _time_text(value: datetime) -> str:
    """A time as the log writes it (a billing run logs the same few instants thousands of times: cached)."""
    return to_utc(value).isoformat().replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    if type(value) in _AS_IS:
        return value
    if isinstance(value, datetime):
        return _time_text(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | int | str | bool):
        return value
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return str(value)


def _state(obj: Any, *, before: bool) -> dict[str, Any]:
    """The object's columns as loaded from the database (``before``: called during the flush, so it must not load
    anything; a column never loaded is left out) or as they are now (after the flush)."""
    state = inspect(obj)
    values: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        if attr.key in HIDDEN:
            continue
        if before:
            history = state.attrs[attr.key].history
            if history.deleted:
                value = history.deleted[0]
            elif history.unchanged:
                value = history.unchanged[0]
            else:
                continue
        else:
            value = getattr(obj, attr.key)
        values[attr.columns[0].name] = _plain(value)
    return values


def _changed(obj: Any) -> bool:
    state = inspect(obj)
    return any(
        state.attrs[attr.key].history.has_changes()
        for attr in state.mapper.column_attrs
        if attr.key not in IGNORED_CHANGES
    )


def _entity_id(mapper: Mapper[Any], obj: Any) -> str:
    return "/".join(str(part) for part in mapper.primary_key_from_instance(obj))


def _pending(obj: Any) -> list[tuple[str, Any, str, dict[str, Any] | None]] | None:
    session = object_session(obj)
    if session is None or not session.info.get(_ENABLED):
        return None
    pending: list[tuple[str, Any, str, dict[str, Any] | None]] = session.info.setdefault(_PENDING, [])
    return pending


def _after_insert(mapper: Mapper[Any], _connection: Any, obj: Any) -> None:
    pending = _pending(obj)
    if pending is not None:
        pending.append(("create", obj, _entity_id(mapper, obj), None))


def _after_update(mapper: Mapper[Any], _connection: Any, obj: Any) -> None:
    pending = _pending(obj)
    if pending is not None and _changed(obj):
        pending.append(("update", obj, _entity_id(mapper, obj), _state(obj, before=True)))


def _after_delete(mapper: Mapper[Any], _connection: Any, obj: Any) -> None:
    pending = _pending(obj)
    if pending is not None:
        pending.append(("delete", obj, _entity_id(mapper, obj), _state(obj, before=True)))


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    session.info[_ENABLED] = True
    session.info[_PENDING] = []


def _write_entries(session: Session, changes: list[tuple[str, Any, str, dict[str, Any] | None]]) -> None:
    """Insert one audit entry per ``(action, object, entity id, before)``, attributed from ``session.info``; lines
    created with their invoice go into the invoice's entry (see the module docstring)."""
    new_invoices = {obj.id for action, obj, _, _ in changes if action == "create" and isinstance(obj, Invoice)}
    lines: dict[int, list[dict[str, Any]]] = {invoice_id: [] for invoice_id in new_invoices}
    entries = []
    for action, obj, entity_id, before in changes:
        if action == "create" and isinstance(obj, InvoiceItem) and obj.invoice_id in new_invoices:
            lines[obj.invoice_id].append(_state(obj, before=False))
            continue
        after = None if action == "delete" else _state(obj, before=False)
        entries.append((action, AUDITED[type(obj)], entity_id, before, after, obj))
    for *_, after, obj in entries:
        if after is not None and isinstance(obj, Invoice) and obj.id in lines:
            after[LINES] = sorted(lines[obj.id], key=lambda line: line["id"])
    _insert_entries(session, [entry[:5] for entry in entries], datetime.now(UTC))


def _insert_entries(
    session: Session,
    entries: Sequence[tuple[str, str, str, dict[str, Any] | None, dict[str, Any] | None]],
    fallback_now: datetime,
) -> None:
    """Insert ``(action, entity type, entity id, before, after)`` entries, attributed from ``session.info`` (its
    ``now``, else ``fallback_now``)."""
    info = session.info
    attribution = {
        "at": info.get("now") or fallback_now,
        "actor": info.get("actor", "system"),
        "api_key_id": info.get("api_key_id"),
        "request": info.get("request"),
    }
    rows = [
        {
            **attribution,
            "action": action,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "before": before,
            "after": after,
        }
        for action, entity_type, entity_id, before, after in entries
    ]
    session.connection().execute(insert(AuditEntry), rows)


def is_recording(session: Session) -> bool:
    """Whether this session's changes are logged (its factory is installed, see :func:`install`), even before its
    first flush."""
    return bool(session.info.get(_ENABLED)) or _before_flush in list(session.dispatch.before_flush)


def record_inserted(session: Session, entity_type: str, rows: list[tuple[str, dict[str, Any]]], now: datetime) -> None:
    """Log the creation of rows written with a bulk Core insert (which the flush hooks cannot see): ``(entity id,
    column values)`` each, the values written like any logged state (an invoice's values hold its lines' column
    values under :data:`LINES`, as the flush hook writes them). ``now`` is the time used when the session has none
    (``session.info["now"]``)."""
    entries = [
        ("create", entity_type, entity_id, None, {k: _plain(v) for k, v in values.items() if k not in HIDDEN})
        for entity_id, values in rows
    ]
    _insert_entries(session, entries, now)


def _after_flush(session: Session, _context: Any) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending:
        _write_entries(session, pending)


def record_change(session: Session, obj: Any, *, action: str, before: dict[str, Any] | None) -> None:
    """Log a change written with a Core statement (which the flush hooks cannot see), e.g. an upsert.

    ``obj`` is the object as it is now (freshly loaded); ``before`` its state before the change (None if new).
    """
    _write_entries(session, [(action, obj, _entity_id(inspect(type(obj)), obj), before)])


def snapshot(obj: Any) -> dict[str, Any]:
    """An object's current state as the audit log writes it."""
    return _state(obj, before=False)


_mapper_events_installed = False


def _install_mapper_events() -> None:
    global _mapper_events_installed
    if _mapper_events_installed:
        return
    for cls in AUDITED:
        event.listen(cls, "after_insert", _after_insert)
        event.listen(cls, "after_update", _after_update)
        event.listen(cls, "after_delete", _after_delete)
    _mapper_events_installed = True


def install(factory: sessionmaker[Session]) -> None:
    """Log every change made through sessions of ``factory``."""
    _install_mapper_events()
    event.listen(factory, "before_flush", _before_flush)
    event.listen(factory, "after_flush", _after_flush)
