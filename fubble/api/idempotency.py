"""``Idempotency-Key`` for every POST, PUT and DELETE.

The first successful response to a key is stored in the same transaction as the change it made, so the two are
durable together: a retry (same key, same API key) gets the stored response back with ``Idempotent-Replay: true`` and
changes nothing; the same key with a different method, path, query or body is a 409. Records are kept for
``RETENTION`` (48 hours). A request that failed (4xx) stored nothing, so it may be retried with the same key.

Two requests racing with one key: each *claims* the key (inserts its record) before doing any work. On PostgreSQL
the second insert waits on the first one's uncommitted primary key; when the first commits, it fails with
:class:`KeyInUse` (before the second did anything), the pipeline retries it, and the retry replays the first one's
response. (Checking for the record only after the work would let the second request see the first one's effects
half-way, and answer e.g. "already finalized" instead of replaying.) If the first fails, its claim is rolled back and
the second proceeds. On SQLite, writers are serialized anyway.
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.responses import Response

from fubble.db.models.idempotency import IdempotencyRecord
from fubble.db.session import Database
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


class KeyInUse(Conflict):
    """Another transaction claimed the same key concurrently (and has committed by now): the pipeline retries, which
    replays it. (Only if retries run out is this answered, as a 409.)"""


def stored_response(session: Session, owner: int, key: str, fingerprint: str, now: datetime) -> Response | None:
    """The response to replay for ``key``, None if there is none (expired records are dropped), 409 if it differs."""
    record = session.scalars(
        select(IdempotencyRecord).where(IdempotencyRecord.api_key_id == owner, IdempotencyRecord.key == key)
    ).first()
    if record is None:
        return None
    if record.expires_at <= now:
        # A plain DELETE (not the ORM's, which insists on deleting exactly one row): a concurrent request may be
        # dropping the same expired record.
        session.expunge(record)
        session.execute(
            delete(IdempotencyRecord).where(
                IdempotencyRecord.api_key_id == owner,
                IdempotencyRecord.key == key,
                IdempotencyRecord.expires_at <= now,
            )
        )
        return None
    if record.request_hash != fingerprint:
        raise Conflict(
            f"Idempotency-Key {key!r} was already used for a different request ({record.method} {record.path}); "
            "use a new key for a new request"
        )
    if record.status_code == 0:  # a claim is never committed unfinished; this is only a safety net
        raise Conflict(f"a request with Idempotency-Key {key!r} is still in progress; retry later")
    headers = {"Idempotent-Replay": "true"}
    return Response(record.body, status_code=record.status_code, headers=headers, media_type=record.content_type)


def claim(
    session: Session, owner: int, key: str, fingerprint: str, method: str, path: str, now: datetime
) -> IdempotencyRecord:
    """Insert the (still empty) record for ``key`` before the request's work; :class:`KeyInUse` if another request
    holds it."""
    record = IdempotencyRecord(
        api_key_id=owner,
        key=key,
        request_hash=fingerprint,
        method=method,
        path=path[:2048],
        status_code=0,
        content_type=None,
        body=b"",
        created_at=now,
        expires_at=now + RETENTION,
    )
    session.add(record)
    try:
        session.flush()
    except IntegrityError as exc:
        raise KeyInUse(f"another request with Idempotency-Key {key!r} is in progress; retry it") from exc
    return record


def stored_response_committed(
    database: Database, owner: int, key: str, fingerprint: str, now: datetime
) -> Response | None:
    """:func:`stored_response` in a short transaction of its own, committed before the request's work (for routes
    that commit their work themselves: see :func:`store_after`)."""
    with database.transaction() as session:
        return stored_response(session, owner, key, fingerprint, now)


def store_after(
    session: Session,
    owner: int,
    key: str,
    fingerprint: str,
    method: str,
    path: str,
    response: Response,
    now: datetime,
) -> None:
    """For a route that commits its work in transactions of its own (a billing run, a test clock's advance), whose
    claim would hold SQLite's write lock against that work: the response is recorded after the work, with no claim
    before it. Two such requests racing with one key may then both do the work (which these routes make harmless:
    the second bills nothing); the first to finish records its response, which later retries replay."""
    if response.status_code >= 400:
        return
    try:
        with session.begin_nested():
            store(session, claim(session, owner, key, fingerprint, method, path, now), response, now)
    except KeyInUse:
        pass  # another request with this key finished first: its response is the one replayed


def store(session: Session, record: IdempotencyRecord, response: Response, now: datetime) -> None:
    """Fill the claimed record with the response to replay; an error response releases the claim instead."""
    if response.status_code >= 400:
        session.delete(record)
        session.flush()
        return
    record.status_code = response.status_code
    record.content_type = response.headers.get("content-type")
    record.body = bytes(response.body)
    session.flush()
    if random.random() < 0.001:
        session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= now))
