"""uvicorn's httptools protocol, writing each response to the socket in one piece.

uvicorn writes a response's status line and headers, then its body, with two ``transport.write`` calls; each is a
``send()`` system call right away, and on loopback a system call is a large part of what a small request costs (about
a third of the server's time for a single ``POST /events/``). :class:`CoalescingProtocol` hands uvicorn a transport
that collects the writes made during one pass of the event loop and sends them together at the end of that pass, so a
small response goes out in one ``send()``. Nothing waits longer than the current pass: the collected bytes are
written by a callback scheduled at the first write, and before the connection closes.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _CoalescingTransport:
    """A transport that joins the writes of one event-loop pass into one write of the transport it wraps."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._pending is None:
            self._pending = [bytes(data)]
            self._loop.call_soon(self.flush)
        else:
            self._pending.append(bytes(data))

    def flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:  # everything else is the wrapped transport's
        return getattr(self._transport, name)


class CoalescingProtocol(HttpToolsProtocol):
    """:class:`~uvicorn.protocols.http.httptools_impl.HttpToolsProtocol` whose writes go out one ``send()`` per
    event-loop pass (pass it to uvicorn as ``http=``)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = _CoalescingTransport(transport, self.loop)  # type: ignore[assignment]
