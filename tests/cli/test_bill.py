"""``fubble bill --start --end`` as a real process: a row per invoice (customer, number, period, amount, new or
already existing), a total per currency, and errors as sentences."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable

from fastapi.testclient import TestClient

from fubble.api.app import create_app
from fubble.config import Settings
from tests.cli.conftest import KEY_PATTERN, columns

Run = Callable[..., subprocess.CompletedProcess[str]]
WINDOW = ("--start", "2023-09-01", "--end", "2023-10-01")
HEADER = ["customer", "invoice", "period", "amount", "currency", "status"]


def set_up(db_url: str, fubble: Run) -> None:
    """Customers 1 (Acme, USD) and 2 (Bosch, EUR), each subscribed from 2023-09-01 to a plan of a 29.99 monthly fee."""
    assert fubble("db", "upgrade").returncode == 0
    key = re.search(KEY_PATTERN, fubble("keys", "create", "setup", "--scope", "admin").stdout)
    assert key is not None
    plan = {
        "name": "Base",
        "billing_frequency": "monthly",
        "price_components": [
            {"metric_name": "subscription_fee", "pricing_type": "subscription", "pricing_details": {"amount": "29.99"}}
        ],
    }
    headers = {"Authorization": f"Bearer {key.group(0)}"}
    with TestClient(create_app(Settings(database_url=db_url)), headers=headers) as client:
        plan_id = client.post("/plans/", json=plan).json()["id"]
        for name, currency in (("Acme", "USD"), ("Bosch", "EUR")):
            customer = {"name": name, "email": f"{name.lower()}@example.com", "currency": currency}
            customer_id = client.post("/customers/", json=customer).json()["id"]
            subscription = {"plan_id": plan_id, "start_date": "2023-09-01T00:00:00"}
            response = client.post(f"/customers/{customer_id}/subscriptions", json=subscription)
            assert response.status_code in (200, 201), response.text


def table_and_totals(out: str) -> tuple[list[list[str]], list[str]]:
    lines = out.splitlines()
    first_total = next(n for n, line in enumerate(lines) if line.startswith("total "))
    return columns("\n".join(lines[:first_total]), right=("amount",)), lines[first_total:]


def test_bill_prints_a_row_per_invoice_and_a_total_per_currency(db_url: str, fubble: Run) -> None:
    set_up(db_url, fubble)
    first = fubble("bill", *WINDOW)
    assert first.returncode == 0, first.stderr
    table, totals = table_and_totals(first.stdout)
    assert table[0] == HEADER
    acme, bosch = table[1:]
    assert acme[0] == "1 Acme" and bosch[0] == "2 Bosch"
    assert re.fullmatch(r"INV-\S+", acme[1]) and re.fullmatch(r"INV-\S+", bosch[1]) and acme[1] != bosch[1]
    assert acme[2:] == ["2023-09-01 to 2023-10-01", "29.99", "USD", "new draft"]
    assert bosch[2:] == ["2023-09-01 to 2023-10-01", "29.99", "EUR", "new draft"]
    # never one sum of different currencies
    assert totals == [
        "total 29.99 EUR over 1 invoice (1 new, 0 already existing)",
        "total 29.99 USD over 1 invoice (1 new, 0 already existing)",
    ]

    again = fubble("bill", *WINDOW)
    assert again.returncode == 0, again.stderr
    table, totals = table_and_totals(again.stdout)
    assert [row[1] for row in table[1:]] == [acme[1], bosch[1]]  # the same invoices: nothing new was made
    assert [row[5] for row in table[1:]] == ["already existing, draft"] * 2
    assert totals[1] == "total 29.99 USD over 1 invoice (0 new, 1 already existing)"

    only = fubble("bill", *WINDOW, "--customer-id", "1")
    assert only.returncode == 0, only.stderr
    assert [row[0] for row in table_and_totals(only.stdout)[0][1:]] == ["1 Acme"]


def test_nothing_to_bill_says_so(db_url: str, fubble: Run) -> None:
    assert fubble("db", "upgrade").returncode == 0
    done = fubble("bill", *WINDOW)
    assert (done.returncode, done.stdout) == (0, "no invoices: no subscription is active in this window\n")


def test_errors_are_sentences(db_url: str, fubble: Run) -> None:
    assert fubble("db", "upgrade").returncode == 0
    backwards = fubble("bill", "--start", "2024-06-01", "--end", "2024-05-01")
    assert backwards.returncode == 1
    assert backwards.stderr == "error: --end must be after --start (the window is [--start, --end))\n"
    assert backwards.stdout == ""

    missing = fubble("bill", *WINDOW, "--customer-id", "99")
    assert (missing.returncode, missing.stderr) == (1, "error: customer 99 not found\n")

    not_a_date = fubble("bill", "--start", "June", "--end", "2024-05-01")
    assert not_a_date.returncode == 2  # a usage error
    assert "--start" in not_a_date.stderr
