"""``fubble.client.AsyncClient`` against the same real server: the scenario to the cent, errors, the batcher, and a
lost answer replayed by its Idempotency-Key."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from fubble import errors
from fubble.client import AsyncClient, InvalidInputError, NotFoundError
from tests.client import scenario
from tests.client.conftest import Served
from tests.client.lossy_proxy import lossy_proxy

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_the_scenario_to_the_cent(served: Served, suffix: str) -> None:
    async with AsyncClient(served.base, served.key) as client:
        scenario.check(await scenario.run_async(client, suffix))


async def test_errors_are_fubbles_error_classes(served: Served) -> None:
    async with AsyncClient(served.base, served.key) as client:
        with pytest.raises(errors.NotFound) as missing:
            await client.plans.get(999_999_999)
        assert isinstance(missing.value, NotFoundError) and missing.value.status_code == 404
        with pytest.raises(InvalidInputError) as invalid:
            await client.plans.create(name="Bad", billing_frequency="fortnightly")
        assert [entry["loc"] for entry in invalid.value.detail] == [["body", "billing_frequency"]]


async def test_a_lost_answer_is_retried_with_the_same_key_and_replayed(served: Served, suffix: str) -> None:
    keys: list[str | None] = []

    async def record(request: httpx.Request) -> None:
        keys.append(request.headers.get("Idempotency-Key"))

    port = int(served.base.rsplit(":", 1)[1])
    with lossy_proxy(port) as proxy:
        http = httpx.AsyncClient(event_hooks={"request": [record]})
        async with AsyncClient(proxy.base, served.key, http_client=http) as client:
            customer = await client.customers.create(name="Lossy", email=f"async-lossy-{suffix}@example.com")
            proxy.drop = 1
            grant = await client.credits.grant(customer.id, 25, "Prepaid")
            assert proxy.dropped == 1
            assert keys[1] == keys[2] is not None  # the grant, sent twice with one key
            balance = await client.credits.balance(customer.id)
            assert (balance.balance, [g.id for g in balance.grants]) == (Decimal("25.00"), [grant.id])
