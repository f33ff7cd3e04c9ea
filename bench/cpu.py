"""CPU time the server side spends, for figures steadier than wall-clock rates on a machine whose speed drifts.

:func:`server_side` finds the processes of a server this bench started (``python -m fubble serve ... --port N`` and
its worker processes) and, for a PostgreSQL database, the database's backend processes (``postgres: ... <dbname>``);
:func:`cpu_seconds` adds up their user and system time from ``/proc`` (Linux only; elsewhere it reads 0). The
difference over a timed phase, divided by the events, is the server's CPU cost per event, which another process
taking the CPU away (or the hypervisor's steal time) changes much less than it changes the rate.
"""

from __future__ import annotations

import contextlib
import os
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


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time of the processes, in seconds (a process gone meanwhile counts 0)."""
    total = 0
    for pid in pids:
        try:
            fields = (_PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of the whole line)
    return total / _TICKS
