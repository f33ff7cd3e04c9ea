from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fubble.db.models.audit import AuditEntry


def list_page(
    session: Session, *, entity_type: str | None, entity_id: str | None, limit: int, offset: int
) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id)
    if entity_type is not None:
        query = query.where(AuditEntry.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    return list(session.scalars(query.limit(limit).offset(offset)))
