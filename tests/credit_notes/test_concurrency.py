"""Credit notes made at once never credit more than the invoice's total: its row (and its customer's) is locked before
what remains creditable is read."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock
from fubble.credit_notes import service
from fubble.credit_notes.schemas import CreditNoteCreate
from fubble.db.session import Database
from fubble.errors import Conflict
from tests.credits.helpers import balance

from .helpers import exact, invoice, new_customer, post_note


def test_concurrent_requests_never_credit_more_than_the_total(client: TestClient) -> None:
    customer_id = new_customer(client)
    paid = invoice(client, customer_id, ["100.00"])
    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(
            pool.map(
                lambda _: post_note(client, paid["id"], amount="30.00", method="credit").status_code,
                range(8),
            )
        )
    assert sorted(codes) == [201] * 3 + [409] * 5, codes
    notes = exact(client.get(f"/invoices/{paid['id']}/credit-notes"))
    assert sum(n["amount"] for n in notes) == Decimal("90.00")
    assert sorted(n["number"][-6:] for n in notes) == ["000001", "000002", "000003"]
    assert balance(client, customer_id)["balance"] == Decimal("90.00")


def test_two_sessions_at_once_the_second_sees_the_first(client: TestClient, db: Database, clock: FrozenClock) -> None:
    """Each thread has its own session; both start together, and each holds its transaction open a moment after
    making its note: the second waits on the locks, then finds 40.00 left of the 100.00 and is refused."""
    paid = invoice(client, new_customer(client), ["100.00"])
    request = CreditNoteCreate.model_validate({"amount": "60.00", "reason": "Outage", "method": "refund"})
    start = threading.Barrier(2)
    outcome: dict[str, str] = {}

    def make(name: str) -> None:
        session = db.session(write=True)
        try:
            start.wait()
            service.create(session, paid["id"], request, clock=clock)
            time.sleep(0.3)
            session.commit()
            outcome[name] = "made"
        except Conflict as exc:
            session.rollback()
            outcome[name] = str(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=make, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    values = list(outcome.values())
    assert len(values) == 2 and values.count("made") == 1, outcome
    refused = next(value for value in values if value != "made")
    assert "60.00 is more than remains creditable of the invoice (40.00 after earlier credit notes)" in refused
    assert len(client.get(f"/invoices/{paid['id']}/credit-notes").json()) == 1
