"""POST/GET /test-clocks, GET /test-clocks/{id}, and the advance's validation."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.test_clocks.helpers import advance, body, customer, make_clock, monthly_plan, subscribe


def test_create_get_and_list(client: TestClient) -> None:
    created = body(client.post("/test-clocks", json={"frozen_time": "2030-06-01T08:00:00+02:00", "name": "q3"}), 201)
    assert created == {
        "id": created["id"],
        "name": "q3",
        "frozen_time": "2030-06-01T06:00:00Z",  # stored in UTC
        "created_at": "2024-01-15T12:00:00Z",  # the server's clock
        "updated_at": "2024-01-15T12:00:00Z",
    }
    unnamed = body(client.post("/test-clocks/", json={"frozen_time": "2024-01-01T00:00:00Z"}), 201)
    assert unnamed["name"] is None
    assert body(client.get(f"/test-clocks/{created['id']}")) == created
    assert [c["id"] for c in body(client.get("/test-clocks"))] == [created["id"], unnamed["id"]]
    assert [c["id"] for c in body(client.get("/test-clocks", params={"limit": 1, "offset": 1}))] == [unnamed["id"]]


def test_create_refuses_bad_bodies(client: TestClient) -> None:
    assert client.post("/test-clocks", json={"name": "no time"}).status_code == 422
    assert client.post("/test-clocks", json={"frozen_time": "yesterday"}).status_code == 422
    assert client.post("/test-clocks", json={"frozen_time": "2024-01-01T00:00:00Z", "speed": 2}).status_code == 422
    assert client.post("/test-clocks", json={"frozen_time": "2024-01-01T00:00:00Z", "name": " "}).status_code == 422
    assert body(client.get("/test-clocks")) == []


def test_unknown_clock_is_404(client: TestClient) -> None:
    assert client.get("/test-clocks/999").status_code == 404
    response = client.post("/test-clocks/999/advance", json={"to": "2024-02-01T00:00:00Z"})
    assert response.status_code == 404
    assert response.json() == {"detail": "test clock 999 not found"}


def test_advance_must_move_forward(client: TestClient) -> None:
    clock_id = make_clock(client, "2024-01-01T00:00:00Z")
    for to in ("2024-01-01T00:00:00Z", "2023-12-31T23:59:59Z"):
        response = client.post(f"/test-clocks/{clock_id}/advance", json={"to": to})
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body", "to"]
        assert "after the clock's frozen_time (2024-01-01T00:00:00+00:00)" in response.json()["detail"][0]["msg"]
    assert client.post(f"/test-clocks/{clock_id}/advance", json={}).status_code == 422
    assert body(client.get(f"/test-clocks/{clock_id}"))["frozen_time"] == "2024-01-01T00:00:00Z"
    assert body(client.get("/billing/runs")) == []


def test_advance_without_customers_is_one_run_as_of_to(client: TestClient) -> None:
    clock_id = make_clock(client, "2024-01-01T00:00:00Z")
    advanced = advance(client, clock_id, "2025-01-01T00:00:00Z")
    assert advanced["frozen_time"] == "2025-01-01T00:00:00Z"
    assert advanced["updated_at"] == "2024-01-15T12:00:00Z"
    (run_id,) = advanced["billing_run_ids"]
    run = body(client.get(f"/billing/runs/{run_id}"))
    assert (run["as_of"], run["trigger"], run["test_clock_id"]) == ("2025-01-01T00:00:00Z", "test_clock", clock_id)
    assert body(client.get(f"/test-clocks/{clock_id}"))["frozen_time"] == "2025-01-01T00:00:00Z"


def test_an_advance_of_more_than_100_steps_is_refused(client: TestClient) -> None:
    clock_id = make_clock(client, "2024-01-01T00:00:00Z")
    subscribe(client, customer(client, "a@globex.example", test_clock_id=clock_id), plan_id=monthly_plan(client))
    # 8 years and 5 months: 101 period ends (the last of them `to`), one too many.
    response = client.post(f"/test-clocks/{clock_id}/advance", json={"to": "2032-06-01T00:00:00Z"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "to"]
    assert "more than 100 billing runs" in response.json()["detail"][0]["msg"]
    assert body(client.get(f"/test-clocks/{clock_id}"))["frozen_time"] == "2024-01-01T00:00:00Z"
    assert body(client.get("/billing/runs")) == []


def test_the_routes_are_documented(client: TestClient) -> None:
    paths = body(client.get("/openapi.json"))["paths"]
    advance_op = paths["/test-clocks/{clock_id}/advance"]["post"]
    assert {"404", "422"} <= set(advance_op["responses"])
    assert "grace period" in advance_op["description"]
    assert "201" in paths["/test-clocks/"]["post"]["responses"]
    assert "404" in paths["/test-clocks/{clock_id}"]["get"]["responses"]
