"""The bugs the OpenAPI fuzzing found, each pinned by a plain test (on SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import jsonschema_rs
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fubble.customers import service as customers
from fubble.db.session import Database


def _customer(client: TestClient) -> int:
    response = client.post("/customers/", json={"name": "Acme", "email": "billing@acme.example"})
    assert response.status_code == 201, response.text
    customer_id: int = response.json()["id"]
    return customer_id


def test_a_body_that_is_not_utf8_is_a_422_not_an_undocumented_400(client: TestClient) -> None:
    response = client.post("/customers/", content=b"\x19\xff\x70\x3e", headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["type"] == "json_invalid"


@pytest.mark.parametrize(
    "instant",
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"],
    ids=["before-year-1-in-utc", "after-year-9999-in-utc"],
)
def test_a_time_that_overflows_when_converted_to_utc_is_a_422(client: TestClient, instant: str) -> None:
    customer_id = _customer(client)
    response = client.get(f"/events/customers/{customer_id}/usage", params={"start_date": instant})
    assert response.status_code == 422, response.text
    assert "a year from 1900 to 8999" in response.text
    response = client.post("/invoices/", json={"customer_id": customer_id, "issue_date": instant})
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    ("url", "loc"),
    [
        ("/metrics/a%00b", ["path", "metric"]),
        ("/audit-log?entity_type=invoice%00", ["query", "entity_type"]),
        ("/customers/?limit=10&x%00=1", ["query", "x\x00"]),
    ],
)
def test_a_nul_character_in_the_path_or_query_is_a_422_on_every_route(
    client: TestClient, url: str, loc: list[str]
) -> None:
    """PostgreSQL refuses text holding NUL: it used to reach the database from parameters without their own check
    (GET /metrics/{metric} answered 503 on PostgreSQL)."""
    response = client.get(url)
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == [{"loc": loc, "msg": "must not contain NUL characters", "type": "value_error"}]


def test_every_route_documents_422_and_every_write_409(client: TestClient) -> None:
    """422 (invalid parameters or Idempotency-Key) can come from any route, 409 (a reused Idempotency-Key) from any
    write: both are documented on every operation that needs a key."""
    schema = client.get("/openapi.json").json()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if "security" not in operation:
                continue  # public (GET /health)
            codes = set(operation["responses"])
            assert {"401", "403", "422"} <= codes, (method, path)
            if method != "get":
                assert {"409", "413"} <= codes, (method, path)


def test_decimals_in_responses_are_documented_as_the_numbers_they_are_sent_as(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    assert components["EventOut"]["properties"]["quantity"]["type"] == "number"
    assert components["InvoiceOut"]["properties"]["amount"]["type"] == "number"
    assert components["InvoiceItemOut"]["properties"]["unit_price"]["type"] == "number"
    assert components["FactorValueOut"]["properties"]["value"]["type"] == "number"
    usage = schema["paths"]["/events/customers/{customer_id}/usage"]["get"]["responses"]["200"]
    assert usage["content"]["application/json"]["schema"]["additionalProperties"] == {"type": "number"}
    # Request decimals keep their own schema (JSON numbers, bounds included).
    # (a quantity may be 0, or negative for a metric with allow_negative: the bound is the magnitude limit)
    assert components["EventIn"]["properties"]["quantity"]["exclusiveMinimum"] == -1e20


def _every_documented_response(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                yield f"{method.upper()} {path}", code, response


def test_every_error_response_is_documented_as_error_out(client: TestClient) -> None:
    """Every error is documented as JSON ``{"detail": ...}``: ErrorOut, or a body that adds fields to a required
    ``detail`` (``GET /ready``'s 503 says why it is not ready)."""
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]

    def is_error_out(body: Any) -> bool:
        ref = body.get("$ref", "") if isinstance(body, dict) else ""
        name = ref.removeprefix("#/components/schemas/")
        return name == "ErrorOut" or (name in components and "detail" in components[name].get("required", []))

    wrong = [
        (label, code)
        for label, code, response in _every_documented_response(schema)
        if int(code) >= 400 and not is_error_out(response.get("content", {}).get("application/json", {}).get("schema"))
    ]
    assert wrong == []
    assert "HTTPValidationError" not in schema["components"]["schemas"]


