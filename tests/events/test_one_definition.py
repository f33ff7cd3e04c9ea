"""One definition of a valid event: ``POST /events/``, ``POST /events/batch`` and ``fubble events import`` (the
command itself, through Typer's runner in this process: ``test_import_ids`` runs it as a process of its own) give every
event the same verdict, and a refused event the same reasons, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from fubble.db.models import Event
from fubble.db.session import Database
from tests.cli.commands import in_process_runner

from .helpers import new_customer, new_plan

A = '"customer_id":%(a)d,"metric_name":"api_calls"'  # customer a (external id "ext-a"), a known metric

# (name, the event as JSON text; %(a)d and %(b)d are two customers, %(ep)s tells the entry points' event_ids apart)
VALID = [
    ("plain", "{" + A + ',"quantity":1}'),
    (
        "full",
        "{" + A + ',"quantity":2.50,"event_id":"k-%(ep)s","event_time":"2024-01-10T09:00:00Z",'
        '"properties":{"region":"eu","n":1.50,"l":[true,null,{"d":1E+3}]}}',
    ),
    ("numeric string quantity", "{" + A + ',"quantity":"2.5"}'),
    ("exponent quantity", "{" + A + ',"quantity":1E+2}'),
    ("twelve decimal places", "{" + A + ',"quantity":0.000000000001}'),
    ("thirty-two digits", "{" + A + ',"quantity":99999999999999999999.999999999999}'),
    ("id written as 1.0 (an integer to JSON Schema)", '{"customer_id":%(a)d.0,"metric_name":"api_calls","quantity":1}'),
    ("external id", '{"external_customer_id":"ext-a","metric_name":"api_calls","quantity":1}'),
    ("both naming one customer", "{" + A + ',"external_customer_id":"ext-a","quantity":1}'),
    ("offset and naive times", "{" + A + ',"quantity":1,"event_time":"2024-01-10T09:00:00+02:00"}'),
    ("naive time", "{" + A + ',"quantity":1,"event_time":"2024-01-10 09:00"}'),
    ("zero quantity", "{" + A + ',"quantity":0}'),
    ("negative zero quantity (stored as 0)", "{" + A + ',"quantity":-0.0}'),
]
TIME = "must be an ISO 8601 date-time string such as 2024-01-31T12:00:00Z (naive means UTC)"
# (name, the event, the reasons every entry point gives, "; " between two)
INVALID = [
    ("empty", "{}", "; ".join(["metric_name: is required", "quantity: is required"])),
    (
        "no customer",
        '{"metric_name":"api_calls","quantity":1}',
        "customer_id: customer_id or external_customer_id is required",
    ),
    ("unknown field", "{" + A + ',"quantity":1,"colour":"red"}', "colour: is not a field of an event"),
    ("not an object", "[1]", "must be a JSON object, not a list"),
    (
        "id as a string",
        '{"customer_id":"%(a)d","metric_name":"api_calls","quantity":1}',
        "customer_id: must be an integer, not a string",
    ),
    (
        "id as a boolean",
        '{"customer_id":true,"metric_name":"api_calls","quantity":1}',
        "customer_id: must be an integer, not a boolean",
    ),
    (
        "id with a fraction",
        '{"customer_id":%(a)d.5,"metric_name":"api_calls","quantity":1}',
        "customer_id: must be an integer, not a number",
    ),
    (
        "id out of range",
        '{"customer_id":2147483648,"metric_name":"api_calls","quantity":1}',
        "customer_id: must be between 1 and 2147483647",
    ),
    (
        "negative quantity",
        "{" + A + ',"quantity":-1}',
        "quantity: must not be negative: metric 'api_calls' does not allow negative quantities (a metric defined "
        "with allow_negative: true does)",
    ),
    ("quantity not a number", "{" + A + ',"quantity":"abc"}', "quantity: must be a number (or a string holding one)"),
    ("quantity a boolean", "{" + A + ',"quantity":true}', "quantity: must be a number (or a string holding one)"),
    ("tiny exponent", "{" + A + ',"quantity":5e-324}', "quantity: must have at most 12 decimal places"),
    (
        "huge exponent",
        "{" + A + ',"quantity":3.2e66}',
        "quantity: must have at most 20 digits before the decimal point",
    ),
    ("thirteen places", "{" + A + ',"quantity":1.0000000000001}', "quantity: must have at most 12 decimal places"),
    (
        "twenty-one digits",
        "{" + A + ',"quantity":100000000000000000000}',
        "quantity: must have at most 20 digits before the decimal point",
    ),
    ("time as a number", "{" + A + ',"quantity":1,"event_time":1700000000}', "event_time: " + TIME),
    ("time as a numeric string", "{" + A + ',"quantity":1,"event_time":"1700000000"}', "event_time: " + TIME),
    ("no such day", "{" + A + ',"quantity":1,"event_time":"2024-02-30T00:00:00Z"}', "event_time: " + TIME),
    (
        "year out of range",
        "{" + A + ',"quantity":1,"event_time":"1899-12-31T23:00:00Z"}',
        "event_time: must be a date-time with a year from 1900 to 8999",
    ),
    (
        "NUL in metric",
        '{"customer_id":%(a)d,"metric_name":"api\\u0000calls","quantity":1}',
        "metric_name: must not contain NUL characters",
    ),
    ("NUL in event_id", "{" + A + ',"quantity":1,"event_id":"k\\u0000"}', "event_id: must not contain NUL characters"),
    ("blank metric", '{"customer_id":%(a)d,"metric_name":" ","quantity":1}', "metric_name: must not be blank"),
    (
        "long event_id",
        "{" + A + ',"quantity":1,"event_id":"' + "k" * 256 + '"}',
        "event_id: must be 1 to 255 characters long",
    ),
    (
        "properties not an object",
        "{" + A + ',"quantity":1,"properties":[1]}',
        "properties: must be a JSON object, not a list",
    ),
    (
        "huge number in properties",
        "{" + A + ',"quantity":1,"properties":{"n":1e99}}',
        "properties: numbers must have at most 40 decimal places and be less than 1e41",
    ),
    (
        "unknown customer",
        '{"customer_id":2000000000,"metric_name":"api_calls","quantity":1}',
        "customer 2000000000 not found",
    ),
    (
        "unknown external id",
        '{"external_customer_id":"nope","metric_name":"api_calls","quantity":1}',
        "customer with external_id 'nope' not found",
    ),
    (
        "two customers",
        '{"customer_id":%(b)d,"external_customer_id":"ext-a","metric_name":"api_calls","quantity":1}',
        "external_customer_id: customer_id %(b)d and external_customer_id 'ext-a' name different customers",
    ),
    (
        "unknown metric",
        '{"customer_id":%(a)d,"metric_name":"api_callz","quantity":1}',
        "metric_name: unknown metric 'api_callz'; known metrics: api_calls, storage_gb",
    ),
]


def _customers(client: TestClient) -> dict[str, int]:
    new_plan(client)
    response = client.post("/customers/", json={"name": "A", "email": "a@example.com", "external_id": "ext-a"})
    assert response.status_code == 201, response.text
    return {"a": response.json()["id"], "b": new_customer(client, "b@example.com")}


def _single(client: TestClient, body: str) -> tuple[bool, str]:
    response = client.post("/events/", content=body.encode(), headers={"Content-Type": "application/json"})
    if response.status_code in (200, 201):
        return True, ""
    assert response.status_code in (404, 422), response.text
    detail = response.json()["detail"]
    if isinstance(detail, str):
        return False, detail
    return False, "; ".join(": ".join([*(str(p) for p in e["loc"][1:]), e["msg"]]) for e in detail)


def _batch(client: TestClient, body: str) -> tuple[bool, str]:
    response = client.post(
        "/events/batch", content=b'{"events":[' + body.encode() + b"]}", headers={"Content-Type": "application/json"}
    )
    if response.status_code == 200:
        assert response.json()["accepted"] == 1, response.text
        return True, ""
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]["errors"]
    assert error["index"] == 0
    return False, str(error["reason"])


def _import(db: Database, tmp_path: Path, body: str) -> tuple[bool, str]:
    file = tmp_path / "event.ndjson"
    file.write_text(body + "\n", encoding="utf-8")
    done = in_process_runner(db.url, tmp_path)("events", "import", str(file))
    if done.returncode == 0:
        assert "accepted 1, duplicates 0, errors 0" in done.stdout, done.stdout + done.stderr
        return True, ""
    assert done.returncode == 1, done.stdout + done.stderr
    found = re.search(r"^error: line 1: (.*)$", done.stderr, re.MULTILINE)
    assert found is not None, done.stderr
    return False, found.group(1)


def _verdicts(
    client: TestClient, db: Database, tmp_path: Path, template: str
) -> tuple[dict[str, tuple[bool, str]], dict[str, int]]:
    ids = _customers(client)
    return {
        entry: way(template % {**ids, "ep": entry})
        for entry, way in (
            ("single", lambda body: _single(client, body)),
            ("batch", lambda body: _batch(client, body)),
            ("import", lambda body: _import(db, tmp_path, body)),
        )
    }, ids


@pytest.mark.parametrize("template", [t for _, t in VALID], ids=[n for n, _ in VALID])
def test_every_way_in_accepts_a_valid_event(client: TestClient, db: Database, tmp_path: Path, template: str) -> None:
    verdicts, _ids = _verdicts(client, db, tmp_path, template)
    assert verdicts == {"single": (True, ""), "batch": (True, ""), "import": (True, "")}
    with db.transaction() as session:
        stored = session.execute(select(Event.quantity, Event.properties)).all()
    assert len(stored) == 3 and len({(str(q), str(p)) for q, p in stored}) == 1  # the same values


@pytest.mark.parametrize(("template", "reasons"), [(t, r) for _, t, r in INVALID], ids=[n for n, _, _ in INVALID])
def test_every_way_in_refuses_an_invalid_event_with_the_same_reasons(
    client: TestClient, db: Database, tmp_path: Path, template: str, reasons: str
) -> None:
    verdicts, ids = _verdicts(client, db, tmp_path, template)
    expected = reasons % ids if "%(" in reasons else reasons
    assert verdicts == {"single": (False, expected), "batch": (False, expected), "import": (False, expected)}
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Event)) == 0
