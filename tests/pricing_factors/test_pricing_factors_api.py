from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
from fastapi.testclient import TestClient

from fubble.clock import FrozenClock

NOW = "2024-01-15T12:00:00Z"


def exact(response: httpx.Response) -> Any:
    """The body with every non-integer number as the exact Decimal the wire carries."""
    return json.loads(response.text, parse_float=Decimal)


def test_set_factor_defaults_to_now_and_keeps_digits(client: TestClient) -> None:
    response = client.put("/pricing-factors/market_factor", json={"value": 0.125})
    assert response.status_code == 200, response.text
    assert exact(response) == {"name": "market_factor", "value": Decimal("0.125"), "effective_from": NOW}
    assert '"value":0.125' in response.text
    negative = client.put("/pricing-factors/discount", json={"value": "-0.500000000001"})
    assert '"value":-0.500000000001' in negative.text
    trailing = client.put("/pricing-factors/fx", json={"value": 1.50})
    assert '"value":1.5' in trailing.text


def test_history_current_and_replacement(client: TestClient, clock: FrozenClock) -> None:
    url = "/pricing-factors/market_factor"
    assert client.put(url, json={"value": 0.1, "effective_from": "2024-01-01T00:00:00"}).status_code == 200
    assert client.put(url, json={"value": 0.2, "effective_from": "2024-01-10T01:00:00+01:00"}).status_code == 200
    assert client.put(url, json={"value": 0.3, "effective_from": "2024-02-01T00:00:00Z"}).status_code == 200
    replaced = client.put(url, json={"value": 0.25, "effective_from": "2024-01-10T00:00:00Z"})
    assert exact(replaced) == {
        "name": "market_factor",
        "value": Decimal("0.25"),
        "effective_from": "2024-01-10T00:00:00Z",
    }
    body = exact(client.get(url))
    assert body["name"] == "market_factor"
    assert body["current"] == {
        "name": "market_factor",
        "value": Decimal("0.25"),
        "effective_from": "2024-01-10T00:00:00Z",
    }
    assert [(h["value"], h["effective_from"]) for h in body["history"]] == [
        (Decimal("0.1"), "2024-01-01T00:00:00Z"),
        (Decimal("0.25"), "2024-01-10T00:00:00Z"),
        (Decimal("0.3"), "2024-02-01T00:00:00Z"),
    ]
    clock.set(clock.now().replace(month=2, day=1, hour=0))
    assert exact(client.get(url))["current"]["value"] == Decimal("0.3")


def test_future_only_factor_has_no_current_value(client: TestClient) -> None:
    client.put("/pricing-factors/later", json={"value": 2, "effective_from": "2030-01-01T00:00:00Z"})
    body = client.get("/pricing-factors/later").json()
    assert body["current"] is None
    assert len(body["history"]) == 1
    assert client.get("/pricing-factors/").json() == []


def test_list_current_values_by_name_paginated(client: TestClient, clock: FrozenClock) -> None:
    for name, value in (("zeta", 1), ("alpha", 2), ("Mid", 3)):
        assert client.put(f"/pricing-factors/{name}", json={"value": value}).status_code == 200
    client.put("/pricing-factors/alpha", json={"value": 5, "effective_from": "2024-01-16T00:00:00Z"})
    listed = client.get("/pricing-factors/").json()
    assert [(f["name"], f["value"]) for f in listed] == [("Mid", 3), ("alpha", 2), ("zeta", 1)]
    assert [f["name"] for f in client.get("/pricing-factors/", params={"limit": 1, "offset": 1}).json()] == ["alpha"]
    clock.advance(timedelta(days=1))
    assert client.get("/pricing-factors/").json()[1] == {
        "name": "alpha",
        "value": 5,
        "effective_from": "2024-01-16T00:00:00Z",
    }
    assert client.get("/pricing-factors/", params={"limit": 0}).status_code == 422


def test_factor_errors(client: TestClient) -> None:
    assert client.get("/pricing-factors/never_set").status_code == 404
    for name in ("1abc", "_x", "has-dash", "a" * 65, "usage", "min", "formula"):
        response = client.put(f"/pricing-factors/{name}", json={"value": 1})
        assert response.status_code == 422, (name, response.text)
    for body in (
        {},
        {"value": "abc"},
        {"value": True},
        {"value": None},
        {"value": "NaN"},
        {"value": "Infinity"},
        {"value": "0.0000000000001"},
        {"value": 1, "effective_from": "yesterday"},
        {"value": 1, "extra": 2},
    ):
        response = client.put("/pricing-factors/ok", json=body)
        assert response.status_code == 422, (body, response.text)
    assert client.get("/pricing-factors/").json() == []
    assert client.get("/pricing-factors/bad-name").status_code == 422
