from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from fubble.api.fields import Name
from fubble.api_keys.scopes import Scope
from fubble.db.models.api_key import ApiKey


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    scope: Scope = Field(description="admin, write, ingest or read")


class ApiKeyOut(BaseModel):
    id: int
    name: str
    scope: Scope
    prefix: str = Field(description="The public start of the key, to recognise it; the secret is never shown again.")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls(
            id=key.id,
            name=key.name,
            scope=Scope(key.scope),
            prefix=key.prefix,
            created_at=key.created_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret key. Shown only in this response: store it now.")
