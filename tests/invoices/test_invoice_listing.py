from __future__ import annotations

from fastapi.testclient import TestClient

from .helpers import invoice_in_status, new_customer, new_invoice


def ids(response: object) -> list[int]:
    body = response.json()  # type: ignore[attr-defined]
    return [invoice["id"] for invoice in body]


def test_list_all_and_by_status(client: TestClient) -> None:
    first = new_customer(client)
    second = new_customer(client, email="second@example.com")
    draft = invoice_in_status(client, first, "draft")
    pending = invoice_in_status(client, second, "pending")
    paid = invoice_in_status(client, first, "paid")
    pending_too = invoice_in_status(client, first, "pending")
    for path in ("/invoices", "/invoices/"):
        response = client.get(path)
        assert response.status_code == 200, response.text
        assert ids(response) == [draft, pending, paid, pending_too]
        assert ids(client.get(path, params={"status": "pending"})) == [pending, pending_too]
        assert ids(client.get(path, params={"status": "paid"})) == [paid]
        assert ids(client.get(path, params={"status": "void"})) == []
        assert client.get(path, params={"status": "bogus"}).status_code == 422
    listed = client.get("/invoices/", params={"status": "draft"}).json()[0]
    assert listed == client.get(f"/invoices/{draft}").json()
    assert len(listed["invoice_items"]) == 1


def test_list_paginates_in_id_order(client: TestClient) -> None:
    customer_id = new_customer(client)
    created = [new_invoice(client, customer_id)["id"] for _ in range(5)]
    assert ids(client.get("/invoices/", params={"limit": 2})) == created[:2]
    assert ids(client.get("/invoices/", params={"limit": 2, "offset": 2})) == created[2:4]
    assert ids(client.get("/invoices/", params={"offset": 4})) == created[4:]
    assert ids(client.get("/invoices/", params={"offset": 5})) == []
    assert ids(client.get("/invoices", params={"status": "draft", "limit": 1, "offset": 1})) == created[1:2]
    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "x"}):
        assert client.get("/invoices/", params=bad).status_code == 422, bad


def test_list_customer_invoices(client: TestClient) -> None:
    first = new_customer(client)
    second = new_customer(client, email="second@example.com")
    a = invoice_in_status(client, first, "draft")
    invoice_in_status(client, second, "pending")
    b = invoice_in_status(client, first, "pending")
    c = invoice_in_status(client, first, "void")
    assert ids(client.get(f"/invoices/customer/{first}")) == [a, b, c]
    assert ids(client.get(f"/invoices/customer/{first}", params={"status": "pending"})) == [b]
    assert ids(client.get(f"/invoices/customer/{first}", params={"limit": 1, "offset": 1})) == [b]
    third = new_customer(client, email="third@example.com")
    assert client.get(f"/invoices/customer/{third}").json() == []
    assert client.get(f"/invoices/customer/{first}", params={"status": "open"}).status_code == 422
    response = client.get("/invoices/customer/999")
    assert response.status_code == 404
    assert "customer 999" in response.json()["detail"]
    assert client.get("/invoices/customer/0").status_code == 422


def test_openapi_documents_the_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/invoices/"]) >= {"get", "post"}
    for path, method in (
        ("/invoices/{invoice_id}", "get"),
        ("/invoices/customer/{customer_id}", "get"),
        ("/invoices/{invoice_id}/items", "post"),
        ("/invoices/{invoice_id}/items/{item_id}", "delete"),
        ("/invoices/{invoice_id}/status", "put"),
        ("/invoices/{invoice_id}/finalize", "put"),
        ("/invoices/{invoice_id}/void", "put"),
    ):
        operation = paths[path][method]
        assert operation["summary"]
        assert "404" in operation["responses"]
