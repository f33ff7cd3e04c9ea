from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fubble.db.models.api_key import ApiKey


def by_prefix(session: Session, prefix: str) -> ApiKey | None:
    return session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()


def get(session: Session, key_id: int) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def list_page(session: Session, *, limit: int, offset: int) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id).limit(limit).offset(offset)))


def count_all(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ApiKey)) or 0)


def count_active_admins(session: Session) -> int:
    query = select(func.count()).select_from(ApiKey).where(ApiKey.scope == "admin", ApiKey.revoked_at.is_(None))
    return int(session.scalar(query) or 0)


def touch(session: Session, key_id: int, at: datetime) -> None:
    session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=at))
