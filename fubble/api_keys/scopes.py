"""API key scopes and which routes each one may call.

====== =====================================================================
admin  everything, including API keys and the audit log
write  everything except key management and the audit log
ingest only sending usage events (POST /events/, POST /events/batch): safe to embed in a customer-facing service
read   every GET except key management and the audit log
====== =====================================================================
"""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    admin = "admin"
    write = "write"
    ingest = "ingest"
    read = "read"


PUBLIC = "public"  # a route that needs no key (/health, /ready, /-/metrics)

_GRANTS: dict[Scope, frozenset[Scope]] = {
    Scope.admin: frozenset(Scope),
    Scope.write: frozenset({Scope.write, Scope.ingest, Scope.read}),
    Scope.ingest: frozenset({Scope.ingest}),
    Scope.read: frozenset({Scope.read}),
}


def allows(granted: Scope, required: Scope) -> bool:
    return required in _GRANTS[granted]
