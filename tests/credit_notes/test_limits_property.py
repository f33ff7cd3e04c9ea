"""Property: whatever sequence of notes is asked for, a note is issued exactly when it fits what remains creditable
(of the invoice, and of the item it names), so the notes never credit more than the invoice's total."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .helpers import exact, invoice, new_customer, post_note

ITEMS = (Decimal("60.00"), Decimal("40.00"))
TOTAL = sum(ITEMS)
cents = st.integers(min_value=1, max_value=7000).map(lambda n: Decimal(n).scaleb(-2))
asks = st.lists(st.tuples(st.sampled_from([None, 0, 1]), cents), min_size=1, max_size=6)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(asks=asks)
def test_notes_are_issued_exactly_while_they_fit(client: TestClient, asks: list[tuple[int | None, Decimal]]) -> None:
    paid = invoice(client, new_customer(client), [str(a) for a in ITEMS])
    item_ids = [item["id"] for item in paid["invoice_items"]]
    left = TOTAL
    item_left = list(ITEMS)
    for which, amount in asks:
        if which is None:
            response = post_note(client, paid["id"], amount=str(amount))
            fits, possible = amount <= left, amount <= TOTAL
        else:
            response = post_note(
                client, paid["id"], items=[{"invoice_item_id": item_ids[which], "amount": str(amount)}]
            )
            fits = amount <= min(left, item_left[which])
            possible = amount <= ITEMS[which]
        expected = 201 if fits else (409 if possible else 422)
        assert response.status_code == expected, (which, amount, left, item_left, response.text)
        if fits:
            left -= amount
            if which is not None:
                item_left[which] -= amount
    notes = exact(client.get(f"/invoices/{paid['id']}/credit-notes"))
    assert sum((Decimal(n["amount"]) for n in notes), Decimal(0)) == TOTAL - left <= TOTAL
