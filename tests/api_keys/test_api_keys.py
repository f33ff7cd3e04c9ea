"""The /api-keys routes: create, list, revoke (admin only)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fubble.clock import FrozenClock

NOW = "2024-01-15T12:00:00Z"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_create_shows_the_secret_once(client: TestClient, anon_client: TestClient, clock: FrozenClock) -> None:
    response = client.post("/api-keys", json={"name": "web app ingest", "scope": "ingest"})
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == {"id", "name", "scope", "prefix", "created_at", "last_used_at", "revoked_at", "key"}
    assert created["name"] == "web app ingest"
    assert created["scope"] == "ingest"
    assert created["created_at"] == NOW
    assert created["last_used_at"] is None and created["revoked_at"] is None
    key = created["key"]
    assert key.startswith(f"fbl_{created['prefix']}_")
    assert len(key) >= 40
    # The key works, for its scope only.
    event = {"customer_id": 1, "metric_name": "api_calls", "quantity": 1}
    assert anon_client.post("/events/", json=event, headers=bearer(key)).status_code in (404, 422)
    assert anon_client.get("/customers/", headers=bearer(key)).status_code == 403
    # Never shown again.
    listed = client.get("/api-keys")
    assert key not in listed.text
    assert key.split("_")[2] not in listed.text


def test_each_key_is_different(client: TestClient) -> None:
    keys = [client.post("/api-keys", json={"name": "same", "scope": "read"}).json() for _ in range(3)]
    assert len({k["key"] for k in keys}) == 3
    assert len({k["prefix"] for k in keys}) == 3
    assert len({k["id"] for k in keys}) == 3


def test_list_has_no_secret_and_no_hash(client: TestClient, admin_key: str) -> None:
    created = client.post("/api-keys", json={"name": "reporting", "scope": "read"}).json()
    response = client.get("/api-keys")
    assert response.status_code == 200
    listed = response.json()
    assert [k["name"] for k in listed] == ["test admin", "reporting"]
    assert [k["scope"] for k in listed] == ["admin", "read"]
    for item in listed:
        assert set(item) == {"id", "name", "scope", "prefix", "created_at", "last_used_at", "revoked_at"}
    assert admin_key not in response.text and created["key"] not in response.text
    assert "hash" not in response.text
    assert client.get("/api-keys", params={"limit": 1, "offset": 1}).json() == [listed[1]]
    assert client.get("/api-keys", params={"limit": 0}).status_code == 422


def test_revoke_takes_effect_at_once(client: TestClient, anon_client: TestClient, clock: FrozenClock) -> None:
    created = client.post("/api-keys", json={"name": "temp", "scope": "write"}).json()
    assert anon_client.get("/customers/", headers=bearer(created["key"])).status_code == 200
    clock.set(clock.now().replace(hour=13))
    response = client.delete(f"/api-keys/{created['id']}")
    assert response.status_code == 200, response.text
    assert response.json()["revoked_at"] == "2024-01-15T13:00:00Z"
    assert "key" not in response.json()
    assert anon_client.get("/customers/", headers=bearer(created["key"])).status_code == 401
    # Revoking again changes nothing.
    again = client.delete(f"/api-keys/{created['id']}")
    assert again.status_code == 200
    assert again.json()["revoked_at"] == "2024-01-15T13:00:00Z"
    listed = {k["id"]: k for k in client.get("/api-keys").json()}
    assert listed[created["id"]]["revoked_at"] == "2024-01-15T13:00:00Z"


def test_revoking_the_last_active_admin_is_409(client: TestClient, anon_client: TestClient) -> None:
    admin_id = client.get("/api-keys").json()[0]["id"]
    response = client.delete(f"/api-keys/{admin_id}")
    assert response.status_code == 409
    assert "last active admin" in response.json()["detail"]
    assert client.get("/customers/").status_code == 200  # still valid
    # With a second admin, the first can go; the second is then the last.
    second = client.post("/api-keys", json={"name": "admin 2", "scope": "admin"}).json()
    assert client.delete(f"/api-keys/{admin_id}").status_code == 200
    assert client.get("/customers/").status_code == 401
    admin2 = bearer(second["key"])
    assert anon_client.delete(f"/api-keys/{second['id']}", headers=admin2).status_code == 409
    assert anon_client.get("/api-keys", headers=admin2).status_code == 200


def test_revoked_admins_do_not_count_as_active(client: TestClient, anon_client: TestClient) -> None:
    first_id = client.get("/api-keys").json()[0]["id"]
    second = client.post("/api-keys", json={"name": "admin 2", "scope": "admin"}).json()
    assert client.delete(f"/api-keys/{second['id']}").status_code == 200
    assert client.delete(f"/api-keys/{first_id}").status_code == 409


def test_unknown_key_id_is_404(client: TestClient) -> None:
    response = client.delete("/api-keys/999")
    assert response.status_code == 404
    assert "999" in response.json()["detail"]
    assert client.delete("/api-keys/0").status_code == 422
    assert client.delete("/api-keys/abc").status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "scope": "superuser"},
        {"name": "x", "scope": "ADMIN"},
        {"name": "x", "scope": None},
        {"name": "x"},
        {"scope": "read"},
        {"name": "", "scope": "read"},
        {"name": "x" * 256, "scope": "read"},
        {"name": "x", "scope": "read", "key": "fbl_chosen_by_me"},
    ],
)
def test_bad_create_is_422_and_creates_nothing(client: TestClient, body: dict[str, object]) -> None:
    response = client.post("/api-keys", json=body)
    assert response.status_code == 422, response.text
    assert len(client.get("/api-keys").json()) == 1


@pytest.mark.parametrize("scope", ["write", "read", "ingest"])
def test_non_admin_keys_cannot_manage_keys(
    client: TestClient, anon_client: TestClient, make_key: Callable[..., str], scope: str
) -> None:
    headers = bearer(make_key(scope))
    assert anon_client.get("/api-keys", headers=headers).status_code == 403
    assert anon_client.post("/api-keys", json={"name": "x", "scope": "admin"}, headers=headers).status_code == 403
    assert anon_client.delete("/api-keys/1", headers=headers).status_code == 403
    assert len(client.get("/api-keys").json()) == 2


def test_anonymous_cannot_manage_keys(anon_client: TestClient) -> None:
    assert anon_client.get("/api-keys").status_code == 401
    assert anon_client.post("/api-keys", json={"name": "x", "scope": "admin"}).status_code == 401
    assert anon_client.delete("/api-keys/1").status_code == 401


def test_revocation_wins_over_a_concurrent_verification(
    client: TestClient, anon_client: TestClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request that verified the key while the revocation was not yet committed may have cached it as valid: the
    cache is cleared again once the revocation commits."""
    created = client.post("/api-keys", json={"name": "racy", "scope": "read"}).json()
    headers = bearer(created["key"])
    assert anon_client.get("/customers/", headers=headers).status_code == 200
    auth = app.state.auth
    stale = dict(auth._cache)  # what a concurrent verification would cache, before the commit
    forget = auth.forget
    calls: list[int] = []

    def forget_then_race(key_id: int) -> None:
        forget(key_id)
        calls.append(key_id)
        if len(calls) == 1:
            auth._cache.update(stale)

    monkeypatch.setattr(auth, "forget", forget_then_race)
    assert client.delete(f"/api-keys/{created['id']}").status_code == 200
    assert calls == [created["id"], created["id"]]
    assert anon_client.get("/customers/", headers=headers).status_code == 401


def test_cli_style_names_are_validated_by_the_api(client: TestClient) -> None:
    assert client.post("/api-keys", json={"name": "   ", "scope": "read"}).status_code == 422
    assert client.post("/api-keys", json={"name": "a\u0000b", "scope": "read"}).status_code == 422
