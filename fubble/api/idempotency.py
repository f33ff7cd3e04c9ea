"""``Idempotency-Key`` for every POST, PUT and DELETE.

The first successful response to a key is stored in the same transaction as the change it made, so the two are
durable together: a retry (same key, same API key) gets the stored response back with ``Idempotent-Replay: true`` and
changes nothing; the same key with a different method, path, query or body is a 409. Records are kept for
``RETENTION`` (48 hours). A request that failed (4xx) stored nothing, so it may be retried with the same key.
Two requests racing with one key: the second one's insert of the record fails on the primary key, its transaction
(and everything it did) is rolled back, and the pipeline retries it, which then replays the first one's response.
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from fubble.db.models.idempotency import IdempotencyRecord
from fubble.errors import Conflict, InvalidInput

HEADER = "idempotency-key"
RETENTION = timedelta(hours=48)
MAX_KEY_LENGTH = 255


def validated_key(raw: str | None) -> str | None:
    if raw is None:
        return None
    key = raw.strip()
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters")
    return key


def request_hash(method: str, path: str, query: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def stored_response(session: Session, owner: int, key: str, fingerprint: str, now: datetime) -> Response | None:
    """The response to replay for ``key``, None if there is none (expired records are dropped), 409 if it differs."""
    record = session.scalars(
        select(IdempotencyRecord).where(IdempotencyRecord.api_key_id == owner, IdempotencyRecord.key == key)
    ).first()
    if record is None:
        return None
    if record.expires_at <= now:
        session.delete(record)
        session.flush()
        return None
    if record.request_hash != fingerprint:
        raise Conflict(
            f"Idempotency-Key {key!r} was already used for a different request ({record.method} {record.path}); "
            "use a new key for a new request"
        )
    headers = {"Idempotent-Replay": "true"}
    return Response(record.body, status_code=record.status_code, headers=headers, media_type=record.content_type)


def store(
    session: Session, owner: int, key: str, fingerprint: str, method: str, path: str, response: Response, now: datetime
) -> None:
    session.add(
        IdempotencyRecord(
            api_key_id=owner,
            key=key,
            request_hash=fingerprint,
            method=method,
            path=path[:2048],
            status_code=response.status_code,
            content_type=response.headers.get("content-type"),
            body=bytes(response.body),
            created_at=now,
            expires_at=now + RETENTION,
        )
    )
    session.flush()
    if random.random() < 0.001:
        session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= now))
