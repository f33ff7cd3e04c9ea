"""The fast path of POST /events/ and POST /events/batch (fubble.events.ingest_route) answers exactly like the FastAPI
routes it stands in front of (both decode events with fubble.events.decoder), and leaves to them every request that
is not plain, and bodies that are not JSON."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from fubble.api import routing
from fubble.api.app import create_app
from fubble.clock import FrozenClock
from fubble.config import Settings
from fubble.db.session import Database

from .helpers import all_events, event, new_customer, new_plan

JSON = {"Content-Type": "application/json"}
SLOW = "?via=fastapi"  # a query string: the fast path leaves the request to the FastAPI route


@pytest.fixture
def pipeline_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The requests that went through the FastAPI routes' pipeline (the fast path does not)."""
    seen: list[str] = []
    real = routing.run_in_unit_of_work

    async def counting(request: Any, inner: Any, principal: Any, **options: Any) -> Any:
        seen.append(f"{request.method} {request.url.path}")
        return await real(request, inner, principal, **options)

    monkeypatch.setattr(routing, "run_in_unit_of_work", counting)
    return seen


def _post(client: TestClient, path: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return client.post(path, content=body, headers={**JSON, **(headers or {})})


def _same(fast: httpx.Response, slow: httpx.Response) -> None:
    assert fast.status_code == slow.status_code, (fast.text, slow.text)
    assert fast.content == slow.content
    assert _headers(fast) == _headers(slow)


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    """The response's headers but its X-Request-ID (each request has its own), which both paths send."""
    assert len(response.headers["x-request-id"]) == 32
    return [(name, value) for name, value in response.headers.multi_items() if name != "x-request-id"]


BODIES = [
    b'{"customer_id":%d,"metric_name":"api_calls","quantity":50,"event_id":"e-1"}',
    b'{"customer_id":%d,"metric_name":"api_calls","quantity":0.000000000001,"event_id":"e-2",'
    b'"event_time":"2024-01-10T23:30:00-02:30"}',
    b'{"customer_id":%d,"metric_name":"storage_gb","quantity":12345678901234567890.5,"event_id":"\\u00e9\\u2028\\"",'
    b'"properties":{"z":[1.50,2,"\\u00e9"],"a":{"n":null,"t":true,"d":1E+3}}}',
    b'{"customer_id":%d,"metric_name":"api_calls","quantity":7,"event_id":"e-4","event_time":"2024-01-10T10:00:00"}',
]


@pytest.mark.parametrize("template", BODIES, ids=[str(i) for i in range(len(BODIES))])
def test_fast_path_and_fastapi_route_give_the_same_responses(
    client: TestClient, customer_id: int, template: bytes, pipeline_runs: list[str]
) -> None:
    body = template % customer_id
    created = _post(client, "/events/", body)
    assert created.status_code == 201, created.text
    assert pipeline_runs == []  # answered by the fast path
    replay = _post(client, "/events/", body)
    assert replay.status_code == 200 and replay.headers["idempotent-replay"] == "true"
    assert replay.content == created.content
    assert pipeline_runs == []
    _same(replay, _post(client, "/events/" + SLOW, body))
    assert pipeline_runs == ["POST /events/"]
    assert len(all_events(client, customer_id)) == 1


def test_a_new_event_renders_like_the_fastapi_route(client: TestClient, customer_id: int) -> None:
    body = b'{"customer_id":%d,"metric_name":"api_calls","quantity":2.50,"properties":{"k":"v"}}' % customer_id
    slow = _post(client, "/events/" + SLOW, body)
    fast = _post(client, "/events/", body)
    assert slow.status_code == fast.status_code == 201
    assert slow.json()["id"] == 1 and fast.json()["id"] == 2
    assert fast.content == slow.content.replace(b'"id":1,', b'"id":2,', 1)
    assert _headers(fast) == _headers(slow)


def test_a_batch_is_answered_by_the_fast_path(client: TestClient, customer_id: int, pipeline_runs: list[str]) -> None:
    events = b",".join(template % customer_id for template in BODIES)
    body = b'{"events":[' + events + b"," + BODIES[0] % customer_id + b"]}"
    response = _post(client, "/events/batch", body)
    assert response.status_code == 200, response.text
    assert response.content == b'{"accepted":4,"duplicates":1,"duplicate_event_ids":["e-1"]}'
    assert pipeline_runs == []
    _same(_post(client, "/events/batch", body), _post(client, "/events/batch" + SLOW, body))
    assert len(all_events(client, customer_id)) == 4


def test_idempotency_key_goes_through_the_pipeline(
    client: TestClient, customer_id: int, pipeline_runs: list[str]
) -> None:
    body = b'{"customer_id":%d,"metric_name":"api_calls","quantity":3}' % customer_id
    first = _post(client, "/events/", body, {"Idempotency-Key": "req-1"})
    assert first.status_code == 201, first.text
    again = _post(client, "/events/", body, {"Idempotency-Key": "req-1"})
    assert again.status_code == 201 and again.headers["idempotent-replay"] == "true"
    assert again.content == first.content
    batch = b'{"events":[' + body + b"]}"
    assert _post(client, "/events/batch", batch, {"Idempotency-Key": "req-2"}).status_code == 200
    replayed = _post(client, "/events/batch", batch, {"Idempotency-Key": "req-2"})
    assert replayed.headers["idempotent-replay"] == "true"
    assert pipeline_runs == ["POST /events/"] * 2 + ["POST /events/batch"] * 2
    assert len(all_events(client, customer_id)) == 2


NOT_JSON = [
    b'{"customer_id":%d,',
    b'{"customer_id":%d,"metric_name":"api_calls","quantity":NaN}',
    b'{"customer_id":%d,"metric_name":"api_\xff","quantity":1}',
]
INVALID = [
    b'{"customer_id":%d,"metric_name":"api_calls","quantity":-1}',
    b'{"customer_id":%d,"metric_name":"api_calls","quantity":1,"colour":"red"}',
    b'{"customer_id":%d,"metric_name":" ","quantity":1}',
    b'{"customer_id":%d,"metric_name":"api_calls","quantity":1,"event_time":"2024-02-30T00:00:00Z"}',
    b'{"customer_id":%d,"metric_name":"api_calls","quantity":1,"properties":{"n":1e999}}',
    b"[%d]",
]


@pytest.mark.parametrize("template", NOT_JSON + INVALID, ids=[str(i) for i in range(len(NOT_JSON + INVALID))])
def test_bad_bodies_get_the_same_422_from_both_routes(
    client: TestClient, customer_id: int, template: bytes, pipeline_runs: list[str]
) -> None:
    """An invalid event is refused by the fast path itself; a body that is not JSON is left to the FastAPI route
    (whose JSON parser reads every body the API takes); the FastAPI route answers both alike."""
    body = template % customer_id
    fast = _post(client, "/events/", body)
    assert fast.status_code == 422, fast.text
    assert pipeline_runs == (["POST /events/"] if template in NOT_JSON else [])
    _same(fast, _post(client, "/events/" + SLOW, body))
    batch = b'{"events":[' + BODIES[0] % customer_id + b"," + body + b"]}"
    _same(_post(client, "/events/batch", batch), _post(client, "/events/batch" + SLOW, batch))
    assert all_events(client, customer_id) == []


def test_numeric_strings_and_exponents_are_quantities_but_numbers_are_not_times(
    client: TestClient, customer_id: int, pipeline_runs: list[str]
) -> None:
    """A quantity may be a numeric string or have an exponent (README: numbers or numeric strings); a number where
    the schema declares a date-time is refused naming the field, not read as seconds since 1970."""
    for extra in (b'"quantity":"2.5"', b'"quantity":1E+2', b'"quantity":" 3 "'):
        body = b'{"customer_id":%d,"metric_name":"api_calls",%s}' % (customer_id, extra)
        assert _post(client, "/events/", body).status_code == 201
    body = b'{"customer_id":%d,"metric_name":"api_calls","quantity":1,"event_time":1700000000}' % customer_id
    refused = _post(client, "/events/", body)
    assert refused.status_code == 422
    assert [e["loc"] for e in refused.json()["detail"]] == [["body", "event_time"]]
    _same(refused, _post(client, "/events/" + SLOW, body))
    assert pipeline_runs == ["POST /events/"]  # only the one sent with a query string
    without_type = client.post("/events/", content=b'{"customer_id":1}')
    assert without_type.status_code == 422


def test_errors_from_the_group_commit_render_like_the_fastapi_route(client: TestClient, customer_id: int) -> None:
    for body in (
        b'{"customer_id":999,"metric_name":"api_calls","quantity":1}',
        b'{"external_customer_id":"nobody","metric_name":"api_calls","quantity":1}',
        b'{"customer_id":%d,"metric_name":"api_callz","quantity":1}' % customer_id,
    ):
        fast = _post(client, "/events/", body)
        assert fast.status_code in (404, 422), fast.text
        _same(fast, _post(client, "/events/" + SLOW, body))
    stored = b'{"customer_id":%d,"metric_name":"api_calls","quantity":1,"event_id":"x"}' % customer_id
    assert _post(client, "/events/", stored).status_code == 201
    conflict = stored.replace(b'"quantity":1', b'"quantity":2')
    fast = _post(client, "/events/", conflict)
    assert fast.status_code == 409
    _same(fast, _post(client, "/events/" + SLOW, conflict))


def test_a_batch_with_bad_events_lists_every_one_and_stores_nothing(
    client: TestClient, customer_id: int, pipeline_runs: list[str]
) -> None:
    good = BODIES[0] % customer_id
    unknown_customer = b'{"customer_id":999,"metric_name":"api_calls","quantity":1,"event_id":"u"}'
    unknown_metric = b'{"customer_id":%d,"metric_name":"api_callz","quantity":1}' % customer_id
    body = b'{"events":[' + b",".join([good, unknown_customer, good, unknown_metric]) + b"]}"
    fast = _post(client, "/events/batch", body)
    assert fast.status_code == 422, fast.text
    assert pipeline_runs == []  # the service refused it on the fast path
    assert [e["index"] for e in fast.json()["detail"]["errors"]] == [1, 3]
    assert fast.json()["detail"]["errors"][0]["event_id"] == "u"
    _same(fast, _post(client, "/events/batch" + SLOW, body))
    # One event EventIn refuses: the FastAPI route lists it with the others.
    body = b'{"events":[' + b",".join([good, unknown_customer, b'{"customer_id":0}']) + b"]}"
    response = _post(client, "/events/batch", body)
    assert [e["index"] for e in response.json()["detail"]["errors"]] == [1, 2]
    assert all_events(client, customer_id) == []


@pytest.mark.parametrize("path", ["/events/", "/events/batch"])
def test_keys_and_scopes_on_the_fast_path(
    app: Any, client: TestClient, customer_id: int, make_key: Callable[[str], str], path: str
) -> None:
    one = b'{"customer_id":%d,"metric_name":"api_calls","quantity":1}' % customer_id
    body = one if path == "/events/" else b'{"events":[' + one + b"]}"
    with TestClient(app, raise_server_exceptions=False) as anon:
        missing = _post(anon, path, body)
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        _same(missing, _post(anon, path + SLOW, body))
        unknown = {"Authorization": "Bearer fbl_000000000000_" + "a" * 43}
        assert _post(anon, path, body, unknown).status_code == 401
        read = {"Authorization": f"Bearer {make_key('read')}"}
        refused = _post(anon, path, body, read)
        assert refused.status_code == 403 and "ingest" in refused.json()["detail"]
        _same(refused, _post(anon, path + SLOW, body, read))
        ingest = {"Authorization": f"Bearer {make_key('ingest')}"}
        assert _post(anon, path, body, ingest).status_code in (200, 201)
    assert len(all_events(client, customer_id)) == 1


def test_no_auth_serves_only_loopback_on_the_fast_path(db: Database, clock: FrozenClock, admin_key: str) -> None:
    app = create_app(Settings(database_url=db.url, auth_enabled=False), clock=clock, database=db)
    with TestClient(app, raise_server_exceptions=False, base_url="http://127.0.0.1") as local:
        new_plan(local)
        customer_id = new_customer(local)
        assert local.post("/events/", json=event(customer_id)).status_code == 201
    with TestClient(app, raise_server_exceptions=False) as remote:  # the server is "testserver", not loopback
        refused = remote.post("/events/", json=event(customer_id))
        assert refused.status_code == 403
        _same(refused, remote.post("/events/" + SLOW, json=event(customer_id)))


LIMIT = 2048


@pytest.fixture
def limited(db: Database, clock: FrozenClock, admin_key: str) -> Iterator[TestClient]:
    settings = Settings(database_url=db.url, max_body_bytes=LIMIT)
    app = create_app(settings, clock=clock, database=db)
    with TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {admin_key}"}) as c:
        yield c


def test_cors_applies_to_the_fast_path(db: Database, clock: FrozenClock, admin_key: str) -> None:
    origin = "https://app.example"
    app = create_app(Settings(database_url=db.url, cors_origins=[origin]), clock=clock, database=db)
    with TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {admin_key}"}) as c:
        new_plan(c)
        customer_id = new_customer(c)
        body = b'{"customer_id":%d,"metric_name":"api_calls","quantity":1,"event_id":"o"}' % customer_id
        fast = _post(c, "/events/", body, {"Origin": origin})
        assert fast.status_code == 201
        assert fast.headers["access-control-allow-origin"] == origin
        assert fast.headers["access-control-expose-headers"] == "Idempotent-Replay, X-Request-ID, Retry-After"
        _same(_post(c, "/events/", body, {"Origin": origin}), _post(c, "/events/" + SLOW, body, {"Origin": origin}))
        refused = _post(c, "/events/batch", b'{"events":[' + body + b"]}", {"Origin": "https://evil.example"})
        assert refused.status_code == 200 and "access-control-allow-origin" not in refused.headers


def test_bodies_over_the_limit_are_413_on_the_fast_path(limited: TestClient) -> None:
    new_plan(limited)
    customer_id = new_customer(limited)
    one = b'{"customer_id":%d,"metric_name":"api_calls","quantity":1}' % customer_id
    body = b'{"events":[' + b",".join([one] * 60) + b"]}"
    assert len(body) > LIMIT
    assert _post(limited, "/events/batch", body).status_code == 413
    chunked = limited.post("/events/batch", content=iter([body[:1500], body[1500:]]), headers=JSON)
    assert chunked.status_code == 413
    assert str(LIMIT) in chunked.json()["detail"]
    big = one[:-1] + b',"properties":{"p":"' + b"x" * LIMIT + b'"}}'
    assert limited.post("/events/", content=iter([big]), headers={**JSON, "Content-Length": "10"}).status_code == 413
    assert all_events(limited, customer_id) == []


def test_a_repeated_content_type_is_read_like_fastapi_reads_it(app: Any, customer_id: int, admin_key: str) -> None:
    """The first Content-Type counts: text/plain first is a 422 from the FastAPI route, not a JSON body."""
    body = b'{"customer_id":%d,"metric_name":"api_calls","quantity":1}' % customer_id
    auth = (b"authorization", f"Bearer {admin_key}".encode())
    text, json = (b"content-type", b"text/plain"), (b"content-type", b"application/json")
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    assert _asgi(app, [auth, text, json], messages)[0]["status"] == 422
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    assert _asgi(app, [auth, json, text], messages)[0]["status"] == 201


def test_other_methods_and_paths_are_not_taken(client: TestClient, customer_id: int) -> None:
    assert client.get("/events/batch").status_code == 405
    assert client.put("/events/", json=event(customer_id)).status_code == 405
    without_slash = client.post("/events", json=event(customer_id), follow_redirects=False)
    assert without_slash.status_code == 201  # answered directly (by the FastAPI route), no redirect


def _asgi(app: Any, headers: list[tuple[bytes, bytes]], messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Send ``POST /events/`` with these raw headers and request messages straight to the ASGI app (what a test
    client cannot: repeated headers, a disconnect); returns the messages the app sent."""
    import asyncio

    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/events/",
        "raw_path": b"/events/",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }

    async def receive() -> Any:
        return messages.pop(0)

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_a_client_gone_while_sending_its_body_gets_nothing_and_stores_nothing(
    app: Any, client: TestClient, customer_id: int, admin_key: str
) -> None:
    headers = [
        (b"authorization", f"Bearer {admin_key}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", b"60"),  # what a client declares; without it the request goes to the FastAPI route
    ]
    messages = [
        {"type": "http.request", "body": b'{"customer_id":%d,' % customer_id, "more_body": True},
        {"type": "http.disconnect"},
    ]
    assert _asgi(app, headers, messages) == []
    assert all_events(client, customer_id) == []


def test_plain_requests_are_answered_in_front_of_the_middleware(
    db: Database, clock: FrozenClock, admin_key: str, pipeline_runs: list[str]
) -> None:
    """A plain request never enters the middleware stack; one the middleware could act on (an Origin header for CORS,
    a body without Content-Length for the size limit) goes through it, to the FastAPI route."""
    seen: list[str] = []

    class Watch:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                seen.append(scope["path"])
            await self.app(scope, receive, send)

    app = create_app(Settings(database_url=db.url), clock=clock, database=db)
    app.add_middleware(Watch)
    with TestClient(app, raise_server_exceptions=False, headers={"Authorization": f"Bearer {admin_key}"}) as c:
        new_plan(c)
        customer_id = new_customer(c)
        seen.clear()
        pipeline_runs.clear()
        body = b'{"customer_id":%d,"metric_name":"api_calls","quantity":1}' % customer_id
        assert _post(c, "/events/", body).status_code == 201
        assert _post(c, "/events/batch", b'{"events":[' + body + b"]}").status_code == 200
        assert seen == [] and pipeline_runs == []
        assert _post(c, "/events/", body, {"Origin": "https://app.example"}).status_code == 201
        assert c.post("/events/", content=iter([body]), headers=JSON).status_code == 201  # chunked
        assert seen == ["/events/", "/events/"] and pipeline_runs == ["POST /events/", "POST /events/"]


def test_an_unexpected_error_on_the_fast_path_is_the_apps_json_500(
    client: TestClient, customer_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fubble.events import batch_store

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(batch_store, "record_parsed_batch", broken)
    body = b'{"events":[{"customer_id":%d,"metric_name":"api_calls","quantity":1}]}' % customer_id
    response = _post(client, "/events/batch", body)
    assert response.status_code == 500 and response.json() == {"detail": "internal error"}
    assert all_events(client, customer_id) == []
