"""Metrics shared by the worker processes of ``fubble serve``.

A scrape of ``/-/metrics`` lands on whichever worker the kernel hands the connection to, so with several workers
each one writes its values to files in ``PROMETHEUS_MULTIPROC_DIR`` and the one that answers adds them all up
(``prometheus_client``'s multiprocess mode, :mod:`fubble.observability.metrics`). :func:`shared_metrics` gives the
workers a fresh directory (removed when the server stops), set before they start: ``prometheus_client`` decides
where values live when it is first imported.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import multiprocess

ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def shared_metrics(workers: int) -> Iterator[str | None]:
    """While the server runs: with several ``workers``, ``PROMETHEUS_MULTIPROC_DIR`` set to a fresh directory
    (yielded; removed at the end); with one, unset (its metrics live in its process)."""
    if workers <= 1:
        os.environ.pop(ENV, None)
        yield None
        return
    directory = tempfile.mkdtemp(prefix="fubble-metrics-")
    os.environ[ENV] = directory
    try:
        yield directory
    finally:
        os.environ.pop(ENV, None)
        shutil.rmtree(directory, ignore_errors=True)


def forget_dead_workers() -> None:
    """In a worker: drop the gauges of workers that are gone (a worker that crashed and was replaced left its pool
    gauges behind: they are summed over live workers), and have this one's dropped when it exits. Counters and
    histograms of gone workers stay: their counts still happened."""
    directory = os.environ[ENV]
    for path in glob.glob(os.path.join(directory, "gauge_live*_*.db")):
        pid = path.rsplit("_", 1)[1].removesuffix(".db")
        if pid.isdigit() and not _alive(int(pid)):
            multiprocess.mark_process_dead(int(pid), directory)  # type: ignore[no-untyped-call]
    atexit.register(_forget, os.getpid(), directory)


def _forget(pid: int, directory: str) -> None:
    with contextlib.suppress(OSError):
        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
