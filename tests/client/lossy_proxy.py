"""A TCP proxy in front of the real server that can lose answers: with ``drop`` set to N, the next N responses are
not passed on; the proxy closes the client's connection as soon as the server starts answering, so the server has
done (and committed) the work, and the client sees the connection end without an answer."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


class LossyProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.drop = 0
        self.dropped = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, answers: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if answers and self._lose_one():
                    break
                target.sendall(data)
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _lose_one(self) -> bool:
        with self._lock:
            if self.drop <= 0:
                return False
            self.drop -= 1
            self.dropped += 1
            return True

    def close(self) -> None:
        self._stopped = True
        self._listener.close()


@contextlib.contextmanager
def lossy_proxy(upstream_port: int) -> Iterator[LossyProxy]:
    proxy = LossyProxy(upstream_port)
    try:
        yield proxy
    finally:
        proxy.close()
