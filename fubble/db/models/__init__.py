"""Every table of fubble; importing this module registers them all on ``Base.metadata``."""

from fubble.db.models.api_key import ApiKey
from fubble.db.models.audit import AuditEntry
from fubble.db.models.billing_run import BillingRun, JobLease
from fubble.db.models.customer import Customer
from fubble.db.models.event import Event
from fubble.db.models.idempotency import IdempotencyRecord
from fubble.db.models.invoice import BillingCoverage, Invoice, InvoiceItem
from fubble.db.models.late_usage import LateUsage, LateUsageScan
from fubble.db.models.metric import Metric
from fubble.db.models.payments import PaymentAttempt, PaymentCustomer, PaymentRefund, StripeEvent
from fubble.db.models.plan import Plan, PriceComponent
from fubble.db.models.plan_version import PlanVersion
from fubble.db.models.pricing_factor import PricingFactor
from fubble.db.models.rollup import UsageDistinct, UsageRollup
from fubble.db.models.subscription import Subscription
from fubble.db.models.terms import (
    Coupon,
    CouponPeriod,
    CouponRedemption,
    CreditGrant,
    CreditLedgerEntry,
    CreditNote,
    CreditNoteItem,
    CustomerTaxRate,
    InvoiceDiscount,
    InvoiceTax,
    TaxRate,
)
from fubble.db.models.test_clock import TestClock
from fubble.db.models.webhooks import (
    SubscriptionEndNotice,
    UsageAlert,
    UsageAlertFiring,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
)

__all__ = [
    "ApiKey",
    "AuditEntry",
    "BillingCoverage",
    "BillingRun",
    "Coupon",
    "CouponPeriod",
    "CouponRedemption",
    "CreditGrant",
    "CreditLedgerEntry",
    "CreditNote",
    "CreditNoteItem",
    "Customer",
    "CustomerTaxRate",
    "Event",
    "IdempotencyRecord",
    "Invoice",
    "InvoiceDiscount",
    "InvoiceItem",
    "InvoiceTax",
    "JobLease",
    "LateUsage",
    "LateUsageScan",
    "Metric",
    "PaymentAttempt",
    "PaymentCustomer",
    "PaymentRefund",
    "Plan",
    "PlanVersion",
    "PriceComponent",
    "PricingFactor",
    "StripeEvent",
    "Subscription",
    "SubscriptionEndNotice",
    "TaxRate",
    "TestClock",
    "UsageAlert",
    "UsageAlertFiring",
    "UsageDistinct",
    "UsageRollup",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookMessage",
]
