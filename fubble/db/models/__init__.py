"""Every table of fubble; importing this module registers them all on ``Base.metadata``."""

from fubble.db.models.api_key import ApiKey
from fubble.db.models.audit import AuditEntry
from fubble.db.models.customer import Customer
from fubble.db.models.event import Event
from fubble.db.models.idempotency import IdempotencyRecord
from fubble.db.models.invoice import BillingCoverage, Invoice, InvoiceItem
from fubble.db.models.metric import Metric
from fubble.db.models.plan import Plan, PriceComponent
from fubble.db.models.pricing_factor import PricingFactor
from fubble.db.models.rollup import UsageDistinct, UsageRollup
from fubble.db.models.subscription import Subscription

__all__ = [
    "ApiKey",
    "AuditEntry",
    "BillingCoverage",
    "Customer",
    "Event",
    "IdempotencyRecord",
    "Invoice",
    "InvoiceItem",
    "Metric",
    "Plan",
    "PriceComponent",
    "PricingFactor",
    "Subscription",
    "UsageDistinct",
    "UsageRollup",
]
