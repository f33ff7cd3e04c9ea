"""Every table of fubble; importing this module registers them all on ``Base.metadata``."""

from fubble.db.models.customer import Customer
from fubble.db.models.event import Event
from fubble.db.models.invoice import BillingCoverage, Invoice, InvoiceItem
from fubble.db.models.plan import Plan, PriceComponent
from fubble.db.models.pricing_factor import PricingFactor
from fubble.db.models.subscription import Subscription

__all__ = [
    "BillingCoverage",
    "Customer",
    "Event",
    "Invoice",
    "InvoiceItem",
    "Plan",
    "PriceComponent",
    "PricingFactor",
    "Subscription",
]
