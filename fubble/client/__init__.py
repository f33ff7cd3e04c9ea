"""A typed Python client of the fubble API: :class:`Client` (sync) and :class:`AsyncClient`, over httpx.

Resources are namespaces, as in Stripe's client: ``client.customers.create(...)``, ``client.plans.get(id)``,
``client.events.record(...)``, ``client.events.batcher(size=500)``, ``client.invoices.generate(...)``,
``client.billing.run(...)``, ... Each method answers the server's own response model
(:class:`fubble.customers.schemas.CustomerOut`, ...), with money and quantities as exact ``Decimal``; errors are
the classes of :mod:`fubble.errors` (see :mod:`fubble.client.errors`). Calls that get no answer or a 5xx are retried,
each write with one ``Idempotency-Key``, so a retry never does the work twice.

:class:`fubble.Engine` offers the same namespaces in-process, without a server.
"""

from fubble.client.batcher import AsyncEventBatcher, EventBatcher
from fubble.client.client import AsyncClient, Client
from fubble.client.errors import (
    APIConnectionError,
    APIError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    UnauthorizedError,
    UnavailableError,
)

__all__ = [
    "APIConnectionError",
    "APIError",
    "AsyncClient",
    "AsyncEventBatcher",
    "Client",
    "ConflictError",
    "EventBatcher",
    "ForbiddenError",
    "InvalidInputError",
    "NotFoundError",
    "PayloadTooLargeError",
    "UnauthorizedError",
    "UnavailableError",
]
