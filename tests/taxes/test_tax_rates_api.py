"""POST/GET /tax-rates and the customers' tax fields (tax_rate_ids, tax_exempt) over HTTP."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from fubble.audit.recorder import AUDITED
from fubble.db.models import CustomerTaxRate

CUSTOMER = {"name": "Globex", "email": "ap@globex.example"}


def tax_rate(client: TestClient, **fields: Any) -> dict[str, Any]:
    response = client.post("/tax-rates/", json={"name": "VAT", "rate": 20, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_create_read_and_list_tax_rates(client: TestClient) -> None:
    vat = tax_rate(client, name="VAT 20%", rate="20.0")
    assert vat == {
        "id": vat["id"],
        "name": "VAT 20%",
        "rate": 20.0,
        "applies_by_default": False,
        "created_at": "2024-01-15T12:00:00Z",  # the test clock
    }
    sales = tax_rate(client, name="CA sales tax", rate=7.25, applies_by_default=True)
    assert sales["applies_by_default"] is True
    response = client.post("/tax-rates/", json={"name": "tiny", "rate": 0.0001})
    assert '"rate":0.0001' in response.text  # exact digits
    assert '"rate":20.0' in client.get(f"/tax-rates/{vat['id']}").text
    assert client.get(f"/tax-rates/{sales['id']}").json() == sales
    assert [row["id"] for row in client.get("/tax-rates/").json()] == [vat["id"], sales["id"], response.json()["id"]]
    assert [row["id"] for row in client.get("/tax-rates", params={"limit": 1, "offset": 1}).json()] == [sales["id"]]


def test_a_rate_written_with_an_exponent_is_plain(client: TestClient) -> None:
    raw = client.post(
        "/tax-rates/", content='{"name": "x", "rate": 1E+1}', headers={"content-type": "application/json"}
    )
    assert '"rate":10,' in raw.text
    assert '"rate":100,' in client.post("/tax-rates/", json={"name": "x", "rate": "1E+2"}).text


def test_invalid_tax_rates_are_422_naming_the_field(client: TestClient) -> None:
    for field, value in (
        ("rate", 0),
        ("rate", -1),
        ("rate", 100.0001),
        ("rate", 1000),
        ("rate", 12.12345),
        ("rate", "abc"),
        ("rate", True),
        ("rate", None),
        ("rate", "NaN"),
        ("name", ""),
        ("name", " "),
        ("name", "x" * 256),
        ("name", None),
        ("applies_by_default", "yes"),
        ("applies_by_default", 1),
    ):
        response = client.post("/tax-rates/", json={"name": "VAT", "rate": 20, field: value})
        assert response.status_code == 422, (field, value, response.text)
        assert response.json()["detail"][0]["loc"][:2] == ["body", field], (field, value)
    assert client.post("/tax-rates/", json={"name": "VAT"}).status_code == 422
    assert client.post("/tax-rates/", json={"name": "VAT", "rate": 20, "other": 1}).status_code == 422
    assert client.get("/tax-rates/").json() == []


def test_boundaries_of_a_rate_are_accepted(client: TestClient) -> None:
    assert tax_rate(client, rate=100)["rate"] == 100
    assert tax_rate(client, rate="0.0001")["rate"] == 0.0001
    assert tax_rate(client, rate="99.99990000")["rate"] == 99.9999


def test_unknown_tax_rate_is_404(client: TestClient) -> None:
    response = client.get("/tax-rates/7")
    assert response.status_code == 404
    assert response.json()["detail"] == "tax rate 7 not found"
    assert client.get("/tax-rates/0").status_code == 422


def test_customer_tax_fields_default_and_round_trip(client: TestClient) -> None:
    plain = client.post("/customers/", json=CUSTOMER).json()
    assert (plain["tax_rate_ids"], plain["tax_exempt"]) == ([], False)
    vat, state = tax_rate(client)["id"], tax_rate(client, name="state", rate=5)["id"]
    created = client.post(
        "/customers/", json={"name": "Initech", "email": "ap@initech.example", "tax_rate_ids": [state, vat]}
    )
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    assert created.json()["tax_rate_ids"] == [vat, state]  # by id
    assert client.get(f"/customers/{cid}").json()["tax_rate_ids"] == [vat, state]
    updated = client.put(f"/customers/{cid}", json={"tax_rate_ids": [state], "tax_exempt": True})
    assert updated.status_code == 200, updated.text
    assert (updated.json()["tax_rate_ids"], updated.json()["tax_exempt"]) == ([state], True)
    untouched = client.put(f"/customers/{cid}", json={"phone": "1"}).json()
    assert (untouched["tax_rate_ids"], untouched["tax_exempt"]) == ([state], True)
    cleared = client.put(f"/customers/{cid}", json={"tax_rate_ids": [], "tax_exempt": False}).json()
    assert (cleared["tax_rate_ids"], cleared["tax_exempt"]) == ([], False)
    listed = {row["id"]: row for row in client.get("/customers/").json()}
    assert listed[cid]["tax_rate_ids"] == []
    exempt = client.post("/customers/", json={**CUSTOMER, "email": "x@globex.example", "tax_exempt": True}).json()
    assert exempt["tax_exempt"] is True
    assert client.get(f"/customers/{exempt['id']}").json()["tax_exempt"] is True


def test_unknown_or_repeated_tax_rate_ids_are_422_located(client: TestClient) -> None:
    vat = tax_rate(client)["id"]
    response = client.post("/customers/", json={**CUSTOMER, "tax_rate_ids": [vat, 99, vat]})
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == [
        {"loc": ["body", "tax_rate_ids", 1], "msg": "tax rate 99 not found", "type": "value_error"},
        {"loc": ["body", "tax_rate_ids", 2], "msg": f"tax rate {vat} is listed twice", "type": "value_error"},
    ]
    assert client.get("/customers/").json() == []  # nothing written
    cid = client.post("/customers/", json={**CUSTOMER, "tax_rate_ids": [vat]}).json()["id"]
    response = client.put(f"/customers/{cid}", json={"tax_rate_ids": [98], "name": "Renamed"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "tax_rate_ids", 0]
    after = client.get(f"/customers/{cid}").json()
    assert (after["tax_rate_ids"], after["name"]) == ([vat], "Globex")  # nothing changed


def test_invalid_customer_tax_fields_are_422(client: TestClient) -> None:
    for field, value in (
        ("tax_rate_ids", [0]),
        ("tax_rate_ids", ["a"]),
        ("tax_rate_ids", 5),
        ("tax_rate_ids", list(range(1, 102))),
        ("tax_exempt", "true"),
        ("tax_exempt", 0),
    ):
        response = client.post("/customers/", json={**CUSTOMER, field: value})
        assert response.status_code == 422, (field, value, response.text)
        assert response.json()["detail"][0]["loc"][:2] == ["body", field]
    cid = client.post("/customers/", json=CUSTOMER).json()["id"]
    for field in ("tax_rate_ids", "tax_exempt"):
        response = client.put(f"/customers/{cid}", json={field: None})
        assert response.status_code == 422, (field, response.text)
        assert response.json()["detail"][0]["loc"] == ["body", field]
        assert "cannot be null" in response.json()["detail"][0]["msg"]


def test_tax_rates_and_customer_choices_are_audited(client: TestClient) -> None:
    vat = tax_rate(client)["id"]
    client.post("/customers/", json={**CUSTOMER, "tax_rate_ids": [vat], "tax_exempt": True})
    entries = client.get("/audit-log").json()
    assert ("create", "tax_rate", str(vat)) in [(e["action"], e["entity_type"], e["entity_id"]) for e in entries]
    customer = next(e for e in entries if e["entity_type"] == "customer")
    assert customer["after"]["tax_exempt"] is True
    assert any(e["entity_type"] == AUDITED[CustomerTaxRate] for e in entries)