def test_a_cancelled_request_gives_its_connection_back(
    app: FastAPI, admin_key: str, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request cancelled mid-transaction (client gone, server timeout) must still close its session: a leaked one
    held its transaction open for good (on SQLite, the write lock: every later write failed with 503)."""
    create = customers.create

    def slow_create(*args: Any, **kwargs: Any) -> Any:
        row = create(*args, **kwargs)
        time.sleep(0.3)
        return row

    monkeypatch.setattr(customers, "create", slow_create)
    headers = {"Authorization": f"Bearer {admin_key}"}

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers) as client:
            with anyio.move_on_after(0.05) as scope:
                await client.post("/customers/", json={"name": "Slow", "email": "slow@acme.example"})
            assert scope.cancelled_caught
            assert db.engine.pool.checkedout() == 0
            monkeypatch.setattr(customers, "create", create)
            started = time.monotonic()
            response = await client.post("/customers/", json={"name": "Next", "email": "next@acme.example"})
            assert response.status_code == 201, response.text
            assert time.monotonic() - started < 5
            listed = await client.get("/customers/")
            assert [c["name"] for c in listed.json()] == ["Next"]  # the cancelled one was rolled back

    anyio.run(scenario)


# --- what the OpenAPI document declares, the service does (and the other way round) ---------------------------------


@pytest.mark.parametrize("number", ["5e-324", "3.2e66", "1e99999"])
def test_a_json_number_beyond_the_digit_limits_is_a_422_naming_the_field(client: TestClient, number: str) -> None:
    response = client.put(
        "/pricing-factors/market_factor", content=f'{{"value": {number}}}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "value"], error
    assert "at most 12 decimal places and 20 digits before the point" in error["msg"], error


def test_a_number_in_metadata_beyond_the_free_form_limits_is_a_422_naming_the_field(client: TestClient) -> None:
    body = '{"name": "A", "email": "a@acme.example", "metadata": {"x": [1e99999]}}'
    response = client.post("/customers/", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "metadata"]


def test_the_schema_declares_the_digit_limits_and_the_date_range(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]
    assert schemas["FactorSet"]["properties"]["value"]["multipleOf"] == 1e-12
    item = schemas["InvoiceCreate"]["properties"]
    issue_date = next(s for s in item["issue_date"]["anyOf"] if s.get("type") == "string")
    assert issue_date == {"type": "string", "format": "date-time", "pattern": "^(19[0-9]{2}|[2-8][0-9]{3})-"}
    decimals = [
        s
        for model in schemas.values()
        for prop in model.get("properties", {}).values()
        for s in [prop, *prop.get("anyOf", [])]
        if s.get("type") == "number" and s.get("multipleOf") == 1e-12
    ]
    assert len(decimals) >= 3
    assert all(s["exclusiveMaximum"] == 1e20 for s in decimals)


@pytest.mark.parametrize("where", ["body", "query"])
def test_a_number_where_a_date_time_is_declared_is_a_422(client: TestClient, where: str) -> None:
    customer_id = _customer(client)
    if where == "body":
        response = client.post("/invoices/", json={"customer_id": customer_id, "issue_date": 0})
        loc = ["body", "issue_date"]
    else:
        response = client.get(f"/events/customers/{customer_id}", params={"start_date": "0.5"})
        loc = ["query", "start_date"]
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/customers/", "GET, POST"),
        ("DELETE", "/customers/", "GET, POST"),
        ("OPTIONS", "/customers/1", "GET, PUT"),
        ("PATCH", "/plans/1", "GET, PUT"),
        ("PUT", "/metrics/", "GET, POST"),
        ("OPTIONS", "/metrics/api_calls", "GET, PUT"),
        ("POST", "/api-keys/1", "DELETE"),
        ("OPTIONS", "/invoices/generate", "POST"),  # a concrete path before the templated /invoices/{invoice_id}
        ("GET", "/invoices/generate", "POST"),
        ("OPTIONS", "/invoices/1", "GET"),
    ],
)
def test_a_method_the_path_does_not_serve_is_a_405_allowing_exactly_the_served_ones(
    client: TestClient, method: str, path: str, allow: str
) -> None:
    response = client.request(method, path)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == allow


def test_query_parameters_do_not_declare_null(client: TestClient, app: FastAPI) -> None:
    """A query string cannot carry JSON null (``?end_date=null`` is the text "null", refused as a date-time): an
    optional query parameter is left out to mean none, and the document does not offer null."""
    for path, item in app.openapi()["paths"].items():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                assert {"type": "null"} not in schema.get("anyOf", []) and schema.get("type") != "null", (path, schema)
    response = client.post("/invoices/generate?end_date=null", json={})
    assert response.status_code == 422 and "end_date" in response.text


@pytest.mark.parametrize("body", [b"-1.5", b"-1.7559261713399245e-161", b"1e-400", b"2.5e300"])
def test_a_non_integer_number_as_the_whole_body_is_a_422(client: TestClient, body: bytes) -> None:
    """A JSON number parses to a Decimal, which FastAPI (validating with from_attributes) took for an object without
    attributes: a body model whose fields are all optional accepted it (200)."""
    plan = client.post("/plans/", json={"name": "P", "billing_frequency": "monthly"}).json()
    customer_id = _customer(client)
    for path in (f"/plans/{plan['id']}", f"/customers/{customer_id}"):
        response = client.put(path, content=body, headers={"content-type": "application/json"})
        assert response.status_code == 422, (path, response.text)
        assert response.json()["detail"][0]["loc"] == ["body"]


def test_an_unknown_audit_entity_type_is_a_422_listing_the_types(client: TestClient) -> None:
    response = client.get("/audit-log", params={"entity_type": "bogus"})
    assert response.status_code == 422, response.text
    assert "customer" in response.text and "invoice_item" in response.text
    assert client.get("/audit-log", params={"entity_type": "customer"}).status_code == 200


def test_a_metric_id_out_of_range_is_not_found(client: TestClient) -> None:
    assert client.get("/metrics/0000").status_code == 404
    assert client.get("/metrics/99999999999999999999").status_code == 404


def test_fields_that_cannot_be_cleared_are_not_declared_nullable(client: TestClient, app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]
    for model, field in [("CustomerUpdate", "name"), ("PlanUpdate", "is_active"), ("MetricUpdate", "aggregation")]:
        assert "anyOf" not in schemas[model]["properties"][field], (model, field)
        assert "default" not in schemas[model]["properties"][field], (model, field)
    plan = client.post("/plans/", json={"name": "P", "billing_frequency": "monthly"}).json()
    assert client.put(f"/plans/{plan['id']}", json={"is_active": 0}).status_code == 422


def test_writes_link_to_the_operations_taking_the_ids_they_produce(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    links = paths["/customers/"]["post"]["responses"]["201"]["links"]
    targets = {link["operationId"]: link["parameters"] for link in links.values()}
    by_id = {op["operationId"]: (method, path) for path, item in paths.items() for method, op in item.items()}
    assert {by_id[t] for t in targets} >= {
        ("get", "/customers/{customer_id}"),
        ("post", "/customers/{customer_id}/subscriptions"),
        ("get", "/invoices/customer/{customer_id}"),
    }
    assert all(p == {"customer_id": "$response.body#/id"} for p in targets.values())
    item_links = paths["/invoices/{invoice_id}/items"]["post"]["responses"]["201"]["links"].values()
    remove = next(link for link in item_links if by_id[link["operationId"]][0] == "delete")
    assert remove["parameters"] == {"invoice_id": "$request.path.invoice_id", "item_id": "$response.body#/id"}


def test_without_authentication_the_document_declares_no_key(db: Database) -> None:
    from fubble.api.app import create_app
    from fubble.config import Settings

    document = create_app(Settings(database_url=db.url, auth_enabled=False), database=db).openapi()
    operations = [op for item in document["paths"].values() for op in item.values()]
    assert not any("security" in op or "401" in op["responses"] for op in operations)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "users", "aggregation": "unique_count", "property": "user_id"},
        {"name": "users", "aggregation": "unique_count"},
        {"name": "users", "aggregation": "sum", "property": "user_id"},
        {"name": "users", "property": "user_id"},
        {"name": "users", "aggregation": "count", "property": None},
    ],
)
def test_metric_property_rule_is_declared_as_the_service_checks_it(
    client: TestClient, app: FastAPI, body: dict[str, Any]
) -> None:
    document = app.openapi()
    validator = jsonschema_rs.validator_for({"$ref": "#/components/schemas/MetricCreate", **document})
    response = client.post("/metrics/", json=body)
    assert response.status_code in (201, 422), response.text
    assert validator.is_valid(body) == (response.status_code == 201), response.text
