"""What each dashboard page shows, gathered from the domains' own services and repositories, as the API answers it
(their response models): a page never computes a figure or a status of its own, so it always agrees with the API.

Reads only; the actions call the domain services directly (:mod:`fubble.ui.actions`), as the API routes do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup
from sqlalchemy.orm import Session

from fubble.api_keys import repository as api_keys
from fubble.api_keys.schemas import ApiKeyOut
from fubble.audit import repository as audit
from fubble.audit.schemas import AuditEntryOut
from fubble.clock import Clock
from fubble.credit_notes import service as credit_notes
from fubble.credit_notes.schemas import CreditNoteOut
from fubble.credits import service as credits
from fubble.credits.schemas import GrantOut
from fubble.customers import repository as customer_rows
from fubble.customers import service as customers
from fubble.customers.schemas import CustomerOut
from fubble.errors import NotFound
from fubble.invoices import service as invoices
from fubble.invoices.schemas import InvoiceOut
from fubble.invoices.status import InvoiceStatus
from fubble.payments import service as payments
from fubble.payments.schemas import PaymentAttemptOut
from fubble.plans import repository as plan_rows
from fubble.plans import service as plans
from fubble.plans.schemas import PlanOut, PlanVersionOut, PriceComponentOut
from fubble.subscriptions import repository as subscription_rows
from fubble.subscriptions import service as subscriptions
from fubble.subscriptions.schemas import SubscriptionOut
from fubble.test_clocks.now import customer_now
from fubble.ui import charts
from fubble.usage import service as usage
from fubble.usage.buckets import DAY, HOUR, Granularity, floor_day, floor_hour
from fubble.webhooks import repository as webhook_rows
from fubble.webhooks import service as webhooks
from fubble.webhooks.schemas import DeliveryOut, EndpointOut

# How far back a customer's usage charts reach, per granularity: two days of hours, thirty days.
USAGE_WINDOWS = {Granularity.hour: 48 * HOUR, Granularity.day: 30 * DAY}
DETAIL_ROWS = 100  # subscriptions, invoices and grants shown on a customer's page


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


@dataclass(frozen=True)
class UsageChart:
    metric_name: str
    title: str
    aggregation: str
    total: str
    svg: Markup


@dataclass(frozen=True)
class CustomerView:
    customer: CustomerOut
    now: datetime
    subscriptions: list[SubscriptionOut]
    invoices: list[InvoiceOut]
    balance: str
    grants: list[GrantOut]
    granularity: Granularity
    window: tuple[datetime, datetime]
    charts: list[UsageChart]


@dataclass(frozen=True)
class PlanView:
    plan: PlanOut
    versions: list[PlanVersionOut]


@dataclass(frozen=True)
class SubscriptionView:
    subscription: SubscriptionOut
    customer: CustomerOut
    plan: PlanOut
    timezone: str


@dataclass(frozen=True)
class InvoiceView:
    invoice: InvoiceOut
    customer: CustomerOut
    credit_notes: list[CreditNoteOut]
    payment_attempts: list[PaymentAttemptOut]


@dataclass(frozen=True)
class WebhookView:
    endpoint: EndpointOut
    deliveries: list[DeliveryOut]


def customer_list(session: Session, page: Page) -> list[CustomerOut]:
    return CustomerOut.page(session, customer_rows.list_page(session, limit=page.limit, offset=page.offset))


def usage_window(now: datetime, granularity: Granularity) -> tuple[datetime, datetime]:
    """The charts' window: whole buckets up to and including the one holding ``now``."""
    end = floor_hour(now) + HOUR if granularity is Granularity.hour else floor_day(now) + DAY
    return end - USAGE_WINDOWS[granularity], end


def customer_detail(session: Session, clock: Clock, customer_id: int, granularity: Granularity) -> CustomerView:
    row = customers.get(session, customer_id)
    now = customer_now(session, row, clock)
    found = subscriptions.list_for_customer(
        session, customer_id, active_only=False, clock=clock, limit=DETAIL_ROWS, offset=0
    )
    listed = invoices.list_invoices(session, status=None, customer_id=customer_id, limit=DETAIL_ROWS, offset=0)
    balance = credits.balance(session, customer_id, clock=clock)
    grants, _now = credits.list_grants(session, customer_id, clock=clock, limit=DETAIL_ROWS, offset=0)
    start, end = usage_window(now, granularity)
    series = usage.series(session, customer_id, start=start, end=end, granularity=granularity, metric_name=None)
    return CustomerView(
        customer=CustomerOut.of(row),
        now=now,
        subscriptions=[SubscriptionOut.of(s, now=now, timezone=row.timezone) for s in found],
        invoices=[invoices.invoice_out(i) for i in listed],
        balance=f"{balance.balance:f} {balance.currency}",
        grants=[GrantOut.of(g, now=now) for g in grants],
        granularity=granularity,
        window=(start, end),
        charts=[
            UsageChart(
                metric_name=m.metric_name,
                title=m.display_name or m.metric_name,
                aggregation=m.aggregation,
                total=f"{m.total:f}" + (f" {m.unit}" if m.unit else ""),
                svg=charts.svg(
                    [charts.Point(p.start, p.value) for p in m.points],
                    title=f"{m.display_name or m.metric_name} per {granularity.value}",
                    unit=m.unit or "",
                ),
            )
            for m in series.metrics
        ],
    )


