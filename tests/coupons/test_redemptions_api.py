"""POST/GET /customers/{id}/coupons over HTTP: applying a coupon, and every refusal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock

NOW = "2024-01-15T12:00:00Z"  # the test clock
PERCENT = {"code": "SPRING24", "type": "percentage", "percent_off": 15, "duration": "once"}
FIXED = {"code": "TENOFF", "type": "fixed", "amount_off": 10, "currency": "USD", "duration": "forever"}


def coupon(client: TestClient, **fields: Any) -> dict[str, Any]:
    base = FIXED if fields.get("type") == "fixed" else PERCENT
    response = client.post("/coupons/", json={**base, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def customer(client: TestClient, n: int = 1, **fields: Any) -> int:
    response = client.post("/customers/", json={"name": f"c{n}", "email": f"c{n}@example.com", **fields})
    assert response.status_code == 201, response.text
    customer_id: int = response.json()["id"]
    return customer_id


def apply(client: TestClient, customer_id: int, code: str) -> Any:
    return client.post(f"/customers/{customer_id}/coupons", json={"code": code})


def test_applying_a_coupon_answers_the_redemption(client: TestClient) -> None:
    spring = coupon(client, duration="repeating", duration_in_periods=3)
    cid = customer(client)
    response = apply(client, cid, "SPRING24")
    assert response.status_code == 201, response.text
    redemption = response.json()
    assert redemption == {
        "id": redemption["id"],
        "customer_id": cid,
        "coupon_id": spring["id"],
        "code": "SPRING24",
        "applied_at": NOW,
        "periods_used": 0,
        "periods_remaining": 3,
        "status": "active",
    }
    assert client.get(f"/coupons/{spring['id']}").json()["times_redeemed"] == 1
    assert client.get(f"/customers/{cid}/coupons").json() == [redemption]
    coupon(client, code="FOREVER", duration="forever")
    forever = apply(client, cid, "FOREVER").json()
    assert (forever["periods_remaining"], forever["status"]) == (None, "active")
    assert client.get(f"/customers/{cid}/coupons").json() == [redemption, forever]
    assert client.get(f"/customers/{cid}/coupons", params={"offset": 1}).json() == [forever]
    assert client.get(f"/customers/{customer(client, 2)}/coupons").json() == []


def test_unknown_customer_is_404_and_unknown_code_422(client: TestClient) -> None:
    coupon(client)
    response = apply(client, 99, "SPRING24")
    assert response.status_code == 404
    assert response.json()["detail"] == "customer 99 not found"
    assert client.get("/customers/99/coupons").status_code == 404
    cid = customer(client)
    unknown = apply(client, cid, "spring24")
    assert unknown.status_code == 422
    assert unknown.json()["detail"] == [
        {"loc": ["body", "code"], "msg": "no coupon with code 'spring24'", "type": "value_error"}
    ]
    for bad in ({"code": ""}, {"code": "a b"}, {"code": 5}, {}, {"code": "A", "other": 1}):
        response = client.post(f"/customers/{cid}/coupons", json=bad)
        assert response.status_code == 422, (bad, response.text)
    assert client.get(f"/customers/{cid}/coupons").json() == []


def test_a_coupon_applies_once_per_customer(client: TestClient) -> None:
    coupon(client)
    cid = customer(client)
    assert apply(client, cid, "SPRING24").status_code == 201
    again = apply(client, cid, "SPRING24")
    assert again.status_code == 409
    assert again.json()["detail"] == f"coupon 'SPRING24' is already applied to customer {cid}"
    assert client.get("/coupons/1").json()["times_redeemed"] == 1


def test_max_redemptions_is_a_409_once_reached(client: TestClient) -> None:
    coupon(client, max_redemptions=2)
    assert apply(client, customer(client, 1), "SPRING24").status_code == 201
    assert apply(client, customer(client, 2), "SPRING24").status_code == 201
    third = apply(client, customer(client, 3), "SPRING24")
    assert third.status_code == 409
    assert third.json()["detail"] == "coupon 'SPRING24' has been applied 2 times, its max_redemptions"
    assert client.get("/coupons/1").json()["times_redeemed"] == 2


def test_an_expired_coupon_is_a_409(client: TestClient, clock: FrozenClock) -> None:
    coupon(client, expires_at="2024-01-15T13:00:00Z")
    early = customer(client, 1)
    clock.advance(timedelta(minutes=59))
    assert apply(client, early, "SPRING24").status_code == 201
    clock.advance(timedelta(minutes=1))  # exactly expires_at
    late = apply(client, customer(client, 2), "SPRING24")
    assert late.status_code == 409
    assert late.json()["detail"] == "coupon 'SPRING24' expired at 2024-01-15T13:00:00+00:00"
    assert client.get(f"/customers/{early}/coupons").json()[0]["status"] == "active"  # applied before: kept


def test_a_fixed_coupon_needs_the_customer_currency(client: TestClient) -> None:
    coupon(client, **FIXED)
    euro = customer(client, 1, currency="EUR")
    response = apply(client, euro, "TENOFF")
    assert response.status_code == 409
    assert response.json()["detail"] == f"coupon 'TENOFF' takes 10.00 USD off; customer {euro} is billed in EUR"
    dollar = customer(client, 2, currency="USD")
    assert apply(client, dollar, "TENOFF").status_code == 201
    coupon(client, code="PCT")
    assert apply(client, euro, "PCT").status_code == 201  # a percentage has no currency


def test_a_customer_with_a_fixed_coupon_keeps_its_currency(client: TestClient) -> None:
    coupon(client, **FIXED)
    cid = customer(client, currency="USD")
    assert apply(client, cid, "TENOFF").status_code == 201
    response = client.put(f"/customers/{cid}", json={"currency": "EUR"})
    assert response.status_code == 409
    assert response.json()["detail"] == f"customer {cid} has fixed-amount coupons in USD; its currency stays"
    assert client.put(f"/customers/{cid}", json={"currency": "usd"}).status_code == 200


def test_a_test_clock_customer_applies_coupons_at_its_clock_time(client: TestClient) -> None:
    clock_id = client.post("/test-clocks/", json={"frozen_time": "2024-03-01T00:00:00Z"}).json()["id"]
    coupon(client, expires_at="2024-02-01T00:00:00Z")
    coupon(client, code="LATER", expires_at="2024-04-01T00:00:00Z")
    cid = customer(client, test_clock_id=clock_id)
    assert apply(client, cid, "SPRING24").status_code == 409  # expired at the clock's time
    later = apply(client, cid, "LATER")
    assert later.status_code == 201, later.text
    assert later.json()["applied_at"] == "2024-03-01T00:00:00Z"


def test_coupons_and_redemptions_are_audited(client: TestClient) -> None:
    coupon(client)
    cid = customer(client)
    assert apply(client, cid, "SPRING24").status_code == 201
    entries = client.get("/audit-log").json()
    kinds = sorted((e["action"], e["entity_type"]) for e in entries if e["entity_type"].startswith("coupon"))
    assert kinds == [("create", "coupon"), ("create", "coupon_redemption"), ("update", "coupon")]


def test_creating_and_applying_with_an_idempotency_key_happen_once(client: TestClient) -> None:
    headers = {"Idempotency-Key": "coupon-1"}
    created = [client.post("/coupons/", json=PERCENT, headers=headers) for _ in range(2)]
    assert [r.status_code for r in created] == [201, 201]
    assert created[0].json() == created[1].json()
    cid = customer(client)
    headers = {"Idempotency-Key": "apply-1"}
    applied = [client.post(f"/customers/{cid}/coupons", json={"code": "SPRING24"}, headers=headers) for _ in range(2)]
    assert [r.status_code for r in applied] == [201, 201]
    assert applied[0].json() == applied[1].json()
    assert client.get("/coupons/1").json()["times_redeemed"] == 1
    assert len(client.get("/coupons/").json()) == 1
