"""Every operation answers at both spellings of its path, with and without a trailing slash, and never with a
redirect: a client that does not follow a 307 (or follows it without the body) got nothing done. The OpenAPI document
keeps one form per operation."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from fubble.api.app import create_app
from fubble.config import Settings

_SCHEMA = create_app(Settings(database_url="sqlite:///never-opened.db")).openapi()
OPERATIONS = sorted(
    (method.upper(), path) for path, item in _SCHEMA["paths"].items() for method in item if method != "parameters"
)
# The raw ingestion routes, answered in front of the app (fubble.events.ingest_route), at every spelling.
RAW = [("POST", "/events/"), ("POST", "/events"), ("POST", "/events/batch"), ("POST", "/events/batch/")]


def spellings(path: str) -> list[str]:
    concrete = re.sub(r"\{[^}]+\}", "1", path)
    other = concrete[:-1] if concrete.endswith("/") else concrete + "/"
    return [concrete] if concrete == "/" else [concrete, other]


def test_the_document_has_one_form_per_operation() -> None:
    paths = set(_SCHEMA["paths"])
    assert len(OPERATIONS) > 40
    both = sorted(p for p in paths if p != "/" and (p[:-1] if p.endswith("/") else p + "/") in paths)
    assert both == []


@pytest.mark.parametrize(("method", "path"), OPERATIONS + RAW)
def test_both_spellings_reach_the_operation(anon_client: TestClient, method: str, path: str) -> None:
    """Without a key every operation but the public ones answers 401: the route was found (at either form) and
    refused the request itself; a redirect, a 404 of the router or a 405 would mean it was not."""
    answers = []
    for url in spellings(path):
        response = anon_client.request(method, url, json={}, follow_redirects=False)
        assert response.status_code not in (301, 302, 307, 308), f"{method} {url}: {response.status_code}"
        assert response.status_code != 405, f"{method} {url}"
        assert response.json() != {"detail": "Not Found"}, f"{method} {url}: no route"
        answers.append((response.status_code, response.json()))
    assert all(answer == answers[0] for answer in answers), answers


@pytest.mark.parametrize("url", ["/customers", "/customers/"])
def test_a_collection_takes_its_body_at_either_form(client: TestClient, url: str) -> None:
    response = client.post(url, json={"name": "Slash", "email": "slash@example.com"}, follow_redirects=False)
    assert response.status_code == 201, response.text
    created = response.json()["id"]
    for listing in ("/customers", "/customers/"):
        response = client.get(listing, follow_redirects=False)
        assert response.status_code == 200, response.text
        assert [c["id"] for c in response.json()] == [created]


@pytest.mark.parametrize("url", ["/events", "/events/", "/events/batch", "/events/batch/"])
def test_events_are_recorded_at_every_spelling(client: TestClient, url: str) -> None:
    assert client.post("/metrics/", json={"name": "api_calls", "aggregation": "sum"}).status_code == 201
    customer = client.post("/customers/", json={"name": "E", "email": "e@example.com"}).json()["id"]
    event = {"event_id": "e-1", "customer_id": customer, "metric_name": "api_calls", "quantity": 2}
    body = {"events": [event]} if "batch" in url else event
    response = client.post(url, json=body, follow_redirects=False)
    assert response.status_code in (200, 201), response.text
    stored = client.get(f"/events/customers/{customer}").json()
    assert [e["event_id"] for e in stored] == ["e-1"]
