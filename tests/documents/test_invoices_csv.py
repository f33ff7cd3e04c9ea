"""GET /invoices/?format=csv: a row per invoice line for finance; limit/offset count invoices; JSON unchanged."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from fubble.documents.csv_export import COLUMNS
from tests.documents.helpers import created, german_invoice, openapi

HEADER = (
    "invoice_id,invoice_number,customer_id,status,currency,issue_date,due_date,period_start,period_end,line_id,"
    "description,metric_name,quantity,unit_price,line_amount,subtotal,discount_amount,tax_amount,total,"
    "credits_applied,amount_due"
)
ISSUED = "2024-01-15T12:00:00Z,2024-02-14T12:00:00Z"


def csv_of(client: TestClient, **params: object) -> list[str]:
    response = client.get("/invoices/", params={"format": "csv", **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="invoices.csv"'
    assert response.text.endswith("\r\n")
    return response.text.split("\r\n")[:-1]


def test_a_row_per_line_with_the_invoices_sums(client: TestClient) -> None:
    german_invoice(client)  # invoice 1: EUR, pending, lines 1 and 2
    yen = created(client.post("/customers/", json={"name": "Tokyo", "email": "t@example.jp", "currency": "JPY"}))
    lines = [
        {"description": '=HYPERLINK("http://x")', "amount": "1000", "quantity": "0.5", "metric_name": "+gb"},
        {"description": 'Credit, "goodwill"', "amount": "-250"},
    ]
    created(client.post("/invoices/", json={"customer_id": yen["id"], "items": lines}))  # invoice 2, draft
    empty = created(client.post("/invoices/", json={"customer_id": yen["id"]}))  # invoice 3, no lines
    assert csv_of(client) == [
        HEADER,
        f"1,INV-20240115-1-000001,1,pending,EUR,{ISSUED},,,1,API calls,api_calls,1000,0.08,80.00,"
        "100.00,10.00,18.00,108.00,8.00,100.00",
        f"1,INV-20240115-1-000001,1,pending,EUR,{ISSUED},,,2,Support,,1,20.00,20.00,100.00,10.00,18.00,108.00,8.00,"
        "100.00",
        f'2,INV-20240115-2-000001,2,draft,JPY,{ISSUED},,,3,"\'=HYPERLINK(""http://x"")",\'+gb,0.5,2000,1000,'
        "750,0,0,750,0,750",
        f'2,INV-20240115-2-000001,2,draft,JPY,{ISSUED},,,4,"Credit, ""goodwill""",,1,-250,-250,750,0,0,750,0,750',
        f"3,{empty['invoice_number']},2,draft,JPY,{ISSUED},,,,,,,,,0,0,0,0,0,0",
    ]
    rows = list(csv.DictReader(io.StringIO(client.get("/invoices/?format=csv").text)))
    assert tuple(rows[0]) == COLUMNS and rows[3]["description"] == 'Credit, "goodwill"'


def test_limit_and_offset_count_invoices_and_status_filters(client: TestClient) -> None:
    german_invoice(client)  # invoice 1 (2 lines), pending
    for n in range(3):  # invoices 2, 3, 4 (2 lines each), drafts
        created(client.post("/invoices/", json={"customer_id": 1, "items": [
            {"description": f"a{n}", "amount": "1.00"}, {"description": f"b{n}", "amount": "2.00"},
        ]}))  # fmt: skip

    def invoice_ids(**params: object) -> list[str]:
        return [row.split(",")[0] for row in csv_of(client, **params)[1:]]

    assert invoice_ids() == ["1", "1", "2", "2", "3", "3", "4", "4"]
    assert invoice_ids(limit=2) == ["1", "1", "2", "2"]
    assert invoice_ids(limit=2, offset=1) == ["2", "2", "3", "3"]
    assert invoice_ids(offset=4) == []
    assert csv_of(client, offset=4) == [HEADER]
    assert invoice_ids(status="draft", limit=1, offset=1) == ["3", "3"]
    assert invoice_ids(status="pending") == ["1", "1"]
    assert invoice_ids(status="paid") == []


def test_json_stays_the_default_and_a_bad_format_is_422(client: TestClient) -> None:
    german_invoice(client)
    default = client.get("/invoices/")
    assert default.headers["content-type"] == "application/json"
    assert client.get("/invoices/", params={"format": "json"}).text == default.text
    assert [i["id"] for i in default.json()] == [1]
    for bad in ("xml", "CSV", ""):
        response = client.get("/invoices/", params={"format": bad})
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["detail"][0]["loc"] == ["query", "format"]
    assert client.get("/invoices/", params={"format": "csv", "status": "nope"}).status_code == 422
    assert client.get("/invoices/", params={"format": "csv", "limit": 0}).status_code == 422


def test_the_schema_declares_both_media_types() -> None:
    operation = openapi()["paths"]["/invoices/"]["get"]
    assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    [declared] = [p for p in operation["parameters"] if p["name"] == "format"]
    assert declared["in"] == "query" and declared["schema"]["default"] == "json"
    paths = openapi()["paths"]
    assert set(paths["/invoices/{invoice_id}/pdf"]["get"]["responses"]["200"]["content"]) == {"application/pdf"}
    assert set(paths["/invoices/{invoice_id}/html"]["get"]["responses"]["200"]["content"]) == {"text/html"}
    assert paths["/invoices/{invoice_id}/pdf"]["get"]["x-required-scope"] == "read"
