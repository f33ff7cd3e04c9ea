"""The payment provider interface: what the payment worker and the webhook route need of a provider.

A provider never touches the database; the worker calls it outside any transaction (:mod:`fubble.payments.worker`)
and records its answers afterwards. :class:`fubble.payments.stripe_provider.StripeProvider` is the implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from fubble.config import Settings
from fubble.errors import FubbleError

Outcome = Literal["succeeded", "failed", "processing"]


class BadSignature(FubbleError):
    """A provider webhook whose signature does not verify (HTTP 400): nothing is applied."""

    status_code = 400


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered with an error that is not about the payment itself (network,
    rate limit, 5xx, bad configuration): the attempt is made again later, with the same idempotency key."""


@dataclass(frozen=True)
class CustomerRef:
    """A customer as the provider sees it: ``provider_customer_id`` is ``None`` until created."""

    customer_id: int
    name: str
    email: str
    provider_customer_id: str | None
    attached_payment_method_id: str | None
    payment_method_id: str


@dataclass(frozen=True)
class Charge:
    """One charge of an invoice: ``amount_minor`` in the currency's minor units (4249 for 42.49 USD)."""

    invoice_id: int
    attempt_id: int
    amount_minor: int
    currency: str
    provider_customer_id: str
    payment_method_id: str


@dataclass(frozen=True)
class ChargeResult:
    """The immediate result of a charge: ``succeeded``, ``failed`` (declined; ``error`` says why) or ``processing``
    (decided later, by webhook). ``intent_id``/``intent_status`` are the provider's, when an intent exists."""

    outcome: Outcome
    intent_id: str | None
    intent_status: str | None
    error: str | None = None


@dataclass(frozen=True)
class Refund:
    """One refund of part of a payment: ``amount_minor`` in the payment's currency's minor units."""

    refund_id: int  # ours (the payment_refunds row): the idempotency key
    payment_intent_id: str
    amount_minor: int
    credit_note_number: str


@dataclass(frozen=True)
class RefundResult:
    """The provider's answer to a refund: ``succeeded``, ``processing`` (it finishes later) or ``failed`` (refused;
    ``error`` says why), with the provider's refund id and status when one exists."""

    outcome: Outcome
    provider_refund_id: str | None
    status: str | None
    error: str | None = None


@dataclass(frozen=True)
class PaymentEvent:
    """A verified provider webhook event. ``outcome`` is ``None`` for events that change nothing here;
    ``invoice_id`` comes from the intent's metadata (``None`` when absent). An event about a refund carries the
    provider's ``refund_id`` (and no invoice): its ``outcome`` is the refund's."""

    event_id: str
    event_type: str
    outcome: Outcome | None
    intent_id: str | None
    invoice_id: int | None
    error: str | None = None
    refund_id: str | None = None


class PaymentProvider(Protocol):
    name: str

    def ensure_customer(self, customer: CustomerRef) -> str:
        """The provider's customer id of ``customer`` (created when ``provider_customer_id`` is ``None``), with
        ``payment_method_id`` attached to it. A declined payment method raises :class:`CardDeclined`."""
        ...

    def charge_invoice(self, charge: Charge) -> ChargeResult:
        """Charge off-session, confirmed at once; the same ``attempt_id`` never charges twice (idempotency key).
        :class:`ProviderUnavailable` when the outcome is unknown."""
        ...

    def refund(self, refund: Refund) -> RefundResult:
        """Refund part of a payment; the same ``refund_id`` never refunds twice (idempotency key).
        :class:`ProviderUnavailable` when the outcome is unknown."""
        ...

    def parse_webhook(self, payload: bytes, signature: str | None) -> PaymentEvent:
        """The event of a webhook request, after verifying its signature (:class:`BadSignature` otherwise)."""
        ...


class CardDeclined(Exception):
    """The payment method was refused while attaching it (the charge is a failed attempt)."""


def configured(settings: Settings) -> PaymentProvider | None:
    """The provider ``settings`` configure (Stripe, with ``FUBBLE_STRIPE_SECRET_KEY``), or ``None``. The ``stripe``
    library is imported only then: a server or command without a provider never loads it."""
    if not settings.stripe_secret_key:
        return None
    from fubble.payments.stripe_provider import StripeProvider

    return StripeProvider.from_settings(settings)
