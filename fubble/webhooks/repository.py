"""Queries of the webhook endpoints, the outbox and the delivery attempts, and the workers' claims on attempts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from fubble.db.models import WebhookDelivery, WebhookEndpoint, WebhookMessage

PENDING, SUCCEEDED, FAILED, CANCELED = "pending", "succeeded", "failed", "canceled"
MADE = (SUCCEEDED, FAILED)  # the states of an attempt that was made (the log lists those)

Attempt = tuple[WebhookDelivery, str, str]  # an attempt with its message's id (msg_...) and event type


# --- endpoints ------------------------------------------------------------------------------------------------------


def get_endpoint(session: Session, endpoint_id: int) -> WebhookEndpoint | None:
    """The endpoint, unless it does not exist or was deleted."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    return endpoint if endpoint is not None and endpoint.deleted_at is None else None


def list_endpoints(session: Session, *, limit: int, offset: int) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).where(WebhookEndpoint.deleted_at.is_(None)).order_by(WebhookEndpoint.id)
    return list(session.scalars(query.limit(limit).offset(offset)))


def enabled_subscriptions(session: Session) -> list[tuple[int, list[str]]]:
    """``(endpoint id, event types)`` of every endpoint that receives messages (neither disabled nor deleted)."""
    query = select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(
        WebhookEndpoint.deleted_at.is_(None), WebhookEndpoint.disabled.is_(False)
    )
    return [
        (int(endpoint_id), list(types)) for endpoint_id, types in session.execute(query.order_by(WebhookEndpoint.id))
    ]


def cancel_pending(session: Session, endpoint_id: int) -> None:
    """The endpoint's attempts not made yet will not be made (it was deleted)."""
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.state == PENDING)
        .values(state=CANCELED, claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )


# --- attempts -------------------------------------------------------------------------------------------------------


def add_first_attempts(
    session: Session, message_ids: Sequence[int], endpoint_ids: Sequence[int], *, due_at: datetime
) -> None:
    rows = [
        {"endpoint_id": e, "message_id": m, "attempt": 1, "step": 1, "state": PENDING, "due_at": due_at}
        for m in message_ids
        for e in endpoint_ids
    ]
    if rows:
        session.execute(insert(WebhookDelivery), rows)


def add_attempt(
    session: Session, endpoint_id: int, message_id: int, *, step: int | None, due_at: datetime
) -> WebhookDelivery:
    """A new ``pending`` attempt of the message to the endpoint, numbered after its earlier ones."""
    last = session.scalar(
        select(func.max(WebhookDelivery.attempt)).where(
            WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.message_id == message_id
        )
    )
    row = WebhookDelivery(
        endpoint_id=endpoint_id,
        message_id=message_id,
        attempt=int(last or 0) + 1,
        step=step,
        state=PENDING,
        due_at=due_at,
    )
    session.add(row)
    session.flush()
    return row


def _log_query() -> Any:
    return select(WebhookDelivery, WebhookMessage.message_id, WebhookMessage.event_type).join(
        WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id
    )


def attempts_page(session: Session, endpoint_id: int, *, limit: int, offset: int) -> list[Attempt]:
    """The attempts made to the endpoint, newest first (by id): ``(delivery, message id, event type)`` each."""
    query = _log_query().where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.state.in_(MADE))
    rows = session.execute(query.order_by(WebhookDelivery.id.desc()).limit(limit).offset(offset))
    return [(delivery, str(message_id), str(event_type)) for delivery, message_id, event_type in rows]


def get_attempt(session: Session, endpoint_id: int, delivery_id: int) -> Attempt | None:
    """One attempt made to the endpoint: ``(delivery, message id, event type)``."""
    query = _log_query().where(
        WebhookDelivery.id == delivery_id,
        WebhookDelivery.endpoint_id == endpoint_id,
        WebhookDelivery.state.in_(MADE),
    )
    row = session.execute(query).first()
    return None if row is None else (row[0], str(row[1]), str(row[2]))


