"""Emitting webhook messages: written to the outbox in the caller's transaction, never sent from it.

:func:`emit` is called where a change happens (an invoice finalized, a subscription canceled, ...), inside the
transaction that makes the change, so the message exists if and only if the change was committed. It looks up the
endpoints subscribed to the event type (one small query per transaction, cached for the rest of it; nothing more when
none is subscribed: the payload is not even built) and, when there are some, writes the message (``webhook_messages``:
``{"type", "timestamp", "data"}`` as it will be sent) and fans it out at once: one ``pending`` attempt per subscribed
endpoint (``webhook_deliveries``), due now. An endpoint created later does not receive earlier messages.

The delivery worker (:mod:`fubble.webhooks.delivery`) sends the attempts; nothing here touches the network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from fubble.api.json import dumps
from fubble.db.models import WebhookMessage
from fubble.webhooks import repository
from fubble.webhooks.event_types import EventType
from fubble.webhooks.signing import new_message_id

Payload = BaseModel | Mapping[str, Any]
Data = Payload | Callable[[], Payload]

_CACHE = "fubble_webhook_subscriptions"  # session.info: (transaction, {event type: [endpoint ids]})


def subscribers(session: Session, event_type: EventType | str) -> list[int]:
    """The ids of the enabled endpoints subscribed to ``event_type``; read once per transaction of ``session``."""
    cached = session.info.get(_CACHE)
    current = session.get_transaction()
    if cached is None or current is None or cached[0] is not current:
        by_type: dict[str, list[int]] = {}
        for endpoint_id, event_types in repository.enabled_subscriptions(session):
            for name in event_types:
                by_type.setdefault(name, []).append(endpoint_id)
        cached = (session.get_transaction(), by_type)
        session.info[_CACHE] = cached
    return list(cached[1].get(str(event_type), ()))


def forget_subscriptions(session: Session) -> None:
    """Read the subscriptions again (after the transaction changed an endpoint)."""
    session.info.pop(_CACHE, None)


def emit(session: Session, event_type: EventType, data: Data, *, at: datetime) -> str | None:
    """Write one message of ``event_type`` with ``data`` (the object as the API returns it, or a function making it,
    called only when some endpoint is subscribed), dated ``at``; its id (``msg_...``), or ``None`` when no endpoint
    is subscribed (nothing is written)."""
    ids = emit_each(session, event_type, lambda: [data() if callable(data) else data], at=at)
    return ids[0] if ids else None


def emit_each(
    session: Session, event_type: EventType, items: Callable[[], Iterable[Payload]], *, at: datetime
) -> list[str]:
    """One message per payload of ``items()`` (called only when some endpoint is subscribed); their ids."""
    endpoint_ids = subscribers(session, event_type)
    if not endpoint_ids:
        return []
    messages = [
        WebhookMessage(
            message_id=new_message_id(),
            event_type=event_type.value,
            body=envelope(event_type, at, payload).decode("utf-8"),
            created_at=at,
        )
        for payload in items()
    ]
    if not messages:
        return []
    session.add_all(messages)
    session.flush()
    # Due at once: the request's (or job's) real now when the message is dated by a test clock ahead of it.
    now = session.info.get("now")
    due = min(at, now) if isinstance(now, datetime) else at
    repository.add_first_attempts(session, [m.id for m in messages], endpoint_ids, due_at=due)
    return [m.message_id for m in messages]


def envelope(event_type: EventType, at: datetime, payload: Payload) -> bytes:
    """The body of a message: Standard Webhooks' ``{"type", "timestamp", "data"}``, with exact decimals."""
    return dumps({"type": event_type.value, "timestamp": at, "data": payload})
