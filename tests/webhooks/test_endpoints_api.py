"""POST/GET/PUT/DELETE /webhook-endpoints over HTTP: the secret shown once, validation, the SSRF guard, admin only."""

from __future__ import annotations

import base64
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.webhooks.conftest import endpoint

URL = "https://hooks.example.com/fubble"


def test_create_read_update_list_and_delete(client: TestClient) -> None:
    created = endpoint(client, URL, "invoice.finalized", "invoice.paid", description="accounting")
    secret = created.pop("secret")
    assert secret.startswith("whsec_") and len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert created == {
        "id": created["id"],
        "url": URL,
        "event_types": ["invoice.finalized", "invoice.paid"],
        "description": "accounting",
        "disabled": False,
        "previous_secret_expires_at": None,
        "created_at": "2024-01-15T12:00:00Z",
        "updated_at": "2024-01-15T12:00:00Z",
    }
    path = f"/webhook-endpoints/{created['id']}"
    assert client.get(path).json() == created  # the secret is never shown again
    other = endpoint(client, "http://hooks.example.com/other", "events.rejected")
    assert other["secret"] != secret
    assert [e["id"] for e in client.get("/webhook-endpoints").json()] == [created["id"], other["id"]]
    assert [e["id"] for e in client.get("/webhook-endpoints/", params={"limit": 1, "offset": 1}).json()] == [
        other["id"]
    ]
    assert "whsec_" not in client.get("/webhook-endpoints").text

    changed = client.put(path, json={"event_types": ["credit_note.created"], "description": None, "disabled": True})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        **created,
        "event_types": ["credit_note.created"],
        "description": None,
        "disabled": True,
    }
    assert client.put(path, json={"url": "https://elsewhere.example.com/x"}).json()["url"] == (
        "https://elsewhere.example.com/x"
    )

    assert client.delete(path).status_code == 204
    for response in (
        client.get(path),
        client.put(path, json={}),
        client.delete(path),
        client.get(path + "/deliveries"),
    ):
        assert response.status_code == 404, response.text
    assert [e["id"] for e in client.get("/webhook-endpoints").json()] == [other["id"]]


def test_invalid_endpoints_are_422_naming_the_field(client: TestClient) -> None:
    good = {"url": URL, "event_types": ["invoice.paid"]}
    for field, value in (
        ("url", "ftp://hooks.example.com/x"),
        ("url", "hooks.example.com/x"),
        ("url", "https://"),
        ("url", "http://[::1"),
        ("url", "https://hooks.example.com:99999/"),
        ("url", "https://hooks.example.com/a b"),
        ("url", ""),
        ("url", "https://x.example/" + "a" * 2048),
        ("url", None),
        ("event_types", []),
        ("event_types", ["invoice.paid", "invoice.paid"]),
        ("event_types", ["invoice.exploded"]),
        ("event_types", "invoice.paid"),
        ("description", "x" * 256),
        ("disabled", "yes"),
    ):
        response = client.post("/webhook-endpoints", json={**good, field: value})
        assert response.status_code == 422, (field, value, response.text)
        assert response.json()["detail"][0]["loc"][:2] == ["body", field], (field, value, response.text)
    assert client.post("/webhook-endpoints", json={"url": URL}).status_code == 422
    assert client.post("/webhook-endpoints", json={**good, "secret": "whsec_x"}).status_code == 422
    created = endpoint(client, URL, "invoice.paid")
    for field in ("url", "event_types", "disabled"):
        response = client.put(f"/webhook-endpoints/{created['id']}", json={field: None})
        assert response.status_code == 422, (field, response.text)
        assert response.json()["detail"][0]["loc"] == ["body", field]
    assert [e["id"] for e in client.get("/webhook-endpoints").json()] == [created["id"]]


def test_private_addresses_are_refused_unless_allowed(client: TestClient, app: FastAPI) -> None:
    assert endpoint(client, "http://127.0.0.1:9/hooks", "invoice.paid")  # the tests' setting allows them
    app.state.settings = app.state.settings.model_copy(update={"webhook_allow_private_urls": False})
    for url in (
        "http://127.0.0.1/hooks",
        "http://localhost:8000/hooks",
        "http://api.localhost/hooks",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://172.16.5.4/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://2130706433/",  # 127.0.0.1, written as one number (resolvers read it so)
    ):
        response = client.post("/webhook-endpoints", json={"url": url, "event_types": ["invoice.paid"]})
        assert response.status_code == 422, (url, response.text)
        assert response.json()["detail"][0]["loc"] == ["body", "url"]
        assert "FUBBLE_WEBHOOK_ALLOW_PRIVATE_URLS" in response.json()["detail"][0]["msg"]
    assert endpoint(client, "https://93.184.215.14/hooks", "invoice.paid")  # a public address
    assert endpoint(client, "https://name-that-does-not-resolve.invalid/hooks", "invoice.paid")  # checked when sent
    created = endpoint(client, URL, "invoice.paid")
    response = client.put(f"/webhook-endpoints/{created['id']}", json={"url": "http://127.0.0.1/"})
    assert response.status_code == 422
    assert client.get(f"/webhook-endpoints/{created['id']}").json()["url"] == URL


def test_only_admin_keys_manage_endpoints(client: TestClient, app: FastAPI, make_key: Callable[[str], str]) -> None:
    created = endpoint(client, URL, "invoice.paid")
    for scope in ("write", "read", "ingest"):
        headers = {"Authorization": f"Bearer {make_key(scope)}"}
        with TestClient(app, raise_server_exceptions=False, headers=headers) as other:
            assert other.get("/webhook-endpoints").status_code == 403
            assert other.get(f"/webhook-endpoints/{created['id']}/deliveries").status_code == 403
            response = other.post("/webhook-endpoints", json={"url": URL, "event_types": ["invoice.paid"]})
            assert response.status_code == 403
