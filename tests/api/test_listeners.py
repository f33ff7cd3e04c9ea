"""``fubble serve --workers N``: a listening socket per worker, so connections are spread over the workers."""

from __future__ import annotations

import http.client
import os
import pickle
import socket
from pathlib import Path

import pytest

from bench.server import TCP_TABLE, ServerProcess, tcp_sockets
from fubble.api import listeners

pytestmark = pytest.mark.skipif(not listeners.SUPPORTED, reason="needs SO_REUSEPORT")


def test_a_pickled_socket_arrives_as_a_new_socket_of_the_same_group() -> None:
    parent = listeners.bound(socket.AF_INET, "127.0.0.1", 0)
    port = parent.getsockname()[1]
    child = pickle.loads(pickle.dumps(parent))  # what a worker gets through the multiprocessing spawn
    try:
        assert isinstance(child, listeners.ReusePortSocket)
        assert child.fileno() != parent.fileno()
        assert child.getsockname() == ("127.0.0.1", port)
        child.listen()
        with socket.create_connection(("127.0.0.1", port), timeout=5):  # the parent never listens: the child takes it
            accepted, _ = child.accept()
            accepted.close()
    finally:
        child.close()
        parent.close()


def test_a_busy_port_is_refused_at_once() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken, pytest.raises(OSError):  # listening without SO_REUSEPORT
        listeners.bound(socket.AF_INET, "127.0.0.1", taken.getsockname()[1]).close()


def _worker_pids(parent: int) -> set[int]:
    """The server's worker processes (not multiprocessing's resource tracker, its other child)."""
    children = [int(pid) for pid in Path(f"/proc/{parent}/task/{parent}/children").read_text().split()]
    return {pid for pid in children if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()}


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _server_side_inode(server_port: int, client_port: int) -> str:
    """The inode of the server's end of the loopback connection from ``client_port``."""
    for entry in tcp_sockets():
        if entry.local_port == server_port and entry.remote_port == client_port:
            return entry.inode
    raise AssertionError(f"no server socket for client port {client_port}")


@pytest.mark.skipif(not TCP_TABLE.exists(), reason="reads Linux's /proc")
def test_connections_opened_together_are_spread_over_the_workers(tmp_path: Path) -> None:
    server = ServerProcess(f"sqlite:///{tmp_path}/workers.db", workers=2, log_dir=tmp_path, access_log=False)
    server.start()
    connections: list[http.client.HTTPConnection] = []
    try:
        assert server.process is not None
        workers = _worker_pids(server.process.pid)
        assert len(workers) == 2
        for _ in range(16):  # with one shared socket, one worker would take them all
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            connection.request("GET", "/health")
            assert connection.getresponse().read()
            connections.append(connection)
        owners = {pid: 0 for pid in workers}
        sockets = {pid: _socket_inodes(pid) for pid in workers}
        for connection in connections:
            assert connection.sock is not None
            inode = _server_side_inode(server.port, connection.sock.getsockname()[1])
            (owner,) = (pid for pid in workers if inode in sockets[pid])
            owners[owner] += 1
        assert all(count > 0 for count in owners.values()), owners  # all 16 on one of two: 1 run in 32,768
    finally:
        for connection in connections:
            connection.close()
        server.stop()
    assert "Traceback" not in server.log()
