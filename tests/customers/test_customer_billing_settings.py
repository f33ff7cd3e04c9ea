"""A customer's billing settings: time zone, invoice grace period and test clock."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from fubble.db.models import TestClock
from fubble.db.session import Database

BASE = {"name": "Globex", "email": "ap@globex.example"}


def test_defaults(client: TestClient) -> None:
    body = client.post("/customers/", json=BASE).json()
    assert (body["timezone"], body["invoice_grace_period_hours"], body["test_clock_id"]) == ("UTC", None, None)


def test_timezone_is_set_read_and_updated(client: TestClient) -> None:
    created = client.post("/customers/", json={**BASE, "timezone": "America/New_York"})
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    assert client.get(f"/customers/{cid}").json()["timezone"] == "America/New_York"
    updated = client.put(f"/customers/{cid}", json={"timezone": "Europe/Berlin"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["timezone"] == "Europe/Berlin"
    assert client.get(f"/customers/{cid}").json()["timezone"] == "Europe/Berlin"
    assert client.put(f"/customers/{cid}", json={"phone": "1"}).json()["timezone"] == "Europe/Berlin"


def test_unknown_timezone_is_422_naming_the_field(client: TestClient) -> None:
    for bad in ("Mars/Olympus_Mons", "EST5EDT/../x", "", "localtime", "x" * 65, 5, None):
        response = client.post("/customers/", json={**BASE, "timezone": bad})
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["detail"][0]["loc"] == ["body", "timezone"]
    unknown = client.post("/customers/", json={**BASE, "timezone": "Mars/Olympus_Mons"})
    assert "unknown time zone 'Mars/Olympus_Mons'" in unknown.json()["detail"][0]["msg"]
    assert client.get("/customers/").json() == []
    cid = client.post("/customers/", json=BASE).json()["id"]
    for bad in ("Mars/Olympus_Mons", None):
        response = client.put(f"/customers/{cid}", json={"timezone": bad})
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["detail"][0]["loc"] == ["body", "timezone"]
    assert client.get(f"/customers/{cid}").json()["timezone"] == "UTC"


def test_grace_period_hours_bounds(client: TestClient) -> None:
    for hours in (0, 8760):
        response = client.post(
            "/customers/", json={**BASE, "email": f"h{hours}@x.com", "invoice_grace_period_hours": hours}
        )
        assert response.status_code == 201, response.text
        assert response.json()["invoice_grace_period_hours"] == hours
    for bad in (-1, 8761, 1.5, "a lot"):
        response = client.post("/customers/", json={**BASE, "invoice_grace_period_hours": bad})
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["detail"][0]["loc"] == ["body", "invoice_grace_period_hours"]
    cid = client.post("/customers/", json={**BASE, "invoice_grace_period_hours": 48}).json()["id"]
    assert (
        client.put(f"/customers/{cid}", json={"invoice_grace_period_hours": 72}).json()["invoice_grace_period_hours"]
        == 72
    )
    assert client.put(f"/customers/{cid}", json={"invoice_grace_period_hours": 8761}).status_code == 422
    cleared = client.put(f"/customers/{cid}", json={"invoice_grace_period_hours": None})
    assert cleared.status_code == 200
    assert cleared.json()["invoice_grace_period_hours"] is None
    assert client.get(f"/customers/{cid}").json()["invoice_grace_period_hours"] is None


def test_test_clock_is_set_on_create_only(client: TestClient, db: Database) -> None:
    unknown = client.post("/customers/", json={**BASE, "test_clock_id": 1})
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "test clock 1 not found"
    t = datetime(2024, 1, 1, tzinfo=UTC)
    with db.transaction() as session:
        test_clock = TestClock(name="rehearsal", frozen_time=t, created_at=t, updated_at=t)
        session.add(test_clock)
        session.flush()
        clock_id = test_clock.id
    created = client.post("/customers/", json={**BASE, "test_clock_id": clock_id})
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    assert client.get(f"/customers/{cid}").json()["test_clock_id"] == clock_id
    for value in (clock_id, None):
        refused = client.put(f"/customers/{cid}", json={"test_clock_id": value})
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["body", "test_clock_id"]
        assert "set when the customer is created" in refused.json()["detail"][0]["msg"]
    assert client.get(f"/customers/{cid}").json()["test_clock_id"] == clock_id
    assert client.post("/customers/", json={**BASE, "email": "z@x.com", "test_clock_id": 0}).status_code == 422


def test_a_boolean_is_not_a_number_of_grace_hours(client: TestClient) -> None:
    response = client.post("/customers/", json={"name": "B", "email": "b@x.com", "invoice_grace_period_hours": False})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "invoice_grace_period_hours"]
