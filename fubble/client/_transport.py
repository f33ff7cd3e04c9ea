"""Sending a :class:`~fubble.client._call.Call` over httpx: authentication, ``Idempotency-Key``, retries, errors.

**Retries.** A call is sent again, up to ``max_retries`` times, when it got no answer (the connection could not be
made or broke, a timeout) or an answer of 5xx (a 503 after its ``Retry-After``, capped at :data:`MAX_RETRY_AFTER_S`;
otherwise after an exponential backoff with jitter: 0.5 s, 1 s, 2 s ... up to 8 s). That is safe for every method:
reads change nothing, and every POST, PUT and DELETE carries an ``Idempotency-Key`` made once per call (a uuid4) and
sent again with each retry, so the server does the work at most once and answers a retry of work it did with the
stored answer (``Idempotent-Replay: true``); a failed request stored nothing, so its retry runs afresh.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from fubble import __version__
from fubble.client._call import Call, decode, encode_body, parse, query_params
from fubble.client.errors import APIConnectionError, error_for

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_RETRIES = 2
MAX_RETRY_AFTER_S = 60.0
BACKOFF_S = 0.5
MAX_BACKOFF_S = 8.0
USER_AGENT = f"fubble-python/{__version__}"
_RETRYABLE_ERRORS = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


def default_headers(api_key: str | None) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    return headers


def _request(http: httpx.Client | httpx.AsyncClient, call: Call[Any], key: str | None) -> httpx.Request:
    headers = {}
    content = None
    if call.body is not None:
        content = encode_body(call.body)
        headers["Content-Type"] = "application/json"
    if key is not None:
        headers["Idempotency-Key"] = key
    return http.build_request(
        call.method, call.path, params=httpx.QueryParams(query_params(call.params)), content=content, headers=headers
    )


def _idempotency_key(call: Call[Any]) -> str | None:
    return str(uuid.uuid4()) if call.writes else None


def _delay(attempt: int, response: httpx.Response | None) -> float:
    """How long to wait before retry number ``attempt + 1``."""
    if response is not None and response.status_code == 503:
        retry_after = _retry_after(response.headers.get("Retry-After"))
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER_S)
    backoff = min(BACKOFF_S * 2.0**attempt, MAX_BACKOFF_S)
    return backoff * random.uniform(0.75, 1.0)


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds: a number of seconds or an HTTP date."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _answer(call: Call[T], response: httpx.Response) -> T:
    if response.is_success:
        return parse(call, response.content)
    try:
        body = decode(response.content)
        detail = body.get("detail", body) if isinstance(body, dict) else body
    except ValueError:
        detail = response.text
    raise error_for(response, detail)


def _retryable(response: httpx.Response) -> bool:
    return response.status_code >= 500


class SyncRequester:
    """Sends calls with an :class:`httpx.Client` and answers them (or raises)."""

    def __init__(self, http: httpx.Client, *, max_retries: int) -> None:
        self.http = http
        self.max_retries = max_retries

    def __call__(self, call: Call[T]) -> T:
        request = _request(self.http, call, _idempotency_key(call))  # one key for every attempt
        attempt = 0
        while True:
            try:
                response = self.http.send(request)
            except _RETRYABLE_ERRORS as exc:
                if attempt >= self.max_retries:
                    raise APIConnectionError(f"{call.method} {call.path}: no answer ({exc!r})") from exc
                time.sleep(_delay(attempt, None))
                attempt += 1
                continue
            if _retryable(response) and attempt < self.max_retries:
                time.sleep(_delay(attempt, response))
                attempt += 1
                continue
            return _answer(call, response)


class AsyncRequester:
    """Sends calls with an :class:`httpx.AsyncClient` and answers them (or raises)."""

    def __init__(self, http: httpx.AsyncClient, *, max_retries: int) -> None:
        self.http = http
        self.max_retries = max_retries

    async def __call__(self, call: Call[T]) -> T:
        request = _request(self.http, call, _idempotency_key(call))  # one key for every attempt
        attempt = 0
        while True:
            try:
                response = await self.http.send(request)
            except _RETRYABLE_ERRORS as exc:
                if attempt >= self.max_retries:
                    raise APIConnectionError(f"{call.method} {call.path}: no answer ({exc!r})") from exc
                await asyncio.sleep(_delay(attempt, None))
                attempt += 1
                continue
            if _retryable(response) and attempt < self.max_retries:
                await asyncio.sleep(_delay(attempt, response))
                attempt += 1
                continue
            return _answer(call, response)
