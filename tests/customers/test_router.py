from __future__ import annotations

from fastapi.testclient import TestClient

ACME = {
    "name": "Acme Corp",
    "email": "billing@acmecorp.com",
    "phone": "+1-555-123-4567",
    "address": "123 Main St, San Francisco, CA 94105",
    "metadata": {"industry": "technology", "size": "enterprise", "seats": 12.50},
}


def test_create_customer_with_guide_fields(client: TestClient) -> None:
    response = client.post("/customers/", json=ACME)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] >= 1
    assert body["currency"] == "USD"
    assert body["metadata"] == {"industry": "technology", "size": "enterprise", "seats": 12.5}
    assert '"seats":12.5' in response.text  # exact digits, a JSON number
    assert client.get(f"/customers/{body['id']}").json() == body


def test_create_customer_with_readme_fields(client: TestClient) -> None:
    response = client.post(
        "/customers/",
        json={
            "name": "Company A",
            "email": "billing@companya.com",
            "company_name": "Company A Inc.",
            "billing_address": "123 Tech Park, San Francisco, CA 94105",
            "payment_method_id": "pm_card_visa",
            "currency": "jpy",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json()["company_name"] == "Company A Inc."
    assert response.json()["currency"] == "JPY"


def test_duplicate_email_is_409_case_insensitive(client: TestClient) -> None:
    assert client.post("/customers/", json=ACME).status_code == 201
    response = client.post("/customers/", json={**ACME, "email": "BILLING@acmecorp.com"})
    assert response.status_code == 409
    assert "already exists" in response.json()["detail"]


def test_invalid_customer_input_is_422(client: TestClient) -> None:
    for bad in (
        {**ACME, "email": "not-an-email"},
        {**ACME, "name": ""},
        {**ACME, "name": "x" * 256},
        {**ACME, "currency": "XYZ"},
        {**ACME, "metadata": "not an object"},
        {**ACME, "unknown_field": 1},
        {**ACME, "name": "nul\x00byte"},
        {"email": "a@b.com"},
    ):
        response = client.post("/customers/", json=bad)
        assert response.status_code == 422, (bad, response.text)
        assert "detail" in response.json()
    assert client.get("/customers/").json() == []


def test_get_unknown_customer_is_404(client: TestClient) -> None:
    assert client.get("/customers/999").status_code == 404
    assert client.get("/customers/0").status_code == 422
    assert client.get("/customers/99999999999999999999").status_code == 422


def test_update_customer_partial(client: TestClient) -> None:
    cid = client.post("/customers/", json=ACME).json()["id"]
    response = client.put(f"/customers/{cid}", json={"phone": "+44 20 7946 0000", "metadata": None})
    assert response.status_code == 200, response.text
    assert response.json()["phone"] == "+44 20 7946 0000"
    assert response.json()["metadata"] is None
    assert response.json()["name"] == "Acme Corp"
    other = client.post("/customers/", json={**ACME, "email": "other@acme.com"}).json()["id"]
    assert client.put(f"/customers/{other}", json={"email": "billing@acmecorp.com"}).status_code == 409
    assert client.put(f"/customers/{other}", json={"name": None}).status_code == 422
    assert client.put("/customers/424242", json={"phone": "1"}).status_code == 404


def test_list_customers_paginates_in_id_order(client: TestClient) -> None:
    ids = [client.post("/customers/", json={**ACME, "email": f"c{i}@x.com"}).json()["id"] for i in range(5)]
    assert [c["id"] for c in client.get("/customers/", params={"limit": 2}).json()] == ids[:2]
    assert [c["id"] for c in client.get("/customers/", params={"limit": 2, "offset": 2}).json()] == ids[2:4]
    assert client.get("/customers/", params={"limit": 1001}).status_code == 422
    assert client.get("/customers/", params={"limit": 0}).status_code == 422


def test_health(client: TestClient) -> None:
    assert client.get("/health").json()["status"] == "ok"
