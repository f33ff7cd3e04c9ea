"""CORS (off unless origins are configured, never with credentials) and the request body size limit (413)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fubble.api.app import create_app
from fubble.clock import FrozenClock
from fubble.config import Settings
from fubble.db.session import Database

ALLOWED = "https://app.example"
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
LIMIT = 2048


@pytest.fixture
def configured(db: Database, clock: FrozenClock, admin_key: str) -> Iterator[TestClient]:
    """An app with one allowed origin and a 2 KiB body limit."""
    settings = Settings(database_url=db.url, cors_origins=[ALLOWED], max_body_bytes=LIMIT)
    app = create_app(settings, clock=clock, database=db)
    with TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {admin_key}"}) as c:
        yield c


def test_no_cors_headers_by_default(client: TestClient) -> None:
    preflight = client.options("/customers/", headers={"Origin": ALLOWED, **PREFLIGHT})
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-credentials" not in preflight.headers
    response = client.get("/customers/", headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert not any(name.startswith("access-control-") for name in response.headers)


def test_cors_origins_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUBBLE_CORS_ORIGINS", json.dumps([ALLOWED, "http://localhost:3000"]))
    assert Settings().cors_origins == [ALLOWED, "http://localhost:3000"]
    monkeypatch.delenv("FUBBLE_CORS_ORIGINS")
    assert Settings().cors_origins == []


def test_allowed_origin_gets_the_header(configured: TestClient) -> None:
    preflight = configured.options("/customers/", headers={"Origin": ALLOWED, **PREFLIGHT})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert preflight.headers.get("access-control-allow-credentials") != "true"
    response = configured.get("/customers/", headers={"Origin": ALLOWED})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert response.headers.get("access-control-allow-credentials") != "true"
    # a browser client may read the request id (for support), the replay marker and when to retry
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert exposed == {"idempotent-replay", "x-request-id", "retry-after"}
    assert response.headers["x-request-id"]


def test_other_origins_get_no_header(configured: TestClient) -> None:
    for origin in ("https://evil.example", "https://app.example.evil", "http://app.example", "null"):
        preflight = configured.options("/customers/", headers={"Origin": origin, **PREFLIGHT})
        assert preflight.headers.get("access-control-allow-origin") in (None, ""), origin
        assert preflight.headers.get("access-control-allow-credentials") != "true"
        response = configured.get("/customers/", headers={"Origin": origin})
        assert "access-control-allow-origin" not in response.headers, origin
        assert response.headers.get("access-control-allow-credentials") != "true"


def test_cors_does_not_bypass_authentication(configured: TestClient) -> None:
    response = configured.get("/customers/", headers={"Origin": ALLOWED, "Authorization": ""})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == ALLOWED  # the browser may read the 401


def _big_customer() -> bytes:
    return json.dumps({"name": "Acme", "email": "big@example.com", "address": "x" * (LIMIT + 100)}).encode()


def test_body_over_the_limit_with_content_length_is_413(configured: TestClient) -> None:
    body = _big_customer()
    response = configured.post("/customers/", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413, response.text
    assert str(LIMIT) in response.json()["detail"]
    assert configured.get("/customers/").json() == []


def test_chunked_body_over_the_limit_is_413(configured: TestClient) -> None:
    body = _big_customer()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 512):
            yield body[start : start + 512]

    response = configured.post("/customers/", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413, response.text
    assert configured.get("/customers/").json() == []


def test_chunked_body_with_idempotency_key_over_the_limit_is_413(configured: TestClient) -> None:
    body = _big_customer()
    headers = {"Content-Type": "application/json", "Idempotency-Key": "big"}
    response = configured.post("/customers/", content=iter([body[:1000], body[1000:]]), headers=headers)
    assert response.status_code == 413, response.text
    assert configured.get("/customers/").json() == []
    # Nothing was stored for the key: a smaller body with it succeeds.
    small = {"name": "Acme", "email": "small@example.com"}
    assert configured.post("/customers/", json=small, headers={"Idempotency-Key": "big"}).status_code == 201


def test_lying_content_length_is_413(configured: TestClient) -> None:
    """A body larger than its declared Content-Length is still cut off at the limit (counted as it arrives)."""
    body = _big_customer()
    response = configured.post(
        "/customers/", content=iter([body]), headers={"Content-Type": "application/json", "Content-Length": "10"}
    )
    assert response.status_code == 413, response.text
    assert configured.get("/customers/").json() == []


def test_body_under_the_limit_is_accepted(configured: TestClient) -> None:
    body = json.dumps({"name": "Acme", "email": "ok@example.com", "address": "x" * 1500}).encode()
    assert len(body) < LIMIT
    response = configured.post("/customers/", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text


def test_the_limit_applies_before_authentication(db: Database, clock: FrozenClock) -> None:
    app = create_app(Settings(database_url=db.url, max_body_bytes=LIMIT), clock=clock, database=db)
    with TestClient(app, raise_server_exceptions=False) as c:
        response = c.post("/customers/", content=_big_customer(), headers={"Content-Type": "application/json"})
        assert response.status_code == 413
