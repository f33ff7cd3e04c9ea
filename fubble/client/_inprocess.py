"""An httpx transport that hands each request to an ASGI app in this process: no socket, no server.

The app runs on an event loop of its own, in a daemon thread, for the transport's whole life: its lifespan is
started once, before the first request (the app is built then, by ``make_app``), and ended by :meth:`close`, so
what belongs to one event loop (the admission gate, the group committer of single events) lives as long as the app.
Callers in any thread (a notebook's too, whose own loop runs in the main thread) block until their answer is in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, MutableMapping
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Any

import anyio
import httpx
from anyio.from_thread import BlockingPortal
from fastapi import FastAPI

Message = MutableMapping[str, Any]
CLIENT = ("127.0.0.1", 0)  # where the requests come from, for the app: this process, over loopback
SERVER = ("127.0.0.1", 0)


class InProcessTransport(httpx.BaseTransport):
    def __init__(self, make_app: Callable[[], FastAPI]) -> None:
        self._make_app = make_app
        self._lock = threading.Lock()
        self._app: FastAPI | None = None
        self._loop: _LoopThread | None = None
        self._lifespan: AbstractContextManager[Any] | None = None
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        loop, app = self._started()
        status, headers, content = loop.portal.call(_call_app, app, request, body)
        return httpx.Response(status, headers=headers, content=content, request=request)

    def _started(self) -> tuple[_LoopThread, FastAPI]:
        with self._lock:
            if self._closed:
                raise RuntimeError("this engine is closed")
            if self._app is None or self._loop is None:
                app = self._make_app()
                loop = _LoopThread()
                try:
                    lifespan = loop.portal.wrap_async_context_manager(app.router.lifespan_context(app))
                    lifespan.__enter__()
                except BaseException:
                    loop.stop()
                    raise
                self._app, self._loop, self._lifespan = app, loop, lifespan
            return self._loop, self._app

    def close(self) -> None:
        """End the app's lifespan (its database is disposed) and stop its event loop; idempotent."""
        with self._lock:
            self._closed = True
            loop, lifespan = self._loop, self._lifespan
            self._app = self._loop = self._lifespan = None
        if loop is None:
            return
        try:
            if lifespan is not None:
                lifespan.__exit__(None, None, None)
        finally:
            loop.stop()


class _LoopThread:
    """An anyio event loop in a daemon thread, reached through a blocking portal (a daemon, so that a script that
    never closes its engine still exits)."""

    def __init__(self) -> None:
        ready: Future[BlockingPortal] = Future()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="fubble-engine", daemon=True)
        self._thread.start()
        self.portal = ready.result()

    @staticmethod
    def _run(ready: Future[BlockingPortal]) -> None:
        async def serve() -> None:
            async with BlockingPortal() as portal:
                ready.set_result(portal)
                await portal.sleep_until_stopped()

        try:
            anyio.run(serve)
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            raise

    def stop(self) -> None:
        self.portal.call(self.portal.stop)
        self._thread.join()


async def _call_app(app: FastAPI, request: httpx.Request, body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Run one request through the ASGI app; (status, headers, body) of its answer."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": request.url.scheme,
        "path": request.url.path,
        "raw_path": request.url.raw_path.split(b"?")[0],
        "query_string": request.url.query,
        "root_path": "",
        "headers": [(name.lower(), value) for name, value in request.headers.raw],
        "client": CLIENT,
        "server": SERVER,
    }
    sent = False
    complete = anyio.Event()
    status: int | None = None
    headers: list[tuple[bytes, bytes]] = []
    parts: list[bytes] = []

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await complete.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            headers.extend((bytes(k), bytes(v)) for k, v in message.get("headers", []))
        elif message["type"] == "http.response.body":
            parts.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                complete.set()

    try:
        await app(scope, receive, send)
    except Exception:
        # Starlette answers an unhandled error with its 500 and then raises it again (for a server to log): the
        # answer is what the caller gets, as over HTTP. An error before any answer is the caller's to see.
        if status is None:
            raise
    finally:
        complete.set()
    if status is None:
        raise RuntimeError(f"the app sent no answer to {request.method} {request.url.path}")
    return status, headers, b"".join(parts)
