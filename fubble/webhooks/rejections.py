"""``events.rejected``: a batch of usage events refused as a whole (``POST /events/batch`` answering 422 or 409).

The refusal has no transaction to join (the batch's is rolled back: nothing of it is kept), so the message is written
in a transaction of its own, after that rollback, and only when some endpoint subscribes to the event type (one
small read). Accepted batches and single events never come here: ingestion's fast path is unchanged. Writing the
message never turns the refusal into another error: a failure is logged, the client gets its 422 or 409.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from fubble.clock import Clock
from fubble.db.session import Database
from fubble.errors import FubbleError
from fubble.webhooks import outbox
from fubble.webhooks.event_types import EventType

log = logging.getLogger("fubble.webhooks")

MAX_ERRORS = 100  # a message lists at most this many of the refused events (error_count tells how many in all)


def batch_refused(db: Database, clock: Clock, session: Session, error: FubbleError, event_count: int) -> None:
    """Roll back the refused batch's ``session``, then write ``events.rejected`` if anyone subscribes to it."""
    session.rollback()  # the batch's work goes; on SQLite this also frees the write lock for the message's own
    try:
        read = db.session(write=False)
        try:
            if not outbox.subscribers(read, EventType.EVENTS_REJECTED):
                return
        finally:
            read.close()
        now = clock.now()
        with db.transaction() as own:
            own.info.update(actor="events ingestion", now=now)
            outbox.emit(own, EventType.EVENTS_REJECTED, rejection(error, event_count), at=now)
    except Exception:  # the client's answer is the refusal, whatever happens here
        log.exception("could not record events.rejected")


def rejection(error: FubbleError, event_count: int) -> dict[str, Any]:
    """The message's data: ``{status_code, event_count, message, errors (at most MAX_ERRORS), error_count}``."""
    detail = error.detail
    errors: list[Any] = []
    if isinstance(detail, dict):
        message = str(detail.get("message", ""))
        errors = list(detail.get("errors") or [])
    elif isinstance(detail, list):  # entries located like pydantic's
        message = "the batch is invalid"
        errors = detail
    else:
        message = str(detail)
    return {
        "status_code": error.status_code,
        "event_count": event_count,
        "message": message,
        "errors": errors[:MAX_ERRORS],
        "error_count": len(errors),
    }
