"""POST/GET/PUT /metrics/: definitions, validation, implicit plan metrics, and events for defined metrics."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fubble.api.json import loads

API_CALLS = {"name": "api_calls", "display_name": "API calls", "unit": "requests"}
PLAN = {
    "name": "Plan",
    "billing_frequency": "monthly",
    "price_components": [
        {
            "metric_name": metric,
            "pricing_type": "tiered",
            "pricing_details": {"tiers": [{"start": 0, "end": None, "price": "0.01"}]},
        }
        for metric in ("storage_gb", "api_calls")
    ],
}


def create(client: TestClient, body: dict[str, Any], status: int = 201) -> Any:
    response = client.post("/metrics/", json=body)
    assert response.status_code == status, response.text
    return loads(response.content)


def test_create_with_defaults_and_get_by_id_or_name(client: TestClient) -> None:
    metric = create(client, {"name": "api_calls"})
    assert metric == {
        "id": metric["id"],
        "name": "api_calls",
        "display_name": None,
        "unit": None,
        "aggregation": "sum",
        "property": None,
        "filters": [],
        "allow_negative": False,
        "recurring": False,
        "implicit": False,
        "created_at": "2024-01-15T12:00:00Z",
        "updated_at": "2024-01-15T12:00:00Z",
    }
    assert loads(client.get(f"/metrics/{metric['id']}").content) == metric
    assert loads(client.get("/metrics/api_calls").content) == metric


def test_create_full_definition_normalizes_filters(client: TestClient) -> None:
    metric = create(
        client,
        {
            **API_CALLS,
            "name": "active_users",
            "aggregation": "unique_count",
            "property": "user_id",
            "filters": [
                {"property": "method", "in": ["GET", "HEAD"]},
                {"property": "status", "in": [200]},
                {"property": "ratio", "eq": 0.25},
                {"property": "beta", "eq": None},
            ],
        },
    )
    assert metric["aggregation"] == "unique_count" and metric["property"] == "user_id"
    assert metric["filters"] == [
        {"property": "method", "in": ["GET", "HEAD"]},
        {"property": "status", "eq": 200},  # a one-value "in" is an "eq"
        {"property": "ratio", "eq": Decimal("0.25")},
        {"property": "beta", "eq": None},
    ]
    for aggregation in ("count", "max", "latest", "weighted_sum", "sum"):
        assert create(client, {"name": f"m_{aggregation}", "aggregation": aggregation})["aggregation"] == aggregation
    assert create(client, {"name": "with space inside"})["name"] == "with space inside"


def test_duplicate_name_is_409(client: TestClient) -> None:
    create(client, API_CALLS)
    response = client.post("/metrics/", json={"name": "api_calls", "aggregation": "count"})
    assert response.status_code == 409
    assert response.json()["detail"] == "a metric named 'api_calls' already exists"
    create(client, {"name": "API_CALLS"})  # names are case-sensitive


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": " api_calls"},
        {"name": "api_calls\t"},
        {"name": "nul\x00"},
        {"name": "x" * 256},
        {"name": "123"},
        {"name": "m", "unit": "u" * 65},
        {"name": "m", "display_name": "d" * 256},
        {"name": "m", "aggregation": "median"},
        {"name": "m", "aggregation": None},
        {"name": "m", "aggregation": "unique_count"},
        {"name": "m", "property": "user_id"},
        {"name": "m", "aggregation": "count", "property": "user_id"},
        {"name": "m", "aggregation": "unique_count", "property": ""},
        {"name": "m", "colour": "red"},
        {"name": "m", "filters": "method=GET"},
        {"name": "m", "filters": {"property": "method", "eq": "GET"}},
    ],
)
def test_invalid_definitions_are_422(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post("/metrics/", json=body)
    assert response.status_code == 422, response.text
    assert "detail" in response.json()
    assert client.get("/metrics/").json() == []


@pytest.mark.parametrize(
    ("entry", "loc", "message"),
    [
        ("method", ["body", "filters", 1], "must be {"),
        ({"property": "method"}, ["body", "filters", 1], 'exactly "property" and one of "eq" or "in"'),
        ({"property": "m", "eq": 1, "in": [1]}, ["body", "filters", 1], "exactly"),
        ({"property": "", "eq": 1}, ["body", "filters", 1, "property"], "property name"),
        ({"property": 5, "eq": 1}, ["body", "filters", 1, "property"], "property name"),
        ({"property": "m", "in": []}, ["body", "filters", 1, "in"], "list of 1 to 100 values"),
        ({"property": "m", "in": "GET"}, ["body", "filters", 1, "in"], "list of 1 to 100 values"),
        ({"property": "m", "eq": {"a": 1}}, ["body", "filters", 1, "eq"], "strings, numbers, booleans or null"),
        ({"property": "m", "in": ["a", [1]]}, ["body", "filters", 1, "in", 1], "strings, numbers"),
        ({"property": "m", "eq": "x" * 513}, ["body", "filters", 1, "eq"], "at most 512 characters"),
    ],
)
def test_bad_filters_are_422_naming_the_entry(client: TestClient, entry: Any, loc: list[Any], message: str) -> None:
    body = {"name": "m", "filters": [{"property": "ok", "eq": 1}, entry]}
    response = client.post("/metrics/", json=body)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == loc
    assert message in error["msg"]
    metric = create(client, {"name": "m2"})
    update = client.put(f"/metrics/{metric['id']}", json={"filters": [{"property": "ok", "eq": 1}, entry]})
    assert update.status_code == 422 and update.json()["detail"][0]["loc"] == loc


def test_too_many_filters_is_422(client: TestClient) -> None:
    filters = [{"property": f"p{i}", "eq": i} for i in range(21)]
    response = client.post("/metrics/", json={"name": "m", "filters": filters})
    assert response.status_code == 422
    assert "at most 20 filters" in response.text


def test_list_paginates_by_id_and_can_include_plan_only_metrics(client: TestClient) -> None:
    ids = [create(client, {"name": name})["id"] for name in ("zeta", "alpha", "storage_gb")]
    assert [m["id"] for m in client.get("/metrics/").json()] == ids
    assert [m["name"] for m in client.get("/metrics/", params={"limit": 2, "offset": 1}).json()] == [
        "alpha",
        "storage_gb",
    ]
    assert client.post("/plans/", json=PLAN).status_code == 201
    assert [m["name"] for m in client.get("/metrics/").json()] == ["zeta", "alpha", "storage_gb"]
    everything = client.get("/metrics/", params={"include_implicit": True}).json()
    assert [(m["name"], m["id"], m["implicit"]) for m in everything] == [
        ("zeta", ids[0], False),
        ("alpha", ids[1], False),
        ("storage_gb", ids[2], False),  # priced by the plan too, but defined here
        ("api_calls", None, True),
    ]
    assert everything[3] | {"name": None} == {
        "id": None,
        "name": None,
        "display_name": None,
        "unit": None,
        "aggregation": "sum",
        "property": None,
        "filters": [],
        "allow_negative": False,
        "recurring": False,
        "implicit": True,
        "created_at": None,
        "updated_at": None,
    }
    page = client.get("/metrics/", params={"include_implicit": True, "limit": 2, "offset": 2}).json()
    assert [m["name"] for m in page] == ["storage_gb", "api_calls"]
    page = client.get("/metrics/", params={"include_implicit": True, "offset": 3}).json()
    assert [m["name"] for m in page] == ["api_calls"]
    assert client.get("/metrics/", params={"include_implicit": True, "offset": 4}).json() == []
    assert client.get("/metrics/", params={"limit": 0}).status_code == 422
    assert client.get("/metrics/", params={"limit": 1001}).status_code == 422


def test_get_errors_and_implicit_metrics(client: TestClient) -> None:
    assert client.get("/metrics/api_calls").status_code == 404
    assert client.get("/metrics/api_calls").json()["detail"] == "metric 'api_calls' not found"
    assert client.get("/metrics/42").json()["detail"] == "metric 42 not found"
    assert client.get("/metrics/0").json()["detail"] == "metric 0 not found"  # no id is out of range: none has it
    assert client.get("/metrics/99999999999999999999").status_code == 404
    assert client.post("/plans/", json=PLAN).status_code == 201
    implicit = client.get("/metrics/api_calls")
    assert implicit.status_code == 200
    assert implicit.json()["implicit"] is True and implicit.json()["aggregation"] == "sum"
    slashed = create(client, {"name": "calls/v2", "aggregation": "count"})
    assert client.get("/metrics/calls/v2").json() == slashed
    assert client.get("/metrics/calls%2Fv2").json() == slashed


def test_update_fields_present_in_the_body(client: TestClient, clock: Any) -> None:
    from datetime import timedelta

    metric = create(client, API_CALLS)
    clock.advance(timedelta(hours=1))
    response = client.put("/metrics/api_calls", json={"unit": None, "aggregation": "max", "name": "api_calls"})
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["unit"] is None and updated["aggregation"] == "max"
    assert updated["display_name"] == "API calls"
    assert updated["updated_at"] == "2024-01-15T13:00:00Z" and updated["created_at"] == metric["created_at"]
    updated = client.put(f"/metrics/{metric['id']}", json={"filters": [{"property": "m", "in": ["a"]}]}).json()
    assert updated["filters"] == [{"property": "m", "eq": "a"}]
    assert client.put("/metrics/api_calls", json={"filters": None}).json()["filters"] == []
    changed = client.put("/metrics/api_calls", json={"aggregation": "unique_count", "property": "user_id"}).json()
    assert changed["property"] == "user_id"
    back = client.put("/metrics/api_calls", json={"aggregation": "sum", "property": None}).json()
    assert back["aggregation"] == "sum" and back["property"] is None
    assert client.get("/metrics/api_calls").json() == back


@pytest.mark.parametrize(
    "body",
    [
        {"aggregation": None},
        {"aggregation": "unique_count"},
        {"property": "user_id"},
        {"unit": "u" * 65},
        {"id": 5},
        {"filters": [{"property": "m"}]},
    ],
)
def test_invalid_updates_are_422_and_change_nothing(client: TestClient, body: dict[str, Any]) -> None:
    metric = create(client, API_CALLS)
    response = client.put("/metrics/api_calls", json=body)
    assert response.status_code == 422, response.text
    assert client.get("/metrics/api_calls").json() == metric


def test_a_new_name_is_a_409_and_changes_nothing_the_same_name_is_accepted(client: TestClient) -> None:
    """The name is checked against the stored metric (events refer to it): a conflict with stored state, not a
    schema-valid body refused as invalid."""
    metric = create(client, API_CALLS)
    response = client.put("/metrics/api_calls", json={"name": "renamed", "unit": "calls"})
    assert response.status_code == 409, response.text
    assert "name cannot change" in response.text
    assert client.get("/metrics/api_calls").json() == metric
    same = client.put(f"/metrics/{metric['id']}", json={"name": "api_calls", "unit": "calls"})
    assert same.status_code == 200, same.text
    assert same.json()["unit"] == "calls"


def test_unique_count_needs_its_property_on_update(client: TestClient) -> None:
    create(client, {"name": "users", "aggregation": "unique_count", "property": "user_id"})
    response = client.put("/metrics/users", json={"aggregation": "count"})
    assert response.status_code == 422
    assert "property is only for unique_count" in response.text
    assert client.put("/metrics/users", json={"property": None}).status_code == 422
    assert client.put("/metrics/users", json={"aggregation": "count", "property": None}).status_code == 200


def test_update_unknown_or_implicit_metric_is_404(client: TestClient) -> None:
    assert client.put("/metrics/nope", json={"unit": "x"}).status_code == 404
    assert client.put("/metrics/7", json={"unit": "x"}).status_code == 404
    assert client.put("/metrics/0", json={"unit": "x"}).status_code == 404
    assert client.post("/plans/", json=PLAN).status_code == 201
    response = client.put("/metrics/api_calls", json={"aggregation": "count"})
    assert response.status_code == 404
    assert "define it with POST /metrics/" in response.json()["detail"]


def test_openapi_documents_metrics(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert set(spec["paths"]["/metrics/"]) == {"get", "post"}
    assert set(spec["paths"]["/metrics/{metric}"]) == {"get", "put"}
    create_schema = spec["components"]["schemas"]["MetricCreate"]
    assert create_schema["required"] == ["name"]
    assert {
        "name",
        "display_name",
        "unit",
        "aggregation",
        "property",
        "filters",
        "allow_negative",
        "recurring",
    } == set(create_schema["properties"])
    filters = create_schema["properties"]["filters"]["anyOf"][0]
    assert filters["items"] == {"$ref": "#/components/schemas/FilterDoc"}
    post = spec["paths"]["/metrics/"]["post"]["responses"]
    assert {"201", "409", "422"} <= set(post)
