"""CPU time the server side spends, for figures steadier than wall-clock rates on a machine whose speed drifts.

:func:`server_side` finds the processes of a server this bench started (``python -m fubble serve ... --port N`` and
its worker processes) and, for a PostgreSQL database, the database's backend processes (``postgres: ... <dbname>``);
:func:`cpu_by_pid` reads their user and system time from ``/proc`` (Linux only; elsewhere it reads nothing), and
:class:`CpuMeter` adds it up over a timed phase. That, divided by the events, is the server's CPU cost per event,
which another process taking the CPU away (or the hypervisor's steal time) changes much less than it changes the
rate.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

_PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def server_side(port: int, database: str | None) -> list[int]:
    """The pids of the server listening on ``port`` (its parent and that one's children: the workers) and, if
    ``database`` is given, of the PostgreSQL backends connected to that database."""
    parents, backends = [], []
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        if "fubble serve" in command and f"--port {port}" in command:
            parents.append(int(entry.name))
        elif database is not None and command.startswith("postgres: ") and f" {database} " in command:
            backends.append(int(entry.name))
    found = list(parents)
    for pid in parents:
        with contextlib.suppress(OSError):
            found.extend(int(child) for child in (_PROC / f"{pid}/task/{pid}/children").read_text().split())
    return found + backends


def cpu_by_pid(pids: list[int]) -> dict[int, float]:
    """User plus system CPU time of each process still there, in seconds."""
    found = {}
    for pid in pids:
        try:
            fields = (_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14 and 15 of the line)
    return found


class CpuMeter:
    """The server side's CPU time over a phase (:meth:`start`, then :meth:`seconds`), counting the processes that
    begin during it too: a PostgreSQL connection pool opens connections as the load needs them, and a backend that
    appeared after a single scan at the start went uncounted (the figure took one of two values, 17 or 28 us per
    event, from one run to the next of the same command). ``find`` lists the processes (:func:`server_side`)."""

    def __init__(self, find: Callable[[], list[int]]) -> None:
        self._find = find
        self._start: dict[int, float] = {}

    def start(self) -> None:
        self._start = cpu_by_pid(self._find())

    def seconds(self) -> float:
        """CPU seconds since :meth:`start` of the processes there now (a process gone meanwhile is not counted)."""
        return sum(total - self._start.get(pid, 0.0) for pid, total in cpu_by_pid(self._find()).items())
