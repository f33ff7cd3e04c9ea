"""The HTTP clients: :class:`Client` (sync) and :class:`AsyncClient`, over httpx."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import httpx

from fubble.client import resources as r
from fubble.client._call import Call
from fubble.client._transport import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT_S,
    AsyncRequester,
    SyncRequester,
    default_headers,
)


class SyncNamespaces:
    """The namespaces of :class:`Client` and :class:`~fubble.Engine`, each sending its calls with ``send``."""

    def __init__(self, send: Callable[[Call[Any]], Any]) -> None:
        self.customers = r.Customers(send)
        self.plans = r.Plans(send)
        self.metrics = r.Metrics(send)
        self.subscriptions = r.Subscriptions(send)
        self.events = r.Events(send)
        self.invoices = r.Invoices(send)
        self.billing = r.Billing(send)
        self.credits = r.Credits(send)
        self.coupons = r.Coupons(send)
        self.tax_rates = r.TaxRates(send)
        self.credit_notes = r.CreditNotes(send)


class AsyncNamespaces:
    """The namespaces of :class:`AsyncClient`."""

    def __init__(self, send: Callable[[Call[Any]], Awaitable[Any]]) -> None:
        self.customers = r.AsyncCustomers(send)
        self.plans = r.AsyncPlans(send)
        self.metrics = r.AsyncMetrics(send)
        self.subscriptions = r.AsyncSubscriptions(send)
        self.events = r.AsyncEvents(send)
        self.invoices = r.AsyncInvoices(send)
        self.billing = r.AsyncBilling(send)
        self.credits = r.AsyncCredits(send)
        self.coupons = r.AsyncCoupons(send)
        self.tax_rates = r.AsyncTaxRates(send)
        self.credit_notes = r.AsyncCreditNotes(send)


class Client(SyncNamespaces):
    """A fubble server's API, from Python::

        with Client("http://127.0.0.1:8000", api_key) as client:
            customer = client.customers.create(name="Acme", email="billing@acme.example")

    ``api_key``: sent as ``Authorization: Bearer ...`` (None for a server started with ``--no-auth``).
    ``timeout``: seconds per attempt (or an :class:`httpx.Timeout`). ``max_retries``: how many times a call that got
    no answer or a 5xx is sent again (each write with the same ``Idempotency-Key``, so it is done at most once).
    ``http_client``: an :class:`httpx.Client` of your own (proxies, TLS, event hooks, its own timeout); its base URL
    and headers are set from the other arguments, and it is closed with this client.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.Client | None = None,
    ) -> None:
        self.http = http_client or httpx.Client(timeout=timeout)
        self.http.base_url = httpx.URL(base_url)
        self.http.headers.update(default_headers(api_key))
        super().__init__(SyncRequester(self.http, max_retries=max_retries))

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


class AsyncClient(AsyncNamespaces):
    """:class:`Client` for asyncio: the same namespaces, each method a coroutine::

        async with AsyncClient("http://127.0.0.1:8000", api_key) as client:
            customer = await client.customers.create(name="Acme", email="billing@acme.example")

    The arguments are :class:`Client`'s (``http_client``: an :class:`httpx.AsyncClient`).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.http = http_client or httpx.AsyncClient(timeout=timeout)
        self.http.base_url = httpx.URL(base_url)
        self.http.headers.update(default_headers(api_key))
        super().__init__(AsyncRequester(self.http, max_retries=max_retries))

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.aclose()
