from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from fubble.audit.recorder import AUDITED
from fubble.db.models.audit import AuditEntry

# The kinds of object the audit log records (GET /audit-log?entity_type=...: anything else is a 422 naming these).
EntityType = StrEnum("EntityType", {name: name for name in sorted(AUDITED.values())})  # type: ignore[misc]


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
