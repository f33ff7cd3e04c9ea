"""Authentication and scopes, through HTTP against the real app on both databases."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from fubble.clock import FrozenClock
from fubble.db.session import Database

CUSTOMER = {"name": "Acme Corp", "email": "billing@acmecorp.com"}
ADMIN_ONLY = ("/api-keys", "/audit-log", "/webhook-endpoints")
INGEST_ROUTES = {("POST", "/events/"), ("POST", "/events/batch")}
PUBLIC_ROUTES = ("/health", "/ready", "/payments/stripe/webhook")  # and GET /-/metrics (not in the OpenAPI document)


@contextmanager
def client_for(app: FastAPI, key: str) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {key}"}) as c:
        yield c


# POST operations that only read (a preview): the read scope is enough.
READ_POSTS = {("POST", "/plans/{plan_id}/preview")}


def operations(app: FastAPI) -> list[tuple[str, str]]:
    """Every (METHOD, concrete path) of the OpenAPI document, path parameters filled with 1."""
    ops = []
    for template, items in app.openapi()["paths"].items():
        path = re.sub(r"\{[^}]+\}", "1", template)
        for method in items:
            ops.append((method.upper(), path))
    return ops


def send(client: TestClient, method: str, path: str) -> Any:
    if method == "GET":
        return client.get(path)
    return client.request(method, path, json={})


# --- 401s -------------------------------------------------------------------------------------------------------


def test_no_key_is_401_with_bearer_challenge(anon_client: TestClient) -> None:
    for method, path in (("GET", "/customers/"), ("POST", "/customers/"), ("GET", "/api-keys"), ("POST", "/events/")):
        response = anon_client.request(method, path, json=CUSTOMER if method == "POST" else None)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
        assert "detail" in response.json()
    assert anon_client.get("/customers/", headers={"Authorization": ""}).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Token fbl_000000000000_" + "a" * 43,
        "fbl_000000000000_" + "a" * 43,
        "Bearer fbl_000000000000_" + "a" * 43,  # well-formed but unknown
        "Bearer not-a-key",
        "Bearer fbl__",
        "Bearer " + "x" * 5000,
    ],
)
def test_malformed_or_unknown_key_is_401(anon_client: TestClient, header: str) -> None:
    response = anon_client.get("/customers/", headers={"Authorization": header})
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_tampered_key_is_401(anon_client: TestClient, admin_key: str) -> None:
    """Right prefix, wrong secret: the hash comparison fails."""
    tampered = admin_key[:-1] + ("B" if admin_key[-1] != "B" else "C")
    assert anon_client.get("/customers/", headers={"Authorization": f"Bearer {tampered}"}).status_code == 401
    assert anon_client.get("/customers/", headers={"Authorization": f"Bearer {admin_key}"}).status_code == 200
    assert anon_client.get("/customers/", headers={"Authorization": f"bearer   {admin_key}  "}).status_code == 200


def test_revoked_key_is_401(client: TestClient, app: FastAPI, make_key: Callable[..., str]) -> None:
    key = make_key("write", "to revoke")
    with client_for(app, key) as c:
        assert c.get("/customers/").status_code == 200  # cached as valid now
        key_id = next(k["id"] for k in client.get("/api-keys").json() if k["name"] == "to revoke")
        assert client.delete(f"/api-keys/{key_id}").status_code == 200
        response = c.get("/customers/")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"


# --- public routes and documentation ----------------------------------------------------------------------------


def test_health_docs_and_openapi_are_public(anon_client: TestClient) -> None:
    assert anon_client.get("/health").status_code == 200
    assert anon_client.get("/ready").status_code == 200
    assert anon_client.get("/-/metrics").status_code == 200
    assert anon_client.get("/docs").status_code == 200
    assert anon_client.get("/redoc").status_code == 200
    response = anon_client.get("/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    scopes = {"admin", "write", "ingest", "read"}
    for path, items in schema["paths"].items():
        for method, operation in items.items():
            scope = operation.get("x-required-scope")
            if path in PUBLIC_ROUTES:
                assert scope == "public"
                assert "security" not in operation
                continue
            assert scope in scopes, (method, path, scope)
            assert operation["security"] == [{"bearerAuth": []}], (method, path)
            assert "401" in operation["responses"] and "403" in operation["responses"], (method, path)


def test_documented_scopes_match_the_rules(app: FastAPI) -> None:
    for path, items in app.openapi()["paths"].items():
        for method, operation in items.items():
            scope = operation["x-required-scope"]
            if path in PUBLIC_ROUTES:
                expected = "public"
            elif path.startswith(ADMIN_ONLY):
                expected = "admin"
            elif (method.upper(), path) in INGEST_ROUTES:
                expected = "ingest"
            else:
                expected = "read" if method == "get" or (method.upper(), path) in READ_POSTS else "write"
            assert scope == expected, (method, path)


# --- keys at rest -----------------------------------------------------------------------------------------------


def test_keys_are_stored_only_as_hashes(db: Database, make_key: Callable[..., str], admin_key: str) -> None:
    secrets = [admin_key, make_key("read"), make_key("ingest")]
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM api_keys")).mappings().all()
    assert len(rows) == 3
    dump = repr([dict(r) for r in rows])
    for secret in secrets:
        assert secret not in dump
        assert secret.split("_")[2] not in dump  # the secret part, not just the whole key
    for row in rows:
        assert re.fullmatch(r"[0-9a-f]{64}", row["key_hash"])


def test_last_used_at_is_set(
    client: TestClient, app: FastAPI, make_key: Callable[..., str], clock: FrozenClock
) -> None:
    key = make_key("read", "reader")
    before = {k["name"]: k for k in client.get("/api-keys").json()}
    assert before["reader"]["last_used_at"] is None
    assert before["test admin"]["last_used_at"] is not None  # the admin client just used its key
    with client_for(app, key) as c:
        assert c.get("/customers/").status_code == 200
    after = {k["name"]: k for k in client.get("/api-keys").json()}
    assert after["reader"]["last_used_at"] == clock.now().isoformat().replace("+00:00", "Z")


# --- scopes, exhaustively ---------------------------------------------------------------------------------------


def test_every_operation_enforces_its_scope(app: FastAPI, make_key: Callable[..., str], admin_key: str) -> None:
    keys = {"ingest": make_key("ingest"), "read": make_key("read"), "write": make_key("write"), "admin": admin_key}
    ops = operations(app)
    assert len(ops) >= 30
    for scope, key in keys.items():
        with client_for(app, key) as c:
            for method, path in ops:
                response = send(c, method, path)
                status = response.status_code
                where = (scope, method, path, status, response.text[:200])
                assert status not in (401, 500), where
                admin_only = path.startswith(ADMIN_ONLY)
                if path in PUBLIC_ROUTES:
                    allowed = True
                elif scope == "ingest":
                    allowed = (method, path) in INGEST_ROUTES
                elif scope == "read":
                    allowed = (method == "GET" or (method, path) == ("POST", "/plans/1/preview")) and not admin_only
                elif scope == "write":
                    allowed = not admin_only
                else:
                    allowed = True
                if allowed:
                    assert status != 403, where
                    if scope == "ingest" and path not in PUBLIC_ROUTES:
                        assert status in (201, 404, 422), where
                else:
                    assert status == 403, where
                    assert "detail" in response.json()


def test_read_and_ingest_keys_cannot_write(client: TestClient, app: FastAPI, make_key: Callable[..., str]) -> None:
    for scope in ("read", "ingest"):
        with client_for(app, make_key(scope)) as c:
            assert c.post("/customers/", json=CUSTOMER).status_code == 403
            assert c.post("/plans/", json={"name": "P", "billing_frequency": "monthly"}).status_code == 403
            assert c.post("/invoices/generate", json={}).status_code == 403
            assert c.post("/api-keys", json={"name": "sneaky", "scope": "admin"}).status_code == 403
    with client_for(app, make_key("read")) as c:
        assert c.post("/events/", json={"customer_id": 1, "metric_name": "api_calls", "quantity": 1}).status_code == 403
    assert client.get("/customers/").json() == []
    assert client.get("/plans/").json() == []
    assert client.get("/invoices/").json() == []
    assert [k["name"] for k in client.get("/api-keys").json()] == [
        "test admin",
        "test read",
        "test ingest",
        "test read",
    ]
    assert {e["entity_type"] for e in client.get("/audit-log").json()} == {"api_key"}  # only make_key's


def test_ingest_key_can_send_events(client: TestClient, app: FastAPI, make_key: Callable[..., str]) -> None:
    plan = {
        "name": "Metered",
        "billing_frequency": "monthly",
        "price_components": [
            {
                "metric_name": "api_calls",
                "pricing_type": "tiered",
                "pricing_details": {"tiers": [{"start": 0, "end": None, "price": "0.01"}]},
            }
        ],
    }
    assert client.post("/plans/", json=plan).status_code == 201
    customer_id = client.post("/customers/", json=CUSTOMER).json()["id"]
    event = {"customer_id": customer_id, "metric_name": "api_calls", "quantity": 3}
    with client_for(app, make_key("ingest")) as c:
        assert c.post("/events/", json=event).status_code == 201
        batch = c.post("/events/batch", json={"events": [event, event]})
        assert batch.status_code in (200, 201), batch.text
        assert c.get(f"/events/customers/{customer_id}").status_code == 403
    assert len(client.get(f"/events/customers/{customer_id}").json()) == 3


def test_a_failed_last_used_update_does_not_fail_the_request(
    client: TestClient, app: FastAPI, make_key: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def busy(*_args: object) -> None:
        raise OperationalError("UPDATE api_keys", {}, Exception("database is locked"))

    key = make_key("read", "busy reader")
    with monkeypatch.context() as patch:
        patch.setattr("fubble.api_keys.repository.touch", busy)
        with client_for(app, key) as c:
            assert c.get("/customers/").status_code == 200
    with client_for(app, key) as c:  # retried on the next request
        assert c.get("/customers/").status_code == 200
    listed = {k["name"]: k for k in client.get("/api-keys").json()}
    assert listed["busy reader"]["last_used_at"] is not None
