"""Listening sockets for ``fubble serve --workers N``: one per worker, in one ``SO_REUSEPORT`` group.

With uvicorn's own multi-worker mode every worker accepts from one shared socket, and whichever worker wakes first
takes every connection waiting at that moment: two clients that connect together usually both land on the same
worker, which then does all the work while the others idle (measured: 4 of 4 batch clients, 44 of 64 single-event
clients on one of two workers). Here each worker listens on a socket of its own, all bound to the same address with
``SO_REUSEPORT``, and the kernel spreads new connections over them evenly (by a hash of the client's address and port).

The parent binds its socket first (so a busy port fails at once, with uvicorn's usual message) but never listens on
it: only listening sockets receive connections. Each worker gets, instead of a copy of the parent's socket, a fresh
one made when the worker unpickles it (:class:`ReusePortSocket`).
"""

from __future__ import annotations

import socket
from typing import Any

SUPPORTED = hasattr(socket, "SO_REUSEPORT")


class ReusePortSocket(socket.socket):
    """A TCP socket bound with ``SO_REUSEPORT``; a worker process that receives it (pickled by the multiprocessing
    spawn) gets a new socket bound to the same address, not the same socket."""

    def __reduce__(self) -> tuple[Any, ...]:
        host, port = self.getsockname()[:2]
        return bound, (self.family, host, port)


def bound(family: int, host: str, port: int) -> ReusePortSocket:
    """A new socket of the ``SO_REUSEPORT`` group of ``(host, port)`` (``port`` 0: any free port), not yet listening."""
    sock = ReusePortSocket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def family_of(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
