"""API keys: ``fbl_<prefix>_<secret>``. Only the SHA-256 of the whole key is stored; verification finds the key by
its public prefix and compares hashes in constant time. Keys are 256-bit random, so a fast hash is the right one."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy.orm import Session

from fubble.api_keys import repository
from fubble.api_keys.scopes import Scope
from fubble.clock import Clock
from fubble.db.models.api_key import ApiKey
from fubble.errors import Conflict, NotFound

KEY_PREFIX = "fbl"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def split_key(key: str) -> str | None:
    """The public prefix of a well-formed key, else None."""
    parts = key.split("_")
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 12 or len(parts[2]) < 32:
        return None
    return parts[1]


def create(session: Session, *, name: str, scope: Scope, clock: Clock) -> tuple[ApiKey, str]:
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32).replace('_', 'A')}"
    row = ApiKey(name=name, scope=scope.value, prefix=prefix, key_hash=hash_key(key), created_at=clock.now())
    session.add(row)
    session.flush()
    return row, key


def verify(session: Session, presented: str) -> ApiKey | None:
    """The active key matching ``presented``, or None."""
    prefix = split_key(presented)
    if prefix is None:
        return None
    row = repository.by_prefix(session, prefix)
    if row is None or not hmac.compare_digest(row.key_hash, hash_key(presented)):
        return None
    return None if row.revoked_at is not None else row


def revoke(session: Session, key_id: int, *, clock: Clock) -> ApiKey:
    row = repository.get(session, key_id)
    if row is None:
        raise NotFound(f"API key {key_id} not found")
    if row.revoked_at is not None:
        return row
    if row.scope == Scope.admin and repository.count_active_admins(session) <= 1:
        raise Conflict("refusing to revoke the last active admin key; create another admin key first")
    row.revoked_at = clock.now()
    session.flush()
    return row


def create_initial_admin(session: Session, *, clock: Clock) -> str | None:
    """On first start, when no key exists at all, create an admin key and return it (else None)."""
    if repository.count_all(session) > 0:
        return None
    _row, key = create(session, name="initial admin", scope=Scope.admin, clock=clock)
    return key