# --- the workers' claims --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """An attempt a worker claimed, with what sending it needs."""

    id: int
    endpoint_id: int
    url: str
    secret: str
    previous_secret: str | None  # the secret a rotation replaced, signing too until previous_secret_expires_at
    previous_secret_expires_at: datetime | None
    message_pk: int
    message_id: str
    event_type: str
    body: str
    attempt: int
    step: int | None

    def signing_secrets(self, at: datetime) -> list[str]:
        """The secrets an attempt made at ``at`` is signed with: the current one, and the one a rotation replaced
        while it has not expired."""
        expires = self.previous_secret_expires_at
        if self.previous_secret is None or expires is None or at >= expires:
            return [self.secret]
        return [self.secret, self.previous_secret]


def _due(due_by: datetime, lease_now: datetime) -> Any:
    return (
        select(WebhookDelivery.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookDelivery.state == PENDING,
            WebhookDelivery.due_at <= due_by,
            (WebhookDelivery.claimed_until.is_(None)) | (WebhookDelivery.claimed_until <= lease_now),
            WebhookEndpoint.deleted_at.is_(None),
            WebhookEndpoint.disabled.is_(False),
        )
    )


def any_due(session: Session, *, due_by: datetime, lease_now: datetime) -> bool:
    """Whether some attempt is due and unclaimed: one indexed read, so an idle worker never opens a write
    transaction (on SQLite, the write lock) just to find nothing."""
    return session.scalar(_due(due_by, lease_now).limit(1)) is not None


def claim(
    session: Session, *, due_by: datetime, lease_now: datetime, until: datetime, holder: str, limit: int
) -> list[Claimed]:
    """Claim up to ``limit`` attempts due by ``due_by`` (earliest first) for ``holder`` until ``until``: pending, of
    an enabled endpoint, and not claimed by anyone whose claim lasts past ``lease_now``. PostgreSQL locks the rows
    it takes and skips those another worker is taking (``FOR UPDATE SKIP LOCKED``); SQLite runs one writer at a
    time. Either way, two workers never hold the same attempt at once."""
    query = _due(due_by, lease_now).order_by(WebhookDelivery.due_at, WebhookDelivery.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
    ids = [int(i) for i in session.scalars(query)]
    if not ids:
        return []
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids))
        .values(claimed_by=holder, claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    details = (
        select(
            WebhookDelivery.id,
            WebhookDelivery.endpoint_id,
            WebhookEndpoint.url,
            WebhookEndpoint.secret,
            WebhookEndpoint.previous_secret,
            WebhookEndpoint.previous_secret_expires_at,
            WebhookMessage.id,
            WebhookMessage.message_id,
            WebhookMessage.event_type,
            WebhookMessage.body,
            WebhookDelivery.attempt,
            WebhookDelivery.step,
        )
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id)
        .where(WebhookDelivery.id.in_(ids))
        .order_by(WebhookDelivery.due_at, WebhookDelivery.id)
    )
    return [Claimed(*tuple(row)) for row in session.execute(details)]  # the columns in the fields' order


def record(
    session: Session,
    claimed: Claimed,
    *,
    holder: str,
    at: datetime,
    status_code: int | None,
    error: str | None,
    next_attempt_at: datetime | None,
) -> bool:
    """Record the outcome of a claimed attempt (and queue the next one at ``next_attempt_at``); ``False`` when the
    claim was lost meanwhile (it expired and another worker took the attempt, or the endpoint was deleted)."""
    done = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == claimed.id,
            WebhookDelivery.state == PENDING,
            WebhookDelivery.claimed_by == holder,
        )
        .values(
            state=SUCCEEDED if error is None else FAILED,
            at=at,
            status_code=status_code,
            error=None if error is None else error[:500],
            next_attempt_at=next_attempt_at,
            claimed_by=None,
            claimed_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        return False
    if next_attempt_at is not None:
        assert claimed.step is not None
        add_attempt(session, claimed.endpoint_id, claimed.message_pk, step=claimed.step + 1, due_at=next_attempt_at)
    return True
