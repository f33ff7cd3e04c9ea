"""The events routes are documented accurately in /openapi.json."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_openapi_documents_event_bodies(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    batch = schemas["EventBatchIn"]["properties"]["events"]
    assert batch["type"] == "array"
    assert batch["items"] == {"$ref": "#/components/schemas/EventIn"}
    assert batch["minItems"] == 1
    assert set(schemas["EventIn"]["required"]) == {"metric_name", "quantity"}
    assert [branch["required"] for branch in schemas["EventIn"]["anyOf"]] == [["customer_id"], ["external_customer_id"]]
    assert schemas["EventIn"]["additionalProperties"] is False
    record = spec["paths"]["/events/"]["post"]["responses"]
    assert set(record) >= {"200", "201", "404", "409", "422"}
    assert "Idempotent-Replay" in record["200"]["headers"]
    assert record["201"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/EventOut"}
    batch_responses = spec["paths"]["/events/batch"]["post"]["responses"]
    assert batch_responses["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/BatchResult"
    }
    for path in ("/events/customers/{customer_id}", "/events/customers/{customer_id}/usage"):
        params = {p["name"] for p in spec["paths"][path]["get"]["parameters"]}
        assert {"customer_id", "start_date", "end_date"} <= params
