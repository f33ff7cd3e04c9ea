"""POST/GET /coupons over HTTP: the two kinds, durations, plans, limits and every refusal."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from fubble.db.models import Plan
from fubble.db.session import Database

NOW = "2024-01-15T12:00:00Z"  # the test clock
PERCENT = {"code": "SPRING24", "type": "percentage", "percent_off": 15, "duration": "once"}
FIXED = {"code": "TENOFF", "type": "fixed", "amount_off": 10, "currency": "usd", "duration": "forever"}


def coupon(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/coupons/", json={**PERCENT, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def plan(client: TestClient, db: Database | None = None, currency: str | None = None) -> int:
    response = client.post("/plans/", json={"name": "Pro", "billing_frequency": "monthly"})
    assert response.status_code == 201, response.text
    plan_id: int = response.json()["id"]
    if currency is not None:  # set in the database: the plans API may not take a currency yet
        assert db is not None
        with db.transaction() as session:
            session.execute(update(Plan).where(Plan.id == plan_id).values(currency=currency))
    return plan_id


def test_percentage_coupon_is_created_read_and_listed(client: TestClient) -> None:
    created = coupon(client, percent_off="12.5", duration="repeating", duration_in_periods=3)
    assert created == {
        "id": created["id"],
        "code": "SPRING24",
        "type": "percentage",
        "percent_off": 12.5,
        "amount_off": None,
        "currency": None,
        "duration": "repeating",
        "duration_in_periods": 3,
        "plan_ids": None,
        "max_redemptions": None,
        "times_redeemed": 0,
        "expires_at": None,
        "created_at": NOW,
    }
    assert client.get(f"/coupons/{created['id']}").json() == created
    assert client.get("/coupons/").json() == [created]


def test_fixed_coupon_takes_its_currency_minor_unit(client: TestClient) -> None:
    pro = plan(client)
    created = client.post(
        "/coupons/",
        json={**FIXED, "plan_ids": [pro], "max_redemptions": 2, "expires_at": "2024-02-01T00:00:00+01:00"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert '"amount_off":10.00' in created.text
    assert (body["currency"], body["percent_off"], body["plan_ids"]) == ("USD", None, [pro])
    assert (body["max_redemptions"], body["expires_at"]) == (2, "2024-01-31T23:00:00Z")
    yen = client.post("/coupons/", json={**FIXED, "code": "YEN", "amount_off": 500, "currency": "JPY"})
    assert yen.status_code == 201, yen.text
    assert '"amount_off":500,' in yen.text
    too_precise = client.post("/coupons/", json={**FIXED, "code": "YEN2", "amount_off": 500.5, "currency": "JPY"})
    assert too_precise.status_code == 422
    assert too_precise.json()["detail"] == [
        {"loc": ["body", "amount_off"], "msg": "JPY amounts have no decimal places; got 500.5", "type": "value_error"}
    ]
    cents = client.post("/coupons/", json={**FIXED, "code": "C", "amount_off": "0.001"})
    assert cents.status_code == 422
    assert cents.json()["detail"][0]["loc"] == ["body", "amount_off"]


def test_duplicate_code_is_409(client: TestClient) -> None:
    coupon(client)
    response = client.post("/coupons/", json={**FIXED, "code": "SPRING24"})
    assert response.status_code == 409
    assert response.json()["detail"] == "a coupon with code 'SPRING24' already exists"
    assert coupon(client, code="spring24")["code"] == "spring24"  # codes are case-sensitive


def test_duration_in_periods_only_and_always_for_repeating(client: TestClient) -> None:
    for fields, message in (
        ({"duration": "repeating"}, "a repeating coupon needs duration_in_periods"),
        ({"duration": "once", "duration_in_periods": 2}, "duration_in_periods is only for repeating coupons, not once"),
        (
            {"duration": "forever", "duration_in_periods": 1},
            "duration_in_periods is only for repeating coupons, not forever",
        ),
    ):
        response = client.post("/coupons/", json={**PERCENT, **fields})
        assert response.status_code == 422, (fields, response.text)
        assert response.json()["detail"] == [
            {"loc": ["body", "duration_in_periods"], "msg": message, "type": "value_error"}
        ]
    assert client.get("/coupons/").json() == []


def test_plan_ids_name_existing_plans_once_in_the_coupon_currency(client: TestClient, db: Database) -> None:
    usd, eur, any_currency = plan(client, db, "USD"), plan(client, db, "EUR"), plan(client)
    response = client.post("/coupons/", json={**FIXED, "plan_ids": [usd, 999, usd, eur, any_currency]})
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == [
        {"loc": ["body", "plan_ids", 1], "msg": "plan 999 not found", "type": "value_error"},
        {"loc": ["body", "plan_ids", 2], "msg": f"plan {usd} is listed twice", "type": "value_error"},
        {
            "loc": ["body", "plan_ids", 3],
            "msg": f"plan {eur} is priced in EUR, the coupon in USD",
            "type": "value_error",
        },
    ]
    assert coupon(client, plan_ids=[usd, eur])["plan_ids"] == [usd, eur]  # a percentage fits every currency


def test_expires_at_must_be_after_now(client: TestClient) -> None:
    for past in (NOW, "2024-01-01T00:00:00Z"):
        response = client.post("/coupons/", json={**PERCENT, "expires_at": past})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "expires_at"]
        assert "expires_at must be after now (2024-01-15T12:00:00+00:00)" in response.json()["detail"][0]["msg"]


def test_schema_refusals_are_422_naming_the_field(client: TestClient) -> None:
    for body, loc in (
        ({**PERCENT, "code": ""}, "code"),
        ({**PERCENT, "code": "x" * 65}, "code"),
        ({**PERCENT, "code": "two words"}, "code"),
        ({**PERCENT, "code": "nul\x00"}, "code"),
        ({**PERCENT, "percent_off": 0}, "percent_off"),
        ({**PERCENT, "percent_off": 100.5}, "percent_off"),
        ({**PERCENT, "percent_off": "1.00001"}, "percent_off"),
        ({**PERCENT, "percent_off": True}, "percent_off"),
        ({**FIXED, "amount_off": 0}, "amount_off"),
        ({**FIXED, "amount_off": -5}, "amount_off"),
        ({**FIXED, "currency": "XYZ"}, "currency"),
        ({**PERCENT, "duration": "twice"}, "duration"),
        ({**PERCENT, "duration": "repeating", "duration_in_periods": 0}, "duration_in_periods"),
        ({**PERCENT, "duration": "repeating", "duration_in_periods": True}, "duration_in_periods"),
        ({**PERCENT, "plan_ids": []}, "plan_ids"),
        ({**PERCENT, "plan_ids": [0]}, "plan_ids"),
        ({**PERCENT, "max_redemptions": 0}, "max_redemptions"),
        ({**PERCENT, "expires_at": "soon"}, "expires_at"),
    ):
        response = client.post("/coupons/", json=body)
        assert response.status_code == 422, (body, response.text)
        assert loc in response.json()["detail"][0]["loc"], (body, response.json())
    for body in (
        {**PERCENT, "type": "free"},
        {k: v for k, v in PERCENT.items() if k != "type"},
        {k: v for k, v in PERCENT.items() if k != "percent_off"},
        {k: v for k, v in FIXED.items() if k != "currency"},
        {**PERCENT, "amount_off": 10},  # a percentage coupon takes no amount
        {**FIXED, "percent_off": 10},
        {**PERCENT, "other": 1},
    ):
        assert client.post("/coupons/", json=body).status_code == 422, body
    assert client.get("/coupons/").json() == []


def test_a_missing_or_unknown_type_is_named(client: TestClient) -> None:
    for body in ({**PERCENT, "type": "free"}, {k: v for k, v in PERCENT.items() if k != "type"}, [PERCENT]):
        response = client.post("/coupons/", json=body)
        assert response.status_code == 422
        assert response.json()["detail"] == [
            {
                "loc": ["body"],
                "msg": "type must be 'percentage' (with percent_off) or 'fixed' (with amount_off and currency)",
                "type": "coupon_type",
            }
        ]
    missing = client.post("/coupons/", json={k: v for k, v in FIXED.items() if k != "amount_off"})
    assert missing.json()["detail"][0]["loc"] == ["body", "fixed", "amount_off"]


def test_unknown_coupon_is_404(client: TestClient) -> None:
    response = client.get("/coupons/5")
    assert response.status_code == 404
    assert response.json()["detail"] == "coupon 5 not found"
    assert client.get("/coupons/0").status_code == 422
