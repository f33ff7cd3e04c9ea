"""fubble.taxes.repository.rates_for: the rates each customer's invoices are taxed at, for many customers at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from fubble.db.session import Database
from fubble.taxes.repository import rates_for


def _rate(client: TestClient, name: str, rate: object, *, default: bool = False) -> int:
    response = client.post("/tax-rates/", json={"name": name, "rate": rate, "applies_by_default": default})
    assert response.status_code == 201, response.text
    rate_id: int = response.json()["id"]
    return rate_id


def _customer(client: TestClient, n: int, **fields: Any) -> int:
    response = client.post("/customers/", json={"name": f"c{n}", "email": f"c{n}@example.com", **fields})
    assert response.status_code == 201, response.text
    customer_id: int = response.json()["id"]
    return customer_id


@contextmanager
def counted_statements(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _ids(db: Database, customer_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    with db.transaction() as session:
        found = rates_for(session, customer_ids)
        return {cid: [(rate.id, str(rate.rate)) for rate in rates] for cid, rates in found.items()}


def test_chosen_rates_else_default_rates_and_none_when_exempt(client: TestClient, db: Database) -> None:
    vat = _rate(client, "VAT", 20)
    state = _rate(client, "state", "7.25", default=True)
    city = _rate(client, "city", "0.5", default=True)
    chosen = _customer(client, 1, tax_rate_ids=[vat, city])
    default = _customer(client, 2)
    exempt = _customer(client, 3, tax_exempt=True, tax_rate_ids=[vat])
    exempt_default = _customer(client, 4, tax_exempt=True)
    assert _ids(db, [chosen, default, exempt, exempt_default, 999]) == {
        chosen: [(vat, "20"), (city, "0.5")],
        default: [(state, "7.25"), (city, "0.5")],
        exempt: [],
        exempt_default: [],
    }
    assert client.put(f"/customers/{exempt}", json={"tax_exempt": False}).status_code == 200
    assert client.put(f"/customers/{chosen}", json={"tax_rate_ids": []}).status_code == 200
    assert _ids(db, [exempt, chosen]) == {exempt: [(vat, "20")], chosen: [(state, "7.25"), (city, "0.5")]}
    assert _ids(db, []) == {}


def test_no_default_rate_means_no_tax(client: TestClient, db: Database) -> None:
    vat = _rate(client, "VAT", 20)
    plain, taxed = _customer(client, 1), _customer(client, 2, tax_rate_ids=[vat])
    assert _ids(db, [plain, taxed, plain]) == {plain: [], taxed: [(vat, "20")]}


def test_many_customers_take_one_query(client: TestClient, db: Database) -> None:
    vat = _rate(client, "VAT", 20)
    default = _rate(client, "default", 10, default=True)
    customers = [_customer(client, n, **({"tax_rate_ids": [vat]} if n % 2 else {})) for n in range(30)]
    with db.transaction() as session, counted_statements(db) as statements:
        found = rates_for(session, customers)
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1, selects
    assert {cid: [rate.id for rate in rates] for cid, rates in found.items()} == {
        cid: [vat] if n % 2 else [default] for n, cid in enumerate(customers)
    }
