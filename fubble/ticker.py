"""A background thread that calls one function at a fixed interval until stopped: the billing scheduler, webhook
delivery and payment collection each run on one (inside ``fubble serve`` and ``fubble worker``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable


class Ticker:
    """Calls ``tick`` every ``every`` seconds in a daemon thread named ``name``; a tick that raises is logged to
    ``log`` and the next one runs as usual. :attr:`stopping` is set by :meth:`stop`, for ticks that loop to check."""

    def __init__(self, name: str, tick: Callable[[], object], log: logging.Logger) -> None:
        self.name = name
        self.tick = tick
        self.log = log
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, every: float) -> None:
        """Start ticking (nothing if ``every`` <= 0 or already started)."""
        if every <= 0 or self._thread is not None:
            return
        self.stopping.clear()
        self._thread = threading.Thread(target=self._loop, args=(every,), name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Stop, waiting up to ``timeout`` seconds for a tick in progress to end."""
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None

    def _loop(self, every: float) -> None:
        while not self.stopping.wait(every):
            try:
                self.tick()
            except Exception:  # a failed tick must not end the thread; the next one tries again
                self.log.exception("%s: tick failed", self.name)
