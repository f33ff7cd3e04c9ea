from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import text

from fubble.api.deps import SessionDep
from fubble.api.routing import new_router
from fubble.api_keys.scopes import PUBLIC

router = new_router(tag="health", scope=PUBLIC)


class Health(BaseModel):
    status: str
    database: str


@router.get("/health", summary="Liveness and database check (no API key needed)")
def health(session: SessionDep) -> Health:
    session.execute(text("SELECT 1"))
    return Health(status="ok", database=session.get_bind().dialect.name)
