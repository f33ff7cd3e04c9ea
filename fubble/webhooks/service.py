"""Webhook endpoints: registered, changed, deleted; their delivery log and the replay of one attempt.

Rules kept here:

* An endpoint's URL is checked by the SSRF guard (:mod:`fubble.webhooks.urls`) whenever it is saved; its secret is
  made when it is created or rotated, and shown only then. A rotation keeps the secret it replaces signing beside the
  new one until it expires (a second rotation drops the one before: at most two secrets sign).
* A deleted endpoint disappears from the API (404) and its attempts not yet made are canceled; its row and log stay in
  the database. A disabled one gets no new messages; its queued attempts wait until it is enabled again.
* A replay queues one new attempt of an attempt's message to its endpoint, due now; it is not retried.

Nothing here commits; the request's unit of work does.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from fubble.clock import Clock
from fubble.config import Settings
from fubble.db.models import WebhookDelivery, WebhookEndpoint
from fubble.errors import InvalidInput, NotFound
from fubble.webhooks import outbox, repository, urls
from fubble.webhooks.schemas import DeliveryOut, EndpointCreate, EndpointUpdate
from fubble.webhooks.signing import new_secret


def create(session: Session, data: EndpointCreate, *, clock: Clock, settings: Settings) -> WebhookEndpoint:
    url = urls.check_url(data.url, allow_private=settings.webhook_allow_private_urls)
    now = clock.now()
    row = WebhookEndpoint(
        url=url,
        description=data.description,
        event_types=[event_type.value for event_type in data.event_types],
        secret=new_secret(),
        disabled=data.disabled,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    outbox.forget_subscriptions(session)
    return row


def get(session: Session, endpoint_id: int) -> WebhookEndpoint:
    row = repository.get_endpoint(session, endpoint_id)
    if row is None:
        raise NotFound(f"webhook endpoint {endpoint_id} not found")
    return row


def update(
    session: Session, endpoint_id: int, data: EndpointUpdate, *, clock: Clock, settings: Settings
) -> WebhookEndpoint:
    row = get(session, endpoint_id)
    changes = data.model_dump(exclude_unset=True)
    for name in ("url", "event_types", "disabled"):
        if name in changes and changes[name] is None:
            raise InvalidInput.at(("body", name), f"{name} cannot be null; leave it out to keep it")
    if data.url is not None:
        row.url = urls.check_url(data.url, allow_private=settings.webhook_allow_private_urls)
    if data.event_types is not None:
        row.event_types = [event_type.value for event_type in data.event_types]
    if "description" in changes:
        row.description = data.description
    if data.disabled is not None:
        row.disabled = data.disabled
    row.updated_at = clock.now()
    session.flush()
    outbox.forget_subscriptions(session)
    return row


def rotate_secret(
    session: Session, endpoint_id: int, expire_previous_in: timedelta, *, clock: Clock
) -> WebhookEndpoint:
    """A new secret for the endpoint; the current one keeps signing until ``expire_previous_in`` from now (not at all
    when it is zero). Attempts already queued are signed with the secrets in force when they are made."""
    row = get(session, endpoint_id)
    now = clock.now()
    keep = expire_previous_in > timedelta(0)
    row.previous_secret = row.secret if keep else None
    row.previous_secret_expires_at = now + expire_previous_in if keep else None
    row.secret = new_secret()
    row.updated_at = now
    session.flush()
    return row


def delete(session: Session, endpoint_id: int, *, clock: Clock) -> None:
    row = get(session, endpoint_id)
    row.deleted_at = row.updated_at = clock.now()
    session.flush()
    repository.cancel_pending(session, endpoint_id)
    outbox.forget_subscriptions(session)


def deliveries(session: Session, endpoint_id: int, *, limit: int, offset: int) -> list[DeliveryOut]:
    """The attempts made to the endpoint, newest first (404 unknown endpoint)."""
    get(session, endpoint_id)
    rows = repository.attempts_page(session, endpoint_id, limit=limit, offset=offset)
    return [DeliveryOut.of(delivery, message_id, event_type) for delivery, message_id, event_type in rows]


def replay(session: Session, endpoint_id: int, delivery_id: int, *, clock: Clock) -> tuple[WebhookDelivery, str, str]:
    """Queue one new attempt of the message of attempt ``delivery_id`` to the endpoint, due now; the new attempt
    with its message id and event type. 404 for an unknown endpoint or an attempt not in its log."""
    get(session, endpoint_id)
    found = repository.get_attempt(session, endpoint_id, delivery_id)
    if found is None:
        raise NotFound(f"delivery {delivery_id} not found for webhook endpoint {endpoint_id}")
    delivery, message_id, event_type = found
    queued = repository.add_attempt(session, endpoint_id, delivery.message_id, step=None, due_at=clock.now())
    return queued, message_id, event_type
