from __future__ import annotations

from typing import Annotated

from fastapi import Query

from fubble.api.deps import PageDep, SessionDep
from fubble.api.fields import ShortText
from fubble.api.routing import new_router
from fubble.api_keys.scopes import Scope
from fubble.audit import repository
from fubble.audit.schemas import AuditEntryOut, EntityType

router = new_router("/audit-log", tag="audit log", scope=Scope.admin)


@router.get("", summary="Read the audit log (admin)")
def list_audit_log(
    session: SessionDep,
    page: PageDep,
    entity_type: Annotated[EntityType | None, Query(description="Only entries of this kind of object.")] = None,
    entity_id: Annotated[ShortText | None, Query(description="The object's id")] = None,
) -> list[AuditEntryOut]:
    """Every change to customers, plans, subscriptions, invoices, pricing factors, metrics and API keys: who (the API
    key's name), when, and the object's state before and after. Oldest first."""
    rows = repository.list_page(
        session,
        entity_type=entity_type and entity_type.value,
        entity_id=entity_id,
        limit=page.limit,
        offset=page.offset,
    )
    return [AuditEntryOut.of(row) for row in rows]