def plan_list(session: Session, page: Page) -> list[PlanOut]:
    rows = plan_rows.list_page(session, active_only=False, limit=page.limit, offset=page.offset)
    return [PlanOut.of(p) for p in rows]


def plan_detail(session: Session, plan_id: int) -> PlanView:
    plan = plans.get(session, plan_id)
    return PlanView(
        plan=PlanOut.of(plan),
        versions=[
            PlanVersionOut(
                version=version,
                created_at=began,
                price_components=[PriceComponentOut.of(c, plan.currency) for c in components],
            )
            for version, began, components in plans.versions(session, plan_id)
        ],
    )


def subscription_list(session: Session, clock: Clock, page: Page) -> list[SubscriptionOut]:
    """Every customer's subscriptions, each as its customer sees it (at its now)."""
    out = []
    nows: dict[int, tuple[datetime, str]] = {}
    for row in subscription_rows.list_page(session, limit=page.limit, offset=page.offset):
        if row.customer_id not in nows:
            customer = customers.get(session, row.customer_id)
            nows[row.customer_id] = (customer_now(session, customer, clock), customer.timezone)
        now, timezone = nows[row.customer_id]
        out.append(SubscriptionOut.of(row, now=now, timezone=timezone))
    return out


def subscription_owner(session: Session, subscription_id: int) -> int:
    """The id of the subscription's customer (404 for an unknown subscription): the API addresses a subscription
    under its customer, the dashboard by its id alone."""
    row = subscription_rows.get(session, subscription_id)
    if row is None:
        raise NotFound(f"subscription {subscription_id} not found")
    return row.customer_id


def subscription_detail(session: Session, clock: Clock, subscription_id: int) -> SubscriptionView:
    customer_id = subscription_owner(session, subscription_id)
    row = subscriptions.get(session, customer_id, subscription_id)
    customer = customers.get(session, customer_id)
    now = customer_now(session, customer, clock)
    return SubscriptionView(
        subscription=SubscriptionOut.of(row, now=now, timezone=customer.timezone),
        customer=CustomerOut.of(customer),
        plan=PlanOut.of(plans.get(session, row.plan_id)),
        timezone=customer.timezone,
    )


def invoice_list(
    session: Session, page: Page, *, status: InvoiceStatus | None, customer_id: int | None
) -> list[InvoiceOut]:
    found = invoices.list_invoices(
        session, status=status, customer_id=customer_id, limit=page.limit, offset=page.offset
    )
    return [invoices.invoice_out(i) for i in found]


def invoice_detail(session: Session, invoice_id: int) -> InvoiceView:
    invoice = invoices.get(session, invoice_id)
    notes = credit_notes.list_for_invoice(session, invoice_id, limit=DETAIL_ROWS, offset=0)
    return InvoiceView(
        invoice=invoices.invoice_out(invoice),
        customer=CustomerOut.of(customers.get(session, invoice.customer_id)),
        credit_notes=[CreditNoteOut.of(n.note, n.items, n.refund) for n in notes],
        payment_attempts=[PaymentAttemptOut.of(row) for row in payments.attempts(session, invoice_id)],
    )


def api_key_list(session: Session, page: Page) -> list[ApiKeyOut]:
    return [ApiKeyOut.of(row) for row in api_keys.list_page(session, limit=page.limit, offset=page.offset)]


def webhook_list(session: Session, page: Page) -> list[EndpointOut]:
    return [EndpointOut.of(row) for row in webhook_rows.list_endpoints(session, limit=page.limit, offset=page.offset)]


def webhook_detail(session: Session, endpoint_id: int, page: Page) -> WebhookView:
    return WebhookView(
        endpoint=EndpointOut.of(webhooks.get(session, endpoint_id)),
        deliveries=webhooks.deliveries(session, endpoint_id, limit=page.limit, offset=page.offset),
    )


def audit_list(session: Session, page: Page, *, entity_type: str | None, entity_id: str | None) -> list[AuditEntryOut]:
    rows = audit.list_page(session, entity_type=entity_type, entity_id=entity_id, limit=page.limit, offset=page.offset)
    return [AuditEntryOut.of(row) for row in rows]
