"""Set-up and reading shared by the billing-run scenarios: everything goes through the public HTTP API."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from fubble.clock import FrozenClock

Json = dict[str, Any]


def utc(text: str) -> datetime:
    """``"2024-03-01T00:00:00Z"`` (or a date ``"2024-03-01"``) as an aware UTC instant."""
    if "T" not in text:
        text += "T00:00:00Z"
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def iso(moment: datetime) -> str:
    """An instant as the API answers it (``2024-03-01T00:00:00Z``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def same_instant(answer: str | None, expected: str) -> bool:
    return answer is not None and utc(answer) == utc(expected)


# Price components -----------------------------------------------------------------------------------------------


def fee(metric: str, amount: str) -> Json:
    """A ``subscription`` fee: prorated by the share of the period billed."""
    return {"metric_name": metric, "pricing_type": "subscription", "pricing_details": {"amount": amount}}


def flat(metric: str, amount: str) -> Json:
    """A ``flat`` fee: whole, once per period."""
    return {"metric_name": metric, "pricing_type": "flat", "pricing_details": {"amount": amount}}


def base_and_usage(metric: str, base_fee: str, usage_price: str) -> Json:
    return {
        "metric_name": metric,
        "pricing_type": "usage_based_subscription",
        "pricing_details": {"base_fee": base_fee, "usage_price": usage_price},
    }


def tiered(metric: str, *tiers: tuple[int, int | None, str]) -> Json:
    return {
        "metric_name": metric,
        "pricing_type": "tiered",
        "pricing_details": {"tiers": [{"start": s, "end": e, "price": p} for s, e, p in tiers]},
    }


def package(metric: str, size: int, price: str) -> Json:
    return {
        "metric_name": metric,
        "pricing_type": "package",
        "pricing_details": {"package_size": size, "package_price": price},
    }


# Resources ------------------------------------------------------------------------------------------------------


def customer(client: TestClient, name: str = "Acme", **fields: Any) -> int:
    body = {"name": name, "email": f"{name.lower().replace(' ', '.')}@example.com", **fields}
    response = client.post("/customers/", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def plan(client: TestClient, *components: Json, frequency: str = "monthly", name: str = "Plan", **fields: Any) -> int:
    body = {"name": name, "billing_frequency": frequency, "price_components": list(components), **fields}
    response = client.post("/plans/", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def subscribe(client: TestClient, customer_id: int, plan_id: int, start: str, **body: Any) -> Json:
    response = client.post(
        f"/customers/{customer_id}/subscriptions", json={"plan_id": plan_id, "start_date": start, **body}
    )
    assert response.status_code == 200, response.text
    result: Json = response.json()
    return result


def change(client: TestClient, customer_id: int, subscription_id: int, **body: Any) -> Json:
    response = client.post(f"/customers/{customer_id}/subscriptions/{subscription_id}/change", json=body)
    assert response.status_code == 200, response.text
    result: Json = response.json()
    return result


def cancel(client: TestClient, customer_id: int, subscription_id: int, **body: Any) -> Json:
    response = client.put(f"/customers/{customer_id}/subscriptions/{subscription_id}/cancel", json=body)
    assert response.status_code == 200, response.text
    result: Json = response.json()
    return result


def event(client: TestClient, customer_id: int, metric: str, quantity: int | str, at: str) -> None:
    response = client.post(
        "/events/", json={"customer_id": customer_id, "metric_name": metric, "quantity": quantity, "event_time": at}
    )
    assert response.status_code in (200, 201), response.text


# Runs and invoices ----------------------------------------------------------------------------------------------


def run(client: TestClient, clock: FrozenClock, as_of: str) -> Json:
    """A billing run as of ``as_of``; the clock moves there first when it is behind (a run may not bill the future)."""
    moment = utc(as_of)
    if clock.now() < moment:
        clock.set(moment)
    response = client.post("/billing/runs", json={"as_of": as_of})
    assert response.status_code == 200, response.text
    result: Json = response.json()
    return result


def decimal_json(text: str) -> Any:
    """A JSON answer with its numbers read exactly (``97.58`` as ``Decimal("97.58")``, never a float)."""
    return json.loads(text, parse_float=Decimal)


def invoice(client: TestClient, invoice_id: int) -> Json:
    response = client.get(f"/invoices/{invoice_id}")
    assert response.status_code == 200, response.text
    result: Json = decimal_json(response.text)
    return result


def invoices_of(client: TestClient, result: Json) -> list[Json]:
    """A run's new invoices, ordered by period end (then customer, then id)."""
    found = [invoice(client, i) for i in result["invoice_ids"]]
    return sorted(found, key=lambda inv: (utc(inv["period_end"]), inv["customer_id"], inv["id"]))


def customer_invoices(client: TestClient, customer_id: int) -> list[Json]:
    """Every invoice of the customer (any status), ordered by period end, then id."""
    response = client.get(f"/invoices/customer/{customer_id}")
    assert response.status_code == 200, response.text
    found: list[Json] = decimal_json(response.text)
    return sorted(found, key=lambda inv: (utc(inv["period_end"]), inv["id"]))


def period(inv: Json) -> tuple[datetime, datetime]:
    return utc(inv["period_start"]), utc(inv["period_end"])


def amount(inv: Json) -> Decimal:
    return Decimal(inv["amount"])


def lines(inv: Json) -> list[tuple[str | None, str, Decimal]]:
    """(metric, kind, amount) of each line, ordered by line period start, then metric and kind."""
    items = sorted(
        inv["invoice_items"], key=lambda i: (utc(i["period_start"]), i["metric_name"] or "", i["kind"] or "")
    )
    return [(i["metric_name"], i["kind"], Decimal(i["amount"])) for i in items]


def line_periods(inv: Json, metric: str) -> list[tuple[datetime, datetime]]:
    """The periods of the lines of ``metric``, in order."""
    found = [(utc(i["period_start"]), utc(i["period_end"])) for i in inv["invoice_items"] if i["metric_name"] == metric]
    return sorted(found)
