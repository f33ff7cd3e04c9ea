"""The same small billing scenario through any of the sync namespaces (``Client`` or ``Engine``) and through the
``AsyncClient``: a metric, a plan, a customer, a subscription, January's usage in batches, January invoiced by
``invoices.generate`` (42.49), February by ``billing.run`` (30.99)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fubble.client import AsyncClient
from fubble.client.client import SyncNamespaces
from fubble.invoices.schemas import InvoiceOut

JAN = datetime(2024, 1, 1, tzinfo=UTC)
FEB = datetime(2024, 2, 1, tzinfo=UTC)
MAR = datetime(2024, 3, 1, tzinfo=UTC)


def tiers(metric: str) -> list[dict[str, Any]]:
    """1,000 calls at 0.01, then 0.005; a 29.99 monthly fee."""
    return [
        {
            "metric_name": metric,
            "display_name": "API calls",
            "pricing_type": "tiered",
            "pricing_details": {
                "tiers": [
                    {"start": 0, "end": 1000, "price": Decimal("0.01")},
                    {"start": 1000, "end": None, "price": Decimal("0.005")},
                ]
            },
        },
        {
            "metric_name": f"fee_{metric}",
            "display_name": "Platform fee",
            "pricing_type": "subscription",
            "pricing_details": {"amount": Decimal("29.99")},
        },
    ]


def usage(customer_id: int, metric: str) -> list[dict[str, Any]]:
    """1,500 calls in January (12.50), 100 in February (1.00)."""
    return [
        {"event_id": f"{metric}-1", "customer_id": customer_id, "metric_name": metric, "quantity": 1200,
         "event_time": datetime(2024, 1, 10, 9, tzinfo=UTC), "properties": {"endpoint": "/users"}},
        {"event_id": f"{metric}-2", "customer_id": customer_id, "metric_name": metric, "quantity": Decimal("300"),
         "event_time": datetime(2024, 1, 20, 9, tzinfo=UTC)},
        {"event_id": f"{metric}-3", "customer_id": customer_id, "metric_name": metric, "quantity": "100",
         "event_time": datetime(2024, 2, 3, 9, tzinfo=UTC)},
    ]  # fmt: skip


@dataclass
class Outcome:
    customer_id: int
    january: InvoiceOut
    february: InvoiceOut
    accepted: int
    duplicates: int


def run(api: SyncNamespaces, suffix: str, *, bill_as_of: datetime | None = MAR) -> Outcome:
    metric = f"api_calls_{suffix}"
    assert api.metrics.create(name=metric, aggregation="sum", unit="call").name == metric
    plan = api.plans.create(name=f"API Pro {suffix}", billing_frequency="monthly", price_components=tiers(metric))
    customer = api.customers.create(name="Acme", email=f"billing-{suffix}@acme.example", external_id=suffix)
    subscription = api.subscriptions.create(customer.id, plan.id, start_date=JAN)
    assert subscription.plan_id == plan.id
    with api.events.batcher(size=2) as batch:
        batch.extend(usage(customer.id, metric)[:2])
        batch.add(**usage(customer.id, metric)[2])
        batch.add(**usage(customer.id, metric)[0])  # sent again: counted once
    assert len(batch.results) == 2 and batch.pending == []
    assert api.events.usage(customer.id, start_date=JAN, end_date=FEB) == {metric: Decimal(1500)}
    [january] = api.invoices.generate(JAN, FEB, customer_id=customer.id)
    api.invoices.finalize(january.id)
    january = api.invoices.pay(january.id)
    run = api.billing.run(bill_as_of)
    [february] = [i for i in api.invoices.list(customer_id=customer.id) if i.id in run.invoice_ids]
    return Outcome(customer.id, january, february, batch.accepted, batch.duplicates)


async def run_async(api: AsyncClient, suffix: str) -> Outcome:
    metric = f"api_calls_{suffix}"
    assert (await api.metrics.create(name=metric, aggregation="sum")).name == metric
    plan = await api.plans.create(name=f"API Pro {suffix}", billing_frequency="monthly", price_components=tiers(metric))
    customer = await api.customers.create(name="Acme", email=f"billing-{suffix}@acme.example")
    await api.subscriptions.create(customer.id, plan.id, start_date=JAN)
    async with api.events.batcher(size=2) as batch:
        await batch.extend(usage(customer.id, metric)[:2])
        await batch.add(**usage(customer.id, metric)[2])
        await batch.add(**usage(customer.id, metric)[0])
    assert await api.events.usage(customer.id, start_date=JAN, end_date=FEB) == {metric: Decimal(1500)}
    [january] = await api.invoices.generate(JAN, FEB, customer_id=customer.id)
    await api.invoices.finalize(january.id)
    january = await api.invoices.pay(january.id)
    run = await api.billing.run(MAR)
    [february] = [i for i in await api.invoices.list(customer_id=customer.id) if i.id in run.invoice_ids]
    return Outcome(customer.id, january, february, batch.accepted, batch.duplicates)


def check(outcome: Outcome) -> None:
    """The figures, to the cent."""
    assert (outcome.accepted, outcome.duplicates) == (3, 1)
    january, february = outcome.january, outcome.february
    assert (january.status.value, str(january.amount), january.paid_date is not None) == ("paid", "42.49", True)
    lines = sorted(
        (line.description.split(" (")[0], str(line.quantity), str(line.amount)) for line in january.invoice_items
    )
    assert lines == [("API calls", "1500", "12.50"), ("Platform fee", "1", "29.99")], lines
    assert (february.period_start, february.period_end) == (FEB, MAR)
    assert (february.status.value, str(february.amount), str(february.amount_due)) == ("pending", "30.99", "30.99")
    assert isinstance(february.amount, Decimal)
