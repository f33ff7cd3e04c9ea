"""X-Request-ID on every response (the client's when sane, else a new one), and on the log records of its request."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from anyio import to_thread
from fastapi.testclient import TestClient

from fubble.api import admission
from fubble.api.app import create_app
from fubble.clock import FrozenClock
from fubble.config import Settings
from fubble.db.session import Database
from fubble.observability import metrics
from fubble.observability.logs import RequestIdFilter
from fubble.observability.middleware import RequestObserver
from tests.events.helpers import event, new_customer, new_plan

from .helpers import parse

NEW_ID = re.compile(r"[0-9a-f]{32}")


def new_id(response: httpx.Response) -> str:
    """The response's X-Request-ID, checked to be one the server made: a random (version 4) UUID's 32 hex digits."""
    value = response.headers["x-request-id"]
    assert NEW_ID.fullmatch(value), value
    assert uuid.UUID(value).version == 4
    return value


def test_every_response_carries_a_new_request_id(client: TestClient, anon_client: TestClient) -> None:
    new_plan(client)
    customer_id = new_customer(client)
    responses = [
        client.get("/customers/"),
        client.get("/customers/9"),  # 404 from a route
        client.get("/no/such/route"),  # 404, no route
        client.get("/customers/%0A"),  # 404 in front of the app
        client.put("/customers/"),  # 405
        client.get("/customers/", params={"limit": 0}),  # 422
        anon_client.get("/customers/"),  # 401
        anon_client.get("/health"),
        client.post("/events/", json=event(customer_id)),  # the fast path
        client.post("/events/", json=event(customer_id + 1)),  # the fast path's 404
        client.post("/events/batch", json={"events": [event(customer_id)]}),
        client.post("/events/", json=event(customer_id), headers={"Idempotency-Key": "k"}),  # the FastAPI route
    ]
    assert [r.status_code for r in responses] == [200, 404, 404, 404, 405, 422, 401, 200, 201, 404, 200, 201]
    ids = [new_id(response) for response in responses]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("path", ["/customers/", "/events/", "/nowhere"])
def test_a_sane_client_id_is_sent_back_and_any_other_replaced(client: TestClient, path: str) -> None:
    def sent_back(value: str | bytes) -> str:
        response = client.request("GET" if path != "/events/" else "POST", path, headers={"X-Request-ID": value})
        return str(response.headers["x-request-id"])

    for sane in ("abc-123", "0f8fad5b-d9cb-469f-a165-70867728950e", "x" * 128, "a!~{}[]:/=+"):
        assert sent_back(sane) == sane
    for insane in ("", "two words", "x" * 129, "tab\there", b"caf\xc3\xa9", "\x7f"):
        assert NEW_ID.fullmatch(sent_back(insane)), insane


def test_a_busy_workers_503_carries_the_request_id_too(db: Database, clock: FrozenClock) -> None:
    app = create_app(Settings(database_url=db.url, request_queue_max=0), clock=clock, database=db)

    async def scenario() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client, AsyncExitStack() as held:
            for _ in range(admission.gate(app.state).size):  # every transaction slot taken
                await held.enter_async_context(admission.admitted(app.state))
            return await client.get("/health", headers={"X-Request-ID": "busy-1"})

    response = asyncio.run(scenario())
    assert response.status_code == 503, response.text
    assert response.headers["x-request-id"] == "busy-1"


class Captured(logging.Handler):
    """The records of a logger, each given its request's id as a handler of ``fubble serve`` gives it."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(RequestIdFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def call(app: Any, path: str, headers: list[tuple[bytes, bytes]] | None = None) -> list[dict[str, Any]]:
    """Send one GET straight to an ASGI app; the messages it sent."""
    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b""}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app({**scope, "headers": headers or []}, receive, send))
    return sent


def test_log_records_of_a_request_carry_its_id_in_its_task_and_its_threads() -> None:
    log = logging.getLogger("tests.observability.request")
    captured = Captured()
    log.addHandler(captured)
    log.setLevel(logging.INFO)

    async def app(_scope: Any, _receive: Any, send: Callable[..., Any]) -> None:
        log.info("in the request's task")
        await to_thread.run_sync(log.info, "in a worker thread")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    observer = RequestObserver(app, SimpleNamespace(routes=[], fast_routes={}))
    try:
        first = call(observer, "/a")
        second = call(observer, "/b", headers=[(b"x-request-id", b"theirs")])
        log.info("outside any request")
    finally:
        log.removeHandler(captured)
    mine = dict(first[0]["headers"])[b"x-request-id"].decode()
    assert dict(second[0]["headers"])[b"x-request-id"] == b"theirs"
    ids = [getattr(record, "request_id", "missing") for record in captured.records]
    assert ids == [mine, mine, "theirs", "theirs", None]


def test_an_error_that_escapes_is_counted_as_a_500_and_still_carries_an_id() -> None:
    async def failing(_scope: Any, _receive: Any, send: Callable[..., Any]) -> None:
        # What Starlette's ServerErrorMiddleware does: answer 500, then raise the error again for the server.
        await send({"type": "http.response.start", "status": 500, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"Internal Server Error"})
        raise RuntimeError("boom")

    def errors() -> float:
        labels = frozenset({"method": "GET", "route": "unmatched", "status": "500"}.items())
        return parse(metrics.exposition().decode()).get(("fubble_http_request_duration_seconds_count", labels), 0.0)

    before = errors()
    observer = RequestObserver(failing, SimpleNamespace(routes=[], fast_routes={}))
    with pytest.raises(RuntimeError, match="boom"):
        call(observer, "/x")
    assert errors() == before + 1


def test_the_access_log_line_has_method_path_status_duration_and_request_id(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="fubble.access"):
        response = client.get("/customers/", params={"limit": 5}, headers={"X-Request-ID": "line-1"})
        missing = client.get("/customers/12")
    lines = [record for record in caplog.records if record.name == "fubble.access"]
    assert [(r.method, r.path, r.status, r.request_id) for r in lines] == [  # type: ignore[attr-defined]
        ("GET", "/customers/?limit=5", 200, "line-1"),
        ("GET", "/customers/12", 404, missing.headers["x-request-id"]),
    ]
    assert response.status_code == 200
    assert all(r.duration_ms > 0 for r in lines)  # type: ignore[attr-defined]
    assert lines[0].getMessage().startswith("GET /customers/?limit=5 200 ")
