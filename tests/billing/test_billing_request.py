"""POST /invoices/generate: the two request styles, validation and who gets billed."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .billing_driver import Billing

JAN = {"start_date": "2024-01-01T00:00:00", "end_date": "2024-02-01T00:00:00"}


def _setup(billing: Billing) -> int:
    customer = billing.customer()
    billing.subscribe(customer, billing.pro_plan(), "2024-01-01T00:00:00")
    billing.event(customer, "api_calls", 1500, "2024-01-10T00:00:00")
    return customer


def test_query_parameters_form(client: TestClient, billing: Billing) -> None:
    customer = _setup(billing)
    response = client.post("/invoices/generate", params=JAN)
    assert response.status_code == 200, response.text
    [invoice] = response.json()
    assert invoice["customer_id"] == customer
    assert invoice["status"] == "draft"
    assert invoice["period_start"] == "2024-01-01T00:00:00Z"
    assert invoice["period_end"] == "2024-02-01T00:00:00Z"
    assert invoice["issue_date"] == "2024-01-15T12:00:00Z"  # the frozen clock
    assert invoice["due_date"] == "2024-02-14T12:00:00Z"  # + 30 days payment term
    assert invoice["invoice_number"] == f"INV-20240115-{customer}-000001"
    assert client.get(f"/invoices/{invoice['id']}").json() == invoice


def test_json_body_form_and_both_forms_agreeing(client: TestClient, billing: Billing) -> None:
    customer = _setup(billing)
    response = client.post("/invoices/generate", json={**JAN, "customer_id": customer})
    assert response.status_code == 200, response.text
    [invoice] = response.json()
    again = client.post("/invoices/generate", params=JAN, json={**JAN, "customer_id": customer})
    assert again.status_code == 200, again.text
    assert [i["id"] for i in again.json()] == [invoice["id"]]
    split = client.post(
        "/invoices/generate", params={"start_date": JAN["start_date"]}, json={"end_date": JAN["end_date"]}
    )
    assert split.status_code == 200, split.text
    assert [i["id"] for i in split.json()] == [invoice["id"]]


def test_forms_that_disagree_are_422(client: TestClient, billing: Billing) -> None:
    _setup(billing)
    response = client.post("/invoices/generate", params=JAN, json={**JAN, "end_date": "2024-01-20T00:00:00"})
    assert response.status_code == 422, response.text
    assert "end_date" in response.text
    assert billing.invoice_count() == 0


def test_missing_and_invalid_values_are_422(client: TestClient, billing: Billing) -> None:
    _setup(billing)
    for params, body in (
        ({}, None),
        ({"start_date": "2024-01-01T00:00:00"}, None),
        (None, {"end_date": "2024-01-01T00:00:00"}),
        ({**JAN, "start_date": "not a date"}, None),
        (None, {**JAN, "customer_id": 0}),
        (None, {**JAN, "unknown": 1}),
        ({**JAN, "customer_id": "x"}, None),
    ):
        response = client.post("/invoices/generate", params=params, json=body)
        assert response.status_code == 422, (params, body, response.text)
        assert "detail" in response.json()
    assert billing.invoice_count() == 0


def test_start_not_before_end_is_422(client: TestClient, billing: Billing) -> None:
    _setup(billing)
    for start, end in (("2024-02-01T00:00:00", "2024-01-01T00:00:00"), ("2024-01-01T00:00:00", "2024-01-01T00:00:00")):
        response = client.post("/invoices/generate", json={"start_date": start, "end_date": end})
        assert response.status_code == 422, response.text
        assert "end_date" in response.text
    # the same instant written with different offsets is still an empty window
    same = {"start_date": "2024-01-01T01:00:00+01:00", "end_date": "2024-01-01T00:00:00Z"}
    assert client.post("/invoices/generate", params=same).status_code == 422
    assert billing.invoice_count() == 0


def test_unknown_customer_is_404(client: TestClient, billing: Billing) -> None:
    _setup(billing)
    response = client.post("/invoices/generate", json={**JAN, "customer_id": 999})
    assert response.status_code == 404, response.text
    assert "999" in response.json()["detail"]
    assert billing.invoice_count() == 0


def test_customers_without_subscriptions_get_nothing(client: TestClient, billing: Billing) -> None:
    lonely = billing.customer()
    customer = _setup(billing)
    later = billing.customer()
    billing.subscribe(later, billing.pro_plan(), "2024-03-01T00:00:00")  # not active in January
    ended = billing.customer()
    billing.subscribe(ended, billing.pro_plan(), "2023-11-01T00:00:00", "2024-01-01T00:00:00")  # ends as Jan starts
    assert billing.generate(JAN["start_date"], JAN["end_date"], lonely) == []
    assert billing.generate(JAN["start_date"], JAN["end_date"], later) == []
    invoices = billing.generate(JAN["start_date"], JAN["end_date"])
    assert [i["customer_id"] for i in invoices] == [customer]
    assert billing.invoice_count() == 1


def test_every_customer_in_id_order(client: TestClient, billing: Billing) -> None:
    first = _setup(billing)
    second = _setup(billing)
    invoices = billing.generate(JAN["start_date"], JAN["end_date"], style="query")
    assert [i["customer_id"] for i in invoices] == [first, second]
    assert invoices[0]["id"] < invoices[1]["id"]


def test_no_events_still_bills_fees(client: TestClient, billing: Billing) -> None:
    customer = billing.customer()
    billing.subscribe(customer, billing.pro_plan(), "2024-01-01T00:00:00")
    [invoice] = billing.generate(JAN["start_date"], JAN["end_date"])
    assert [item["metric_name"] for item in invoice["invoice_items"]] == ["api_calls", "storage_gb", "subscription_fee"]
    assert '"amount":29.99,' in client.get(f"/invoices/{invoice['id']}").text


def test_openapi_documents_both_forms(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/invoices/generate"]["post"]
    assert {p["name"] for p in operation["parameters"]} >= {"start_date", "end_date", "customer_id"}
    assert "requestBody" in operation
    assert "half-open" in operation["description"]
    assert {"404", "422"} <= set(operation["responses"])


def test_a_window_of_too_many_periods_is_422(client: TestClient, billing: Billing) -> None:
    _setup(billing)
    response = client.post("/invoices/generate", json={"start_date": "2024-01-01T00:00:00", "end_date": "2200-01-01"})
    assert response.status_code == 422, response.text
    assert "shorter window" in response.text
    assert billing.invoice_count() == 0
    yearly = billing.customer()
    fee = {"metric_name": "fee", "pricing_type": "subscription", "pricing_details": {"amount": 12}}
    billing.subscribe(yearly, billing.plan([fee], frequency="yearly"), "2024-01-01T00:00:00")
    [invoice] = billing.generate("2024-01-01T00:00:00", "2124-01-01T00:00:00", yearly)
    assert len(invoice["invoice_items"]) == 100
    assert str(invoice["amount"]) == "1200.00"
