"""max_redemptions holds under concurrent redemptions: the coupon row is locked (FOR UPDATE) while one is applied."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from fubble.coupons import service
from fubble.db.session import Database
from fubble.errors import Conflict


def _customers(client: TestClient, count: int) -> list[int]:
    ids = []
    for n in range(count):
        response = client.post("/customers/", json={"name": f"c{n}", "email": f"c{n}@example.com"})
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def test_a_second_redemption_waits_for_the_first_and_sees_the_limit(
    client: TestClient, db: Database, clock: FrozenClock
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite runs one writer at a time (BEGIN IMMEDIATE): nothing runs concurrently to test")
    body = {"code": "ONE", "type": "percentage", "percent_off": 10, "duration": "once", "max_redemptions": 1}
    assert client.post("/coupons/", json=body).status_code == 201
    first, second = _customers(client, 2)
    started, outcome = threading.Event(), []

    def redeem_second() -> None:
        started.set()
        try:
            with db.transaction() as session:
                service.redeem(session, second, "ONE", clock=clock)
            outcome.append("applied")
        except Conflict as exc:
            outcome.append(str(exc))

    with db.transaction() as session:
        service.redeem(session, first, "ONE", clock=clock)  # holds the coupon's row lock until the commit
        thread = threading.Thread(target=redeem_second)
        thread.start()
        assert started.wait(5)
        thread.join(0.5)
        assert thread.is_alive()  # blocked on the lock
    thread.join(10)
    assert outcome == ["coupon 'ONE' has been applied 1 times, its max_redemptions"]
    assert client.get("/coupons/1").json()["times_redeemed"] == 1


def test_concurrent_requests_never_exceed_max_redemptions(client: TestClient, db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite runs one writer at a time (BEGIN IMMEDIATE): nothing runs concurrently to test")
    body = {"code": "THREE", "type": "percentage", "percent_off": 10, "duration": "once", "max_redemptions": 3}
    assert client.post("/coupons/", json=body).status_code == 201
    customers = _customers(client, 12)
    barrier = threading.Barrier(len(customers))

    def redeem(customer_id: int) -> int:
        barrier.wait(10)
        return client.post(f"/customers/{customer_id}/coupons", json={"code": "THREE"}).status_code

    with ThreadPoolExecutor(len(customers)) as pool:
        codes = sorted(pool.map(redeem, customers))
    assert codes == [201] * 3 + [409] * 9
    assert client.get("/coupons/1").json()["times_redeemed"] == 3
    applied = [cid for cid in customers if client.get(f"/customers/{cid}/coupons").json()]
    assert len(applied) == 3
