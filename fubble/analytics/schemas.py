"""Response bodies (and query enums) of the analytics routes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field

from fubble.invoices.status import InvoiceStatus


class RevenueGroupBy(StrEnum):
    month = "month"
    plan = "plan"
    customer = "customer"


class RevenuePeriod(StrEnum):
    """Which time an amount counts at: the invoice's issue date, or the time its lines bill (service)."""

    issue = "issue"
    service = "service"


class UsageGranularity(StrEnum):
    day = "day"
    month = "month"


MANUAL_PLAN = "manual"


class RevenueTotalOut(BaseModel):
    currency: str
    amount: Decimal = Field(description="Sum of the amounts of the counted invoices in this currency (exact).")
    invoice_count: int


class RevenueGroupOut(BaseModel):
    """One group; only the fields of the chosen grouping are set (the others are null)."""

    month: str | None = Field(
        None, description="group_by=month: the UTC calendar month, 'YYYY-MM', of issue (period=issue) or service."
    )
    plan_id: int | None = Field(None, description="group_by=plan: the plan (null for lines without a subscription).")
    plan_name: str | None = Field(None, description=f"group_by=plan: its name, or '{MANUAL_PLAN}' for manual lines.")
    customer_id: int | None = Field(None, description="group_by=customer: the customer.")
    customer_name: str | None = Field(None, description="group_by=customer: its name.")
    currency: str
    amount: Decimal
    invoice_count: int = Field(description="How many of the counted invoices contribute to the group.")


class RevenueOut(BaseModel):
    group_by: RevenueGroupBy
    period: RevenuePeriod = Field(
        description="Which time the amounts count at (and the window bounds): issue or service."
    )
    start_date: datetime | None
    end_date: datetime | None
    statuses: list[InvoiceStatus] = Field(description="The invoice statuses counted.")
    currency: str | None = Field(description="The currency filter, if any.")
    totals: list[RevenueTotalOut] = Field(description="Per currency, over all groups (not paginated).")
    total_groups: int = Field(description="How many groups there are in all (the page shows limit of them).")
    groups: list[RevenueGroupOut]


class UsagePointOut(BaseModel):
    start: datetime
    end: datetime
    usage: Decimal


class TopCustomerOut(BaseModel):
    customer_id: int
    customer_name: str
    usage: Decimal = Field(description="The customer's usage over the whole window.")


class UsageAnalyticsOut(BaseModel):
    metric_name: str
    aggregation: str
    granularity: UsageGranularity
    start_date: datetime = Field(description="The window's start, rounded down to the hour.")
    end_date: datetime = Field(description="The window's end, rounded up to the hour.")
    series: list[UsagePointOut]
    top_customers: list[TopCustomerOut]
