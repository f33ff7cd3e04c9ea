"""fubble serve's HTTP protocol (fubble.api.http_protocol): the writes of one event-loop pass leave in one piece,
and nothing is lost or reordered, on a real socket and through a real server."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from bench.server import ServerProcess, create_admin_key
from fubble.api.http_protocol import _CoalescingTransport


def test_writes_of_one_pass_are_sent_together_and_close_flushes_first() -> None:
    async def scenario() -> list[bytes]:
        ours, theirs = socket.socketpair()
        theirs.setblocking(False)
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
        coalescing = _CoalescingTransport(transport, loop)  # type: ignore[arg-type]
        coalescing.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        coalescing.write(b"ok")
        try:
            early = theirs.recv(65536)
        except BlockingIOError:
            early = b""
        assert early == b""  # nothing is sent during the pass
        await asyncio.sleep(0)  # the end of this pass: one send()
        await asyncio.sleep(0.05)
        first = theirs.recv(65536)
        coalescing.write(b"last")
        coalescing.close()  # before the pass ends: the pending write still goes out, then the connection closes
        await asyncio.sleep(0.05)
        rest = theirs.recv(65536)
        end = theirs.recv(65536)
        theirs.close()
        return [first, rest, end]

    first, rest, end = asyncio.run(scenario())
    assert first == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"  # both writes arrive in one piece
    assert rest == b"last"
    assert end == b""  # closed


def test_keep_alive_requests_and_a_closing_one_get_every_response(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/http.db"
    key = create_admin_key(url)
    server = ServerProcess(url, log_dir=tmp_path)
    server.start()
    try:
        request = f"GET /customers/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n".encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
            conn.sendall(request + b"\r\n" + request + b"\r\n" + request + b"Connection: close\r\n\r\n")
            received = b""
            while chunk := conn.recv(65536):
                received += chunk
        assert received.count(b"HTTP/1.1 200 OK") == 3
        assert received.endswith(b"[]")  # the last body arrived whole before the close
    finally:
        server.stop()
