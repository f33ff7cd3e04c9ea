"""Recording many events in batches: ``client.events.batcher(size=500)``.

::

    with client.events.batcher(size=500) as batch:
        for request in log:
            batch.add(customer_id=request.customer, metric_name="api_calls", quantity=1, event_id=request.id)
    print(batch.accepted, batch.duplicates)

Each time ``size`` events are waiting, they are sent as one ``POST /events/batch`` (all or nothing, retried with its
``Idempotency-Key`` like every call); leaving the block sends the rest. If the block raises, the events not sent
yet stay in :attr:`pending` and are not sent (events with an ``event_id`` may be sent again later without counting
twice). A refused batch raises at the ``add`` (or the exit) that sent it, with its events in :attr:`pending`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from types import TracebackType
from typing import Any

from fubble.client._call import Call
from fubble.client.ops import events as ops
from fubble.events.schemas import BatchResult

MAX_BATCH = 10_000  # the server's default FUBBLE_MAX_BATCH_EVENTS


class _Batches:
    def __init__(self, size: int) -> None:
        if not 1 <= size <= MAX_BATCH:
            raise ValueError(f"size must be 1 to {MAX_BATCH}, not {size}")
        self.size = size
        self.pending: list[dict[str, Any]] = []
        self.results: list[BatchResult] = []

    @property
    def accepted(self) -> int:
        """Events stored by the batches sent so far."""
        return sum(result.accepted for result in self.results)

    @property
    def duplicates(self) -> int:
        """Events of the batches sent so far that were stored already (same ``event_id`` and payload)."""
        return sum(result.duplicates for result in self.results)

    def _append(self, event: Mapping[str, Any]) -> bool:
        """Whether a batch is full now."""
        self.pending.append(dict(event))
        return len(self.pending) >= self.size

    def _take(self) -> Call[BatchResult] | None:
        if not self.pending:
            return None
        return ops.batch(self.pending[: self.size])

    def _sent(self, result: BatchResult) -> None:
        del self.pending[: self.size]
        self.results.append(result)


class EventBatcher(_Batches):
    """Sends events in batches of up to ``size`` (see the module's documentation)."""

    def __init__(self, send: Callable[[Call[BatchResult]], BatchResult], size: int) -> None:
        super().__init__(size)
        self._send = send

    def add(
        self,
        *,
        metric_name: str,
        quantity: ops.Quantity,
        customer_id: int | None = None,
        external_customer_id: str | None = None,
        event_time: datetime | None = None,
        properties: Mapping[str, Any] | None = None,
        event_id: str | None = None,
    ) -> None:
        """Queue one event (the fields of ``client.events.record``); sends a batch when ``size`` are waiting."""
        event = ops.event(
            metric_name=metric_name,
            quantity=quantity,
            customer_id=customer_id,
            external_customer_id=external_customer_id,
            event_time=event_time,
            properties=properties,
            event_id=event_id,
        )
        if self._append(event):
            self.flush()

    def extend(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Queue events given as mappings of their fields, sending each batch that fills up."""
        for event in events:
            if self._append(event):
                self.flush()

    def flush(self) -> None:
        """Send what is waiting, ``size`` at a time."""
        while (call := self._take()) is not None:
            self._sent(self._send(call))

    def __enter__(self) -> EventBatcher:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if error is None:
            self.flush()


class AsyncEventBatcher(_Batches):
    """:class:`EventBatcher` for :class:`~fubble.client.AsyncClient`: ``async with``, ``await batch.add(...)``."""

    def __init__(self, send: Callable[[Call[BatchResult]], Awaitable[BatchResult]], size: int) -> None:
        super().__init__(size)
        self._send = send

    async def add(
        self,
        *,
        metric_name: str,
        quantity: ops.Quantity,
        customer_id: int | None = None,
        external_customer_id: str | None = None,
        event_time: datetime | None = None,
        properties: Mapping[str, Any] | None = None,
        event_id: str | None = None,
    ) -> None:
        """Queue one event (the fields of ``client.events.record``); sends a batch when ``size`` are waiting."""
        event = ops.event(
            metric_name=metric_name,
            quantity=quantity,
            customer_id=customer_id,
            external_customer_id=external_customer_id,
            event_time=event_time,
            properties=properties,
            event_id=event_id,
        )
        if self._append(event):
            await self.flush()

    async def extend(self, events: Iterable[Mapping[str, Any]]) -> None:
        """Queue events given as mappings of their fields, sending each batch that fills up."""
        for event in events:
            if self._append(event):
                await self.flush()

    async def flush(self) -> None:
        """Send what is waiting, ``size`` at a time."""
        while (call := self._take()) is not None:
            self._sent(await self._send(call))

    async def __aenter__(self) -> AsyncEventBatcher:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if error is None:
            await self.flush()
