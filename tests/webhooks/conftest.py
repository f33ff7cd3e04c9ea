"""Webhook tests: the real app on both databases, private URLs allowed (the receivers listen on 127.0.0.1), a retry
schedule of 1 s then 2 s, a delivery worker driven tick by tick on the test clock, and receivers that are real HTTP
servers in threads."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from fubble.config import Settings
from fubble.db.session import Database
from fubble.webhooks.delivery import WebhookWorker


@pytest.fixture
def settings(db: Database) -> Settings:
    return Settings(
        database_url=db.url,
        webhook_allow_private_urls=True,
        webhook_retry_schedule=[1, 2],
        webhook_timeout_seconds=5,
    )


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body, parse_float=Decimal)
        return value


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 recording every POST; it answers with the statuses in ``answers`` in turn (200
    once they run out)."""

    url: str
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def types(self) -> list[str]:
        return [r.payload["type"] for r in self.received]


@contextlib.contextmanager
def receiving() -> Iterator[Receiver]:
    """A :class:`Receiver` listening on 127.0.0.1 until the block ends."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with state.lock:
                state.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
                status = state.answers.pop(0) if state.answers else 200
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as state:
        yield state


@pytest.fixture
def worker(db: Database, clock: FrozenClock, settings: Settings) -> Iterator[WebhookWorker]:
    with WebhookWorker(db, clock, settings) as running:
        yield running


def endpoint(client: TestClient, url: str, *event_types: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/webhook-endpoints", json={"url": url, "event_types": list(event_types), **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def customer(client: TestClient, name: str = "Acme") -> int:
    response = client.post("/customers/", json={"name": name, "email": f"{name.lower()}@acme.example"})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def draft_invoice(client: TestClient, customer_id: int, amount: str = "120.50") -> dict[str, Any]:
    items = [{"description": "Consulting", "amount": amount}]
    response = client.post("/invoices/", json={"customer_id": customer_id, "items": items})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
