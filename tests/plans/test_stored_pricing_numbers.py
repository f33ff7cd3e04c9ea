"""The canonical text of ``pricing_details`` numbers, as the HTTP response shows it and the database row holds it.

Whatever way a number was written (``1E+1``, ``10.00``, ``-0``, ``1e-12``), the response and the stored JSON text
show the one canonical value: exact, no positive exponent, no trailing zeros, no negative zero (SQLite and
PostgreSQL). The response writes it in plain digits. The stored JSON text is ``str()`` of that canonical ``Decimal``:
the same plain digits, except below 1e-6, where Python writes the very same Decimal as ``1E-12`` (it reads back as
the identical Decimal: one digit, exponent -12).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from fubble.db.session import Database
from tests.pricing.test_stored_numbers import WRITTEN

D = Decimal
STORED_AS = {"0.000000000001": "1E-12", "0.00000000000000000001": "1E-20"}  # the rest: the canonical digits


def _raw_plan(details_json: str) -> str:
    return (
        '{"name":"Canonical","billing_frequency":"monthly","price_components":[{"metric_name":"m",'
        '"pricing_type":"dynamic","pricing_details":' + details_json + "}]}"
    )


def _stored_text(db: Database) -> str:
    with db.engine.connect() as conn:
        texts = conn.execute(text("SELECT pricing_details FROM price_components")).scalars().all()
    assert len(texts) == 1
    return str(texts[0])


def test_http_and_storage_keep_the_canonical_text(client: TestClient, db: Database) -> None:
    names = [f"v{i}" for i in range(len(WRITTEN))]
    details = ",".join(f'"{name}":{written}' for name, (written, _) in zip(names, WRITTEN, strict=True))
    body = _raw_plan('{"formula":"' + " + ".join(names) + '",' + details + "}")
    response = client.post("/plans/", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 201, response.text
    shown = response.text
    stored = _stored_text(db)
    for name, (_, canonical) in zip(names, WRITTEN, strict=True):
        assert f'"{name}":{canonical},' in shown or f'"{name}":{canonical}}}' in shown, (name, canonical, shown)
        as_stored = STORED_AS.get(canonical, canonical)
        assert f'"{name}":{as_stored},' in stored or f'"{name}":{as_stored}}}' in stored, (name, as_stored, stored)
    exact: dict[str, Any] = json.loads(stored, parse_float=D)
    for name, (_, canonical) in zip(names, WRITTEN, strict=True):  # the identical Decimal, not only an equal one
        assert D(exact[name]).as_tuple() == D(canonical).as_tuple(), name
    # Reading the plan back (from the stored text) shows the same digits.
    read = client.get(f"/plans/{json.loads(shown)['id']}").text
    for name, (_, canonical) in zip(names, WRITTEN, strict=True):
        assert f'"{name}":{canonical},' in read or f'"{name}":{canonical}}}' in read, (name, canonical, read)


def test_http_and_storage_of_tier_numbers(client: TestClient, db: Database) -> None:
    tiers = (
        '{"tiers":[{"start":0,"end":1E+1,"price":0.10},{"start":"10.00","end":1e2,"price":1e-12},'
        '{"start":100,"price":"7"}]}'
    )
    body = _raw_plan(tiers).replace('"dynamic"', '"tiered"')
    response = client.post("/plans/", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 201, response.text
    expected = (
        '{"tiers":[{"end":10,"price":0.1,"start":0},{"end":100,"price":0.000000000001,"start":10},'
        '{"end":null,"price":7,"start":100}]}'
    )
    assert _stored_text(db) == expected.replace("0.000000000001", "1E-12")
    shown = (
        '"pricing_details":{"tiers":[{"start":0,"end":10,"price":0.1},{"start":10,"end":100,"price":0.000000000001},'
        '{"start":100,"end":null,"price":7}]}'
    )
    assert shown in response.text
