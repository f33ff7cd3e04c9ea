from __future__ import annotations

from typing import Annotated

from fastapi import Request

from fubble.api.deps import ClockDep, PageDep, SessionDep, id_path
from fubble.api.routing import new_router
from fubble.api_keys import repository, service
from fubble.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from fubble.api_keys.scopes import Scope
from fubble.errors_doc import responses

router = new_router("/api-keys", tag="api keys", scope=Scope.admin)
KeyId = Annotated[int, id_path("The API key's id")]


@router.post("", status_code=201, summary="Create an API key (admin)")
def create_key(body: ApiKeyCreate, session: SessionDep, clock: ClockDep) -> ApiKeyCreated:
    """The response holds the secret `key`, shown this once: only its hash is stored."""
    row, key = service.create(session, name=body.name, scope=body.scope, clock=clock)
    return ApiKeyCreated(**ApiKeyOut.of(row).model_dump(), key=key)


@router.get("", summary="List API keys (admin; secrets are never shown)")
def list_keys(session: SessionDep, page: PageDep) -> list[ApiKeyOut]:
    return [ApiKeyOut.of(row) for row in repository.list_page(session, limit=page.limit, offset=page.offset)]


@router.delete("/{key_id}", summary="Revoke an API key (admin)", responses=responses(404))
def revoke_key(key_id: KeyId, session: SessionDep, clock: ClockDep, request: Request) -> ApiKeyOut:
    """Revoking is immediate in this process and takes at most 5 seconds in other worker processes. The last
    active admin key cannot be revoked (409)."""
    row = service.revoke(session, key_id, clock=clock)
    request.app.state.auth.forget_when_committed(session, row.id)
    return ApiKeyOut.of(row)
