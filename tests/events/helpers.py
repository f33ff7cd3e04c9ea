"""Shared helpers for the events tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Protocol

from fastapi.testclient import TestClient

from fubble.api.json import loads

PLAN = {
    "name": "API Pro Plan",
    "billing_frequency": "monthly",
    "price_components": [
        {
            "metric_name": "api_calls",
            "pricing_type": "tiered",
            "pricing_details": {"tiers": [{"start": 0, "end": None, "price": "0.01"}]},
        },
        {
            "metric_name": "storage_gb",
            "pricing_type": "volume",
            "pricing_details": {"tiers": [{"start": 0, "end": None, "price": "0.10"}]},
        },
    ],
}


class _Response(Protocol):
    @property
    def content(self) -> bytes: ...


def exact(response: _Response) -> Any:
    """The response body with every non-integer number as an exact Decimal."""
    return loads(response.content)


def new_plan(client: TestClient) -> None:
    response = client.post("/plans/", json=PLAN)
    assert response.status_code == 201, response.text


def new_customer(client: TestClient, email: str = "billing@acmecorp.com") -> int:
    response = client.post("/customers/", json={"name": "Acme Corp", "email": email})
    assert response.status_code == 201, response.text
    customer_id: int = response.json()["id"]
    return customer_id


def event(customer_id: int, **fields: Any) -> dict[str, Any]:
    return {"customer_id": customer_id, "metric_name": "api_calls", "quantity": 50, **fields}


def post_event(client: TestClient, body: dict[str, Any], status: int = 201) -> Any:
    response = client.post("/events/", json=body)
    assert response.status_code == status, response.text
    return exact(response)


def all_events(client: TestClient, customer_id: int) -> list[Any]:
    response = client.get(f"/events/customers/{customer_id}", params={"limit": 1000})
    assert response.status_code == 200, response.text
    events: list[Any] = exact(response)
    return events


def run_import(db_url: str, file: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``fubble events import FILE ARGS`` as a person runs it: the real command in a process of its own, on
    ``db_url`` (in ``cwd``, so no stray .env is read; no other FUBBLE_ setting leaks in)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FUBBLE_")}
    return subprocess.run(
        [sys.executable, "-m", "fubble", "events", "import", str(file), *args],
        capture_output=True,
        text=True,
        env={**env, "FUBBLE_DATABASE_URL": db_url, "COLUMNS": "200"},
        cwd=cwd,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
