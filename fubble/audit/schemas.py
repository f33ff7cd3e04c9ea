from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from fubble.db.models.audit import AuditEntry


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str
    api_key_id: int | None
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    request: str | None

    @classmethod
    def of(cls, row: AuditEntry) -> AuditEntryOut:
        return cls(
            id=row.id,
            at=row.at,
            actor=row.actor,
            api_key_id=row.api_key_id,
            action=row.action,
            entity_type=row.entity_type,
            entity_id=row.entity_id,
            before=row.before,
            after=row.after,
            request=row.request,
        )
