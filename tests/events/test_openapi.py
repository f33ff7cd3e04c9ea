"""The events routes are documented accurately in /openapi.json."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fubble.api.fields import DECIMAL_PLACES, MAX_ID, WHOLE_DIGITS
from fubble.events import decoder


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


def test_the_event_schema_states_the_decoders_rules(client: TestClient) -> None:
    """EventIn documents fubble.events.decoder: the same fields, required ones, types and limits (a rule changed in
    one and not the other fails here)."""
    spec = client.get("/openapi.json").json()
    assert spec["paths"]["/events/"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/EventIn"
    }
    assert spec["paths"]["/events/batch"]["post"]["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/EventBatchIn"
    }
    event = spec["components"]["schemas"]["EventIn"]
    fields = event["properties"]
    assert set(fields) == set(decoder.ParsedEvent._fields)
    assert event["required"] == [f for f in ("metric_name", "quantity") if f in decoder._REQUIRED]

    def declared(name: str) -> dict[str, object]:
        schema: dict[str, object] = fields[name]
        branches = [b for b in schema.get("anyOf", [schema]) if b.get("type") != "null"]  # type: ignore[attr-defined]
        assert len(branches) == 1
        return {**schema, **branches[0]}

    assert declared("customer_id")["type"] == "integer"
    assert (declared("customer_id")["minimum"], declared("customer_id")["maximum"]) == (1, MAX_ID)
    for name in ("external_customer_id", "metric_name", "event_id"):
        text = declared(name)
        assert (text["type"], text["minLength"], text["maxLength"]) == ("string", 1, decoder.MAX_TEXT)
    quantity = declared("quantity")
    assert quantity["type"] == "number"
    assert "minimum" not in quantity  # the sign is a rule of the metric (allow_negative), not of the event
    assert (quantity["multipleOf"], quantity["exclusiveMinimum"], quantity["exclusiveMaximum"]) == (
        10.0**-DECIMAL_PLACES,
        -(10.0**WHOLE_DIGITS),
        10.0**WHOLE_DIGITS,
    )
    assert (declared("event_time")["type"], declared("event_time")["format"]) == ("string", "date-time")
    assert declared("properties")["type"] == "object"
