"""The Stripe implementation of :class:`fubble.payments.provider.PaymentProvider`, with the official ``stripe``
library.

* A customer maps to one Stripe customer (created once, idempotency key ``fubble-customer-<id>``), to which the
  customer's ``payment_method_id`` (a Stripe payment method, ``pm_...``) is attached.
* An invoice is charged with a PaymentIntent: the amount in minor units, the currency in lower case,
  ``off_session=True``, ``confirm=True``, ``metadata.invoice_id``; its idempotency key is the attempt's
  (``fubble-payment-attempt-<id>``), so a retried call never charges twice.
* A refund credit note's money goes back with a Refund of the invoice's PaymentIntent, for the note's amount in minor
  units, ``metadata.credit_note``; idempotency key ``fubble-refund-<id>``.
* Webhooks are verified with ``FUBBLE_STRIPE_WEBHOOK_SECRET`` (``Stripe-Signature``, five minutes of tolerance).
  ``payment_intent.*`` events move invoices; ``refund.updated`` (and the older ``charge.refund.updated``) finish a
  refund Stripe answered ``pending``.

``FUBBLE_STRIPE_API_BASE`` points the library at a Stripe-compatible server (``localstripe`` in the tests).
"""

from __future__ import annotations

import json
from typing import Any

import stripe

from fubble.config import Settings
from fubble.payments.provider import (
    BadSignature,
    CardDeclined,
    Charge,
    ChargeResult,
    CustomerRef,
    Outcome,
    PaymentEvent,
    ProviderUnavailable,
    Refund,
    RefundResult,
)

NAME = "stripe"
TOLERANCE = 300  # seconds: an older signature is refused (replays of captured requests)
_OUTCOMES: dict[str, Outcome] = {
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "failed",
    "payment_intent.processing": "processing",
}
_REFUND_EVENTS = ("refund.updated", "charge.refund.updated")
_REFUND_OUTCOMES: dict[str, Outcome] = {
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "failed",
    "pending": "processing",
    "requires_action": "processing",
}


class StripeProvider:
    name = NAME

    def __init__(self, secret_key: str, *, api_base: str | None = None, webhook_secret: str | None = None) -> None:
        self.webhook_secret = webhook_secret
        self._secret_key = secret_key
        addresses: Any = {"api": api_base.rstrip("/")} if api_base else None
        self.client = stripe.StripeClient(secret_key, base_addresses=addresses, max_network_retries=2)

    @classmethod
    def from_settings(cls, settings: Settings) -> StripeProvider | None:
        """The provider ``settings`` configure, or ``None`` without ``FUBBLE_STRIPE_SECRET_KEY``."""
        if not settings.stripe_secret_key:
            return None
        return cls(
            settings.stripe_secret_key,
            api_base=settings.stripe_api_base,
            webhook_secret=settings.stripe_webhook_secret,
        )

    def ensure_customer(self, customer: CustomerRef) -> str:
        try:
            stripe_id = customer.provider_customer_id
            if stripe_id is None:
                created = self.client.v1.customers.create(
                    {
                        "name": customer.name,
                        "email": customer.email,
                        "metadata": {"fubble_customer_id": str(customer.customer_id)},
                    },
                    {"idempotency_key": f"fubble-customer-{customer.customer_id}"},
                )
                stripe_id = created.id
            if customer.attached_payment_method_id != customer.payment_method_id:
                self.client.v1.payment_methods.attach(customer.payment_method_id, {"customer": stripe_id})
            return stripe_id
        except stripe.CardError as exc:
            raise CardDeclined(_message(exc)) from exc
        except stripe.StripeError as exc:
            raise ProviderUnavailable(_message(exc)) from exc

    def charge_invoice(self, charge: Charge) -> ChargeResult:
        try:
            intent = self.client.v1.payment_intents.create(
                {
                    "amount": charge.amount_minor,
                    "currency": charge.currency.lower(),
                    "customer": charge.provider_customer_id,
                    "payment_method": charge.payment_method_id,
                    "off_session": True,
                    "confirm": True,
                    "metadata": {"invoice_id": str(charge.invoice_id)},
                },
                {"idempotency_key": f"fubble-payment-attempt-{charge.attempt_id}"},
            )
        except stripe.CardError as exc:
            error = getattr(exc, "error", None)
            intent_obj = getattr(error, "payment_intent", None) if error is not None else None
            intent_id = getattr(intent_obj, "id", None) if intent_obj is not None else None
            return ChargeResult("failed", intent_id, "requires_payment_method", _message(exc))
        except stripe.StripeError as exc:
            raise ProviderUnavailable(_message(exc)) from exc
        status = str(intent.status)
        if status == "succeeded":
            return ChargeResult("succeeded", intent.id, status)
        if status == "processing":
            return ChargeResult("processing", intent.id, status)
        last = getattr(intent, "last_payment_error", None)
        reason = getattr(last, "message", None) if last is not None else None
        return ChargeResult("failed", intent.id, status, reason or f"payment intent is {status}")

    def refund(self, refund: Refund) -> RefundResult:
        try:
            made = self.client.v1.refunds.create(
                {
                    "payment_intent": refund.payment_intent_id,
                    "amount": refund.amount_minor,
                    "metadata": {"credit_note": refund.credit_note_number},
                },
                {"idempotency_key": f"fubble-refund-{refund.refund_id}"},
            )
        except stripe.InvalidRequestError as exc:  # refused: already refunded, a failed payment, ...
            return RefundResult("failed", None, None, _message(exc))
        except stripe.StripeError as exc:
            raise ProviderUnavailable(_message(exc)) from exc
        status = str(made.status)
        if status == "succeeded":
            return RefundResult("succeeded", made.id, status)
        if status in ("pending", "requires_action"):
            return RefundResult("processing", made.id, status)
        reason = getattr(made, "failure_reason", None)
        return RefundResult("failed", made.id, status, str(reason or f"refund is {status}"))

    def parse_webhook(self, payload: bytes, signature: str | None) -> PaymentEvent:
        if not self.webhook_secret or not signature:
            raise BadSignature("missing or invalid Stripe-Signature")
        text = payload.decode("utf-8", errors="replace")
        try:
            stripe.WebhookSignature.verify_header(text, signature, self.webhook_secret, TOLERANCE)
            event = json.loads(text)
        except (ValueError, stripe.SignatureVerificationError) as exc:
            raise BadSignature(f"invalid Stripe webhook: {exc}") from exc
        if (
            not isinstance(event, dict)
            or not isinstance(event.get("id"), str)
            or not isinstance(event.get("type"), str)
        ):
            raise BadSignature("invalid Stripe webhook: not an event")
        if event["type"] in _REFUND_EVENTS:
            return _refund_event(event)
        outcome = _OUTCOMES.get(event["type"])
        data = event.get("data")
        found = data.get("object") if isinstance(data, dict) else None
        obj: dict[str, Any] = found if isinstance(found, dict) and outcome is not None else {}
        metadata = _mapping(obj.get("metadata"))
        raw_invoice = metadata.get("invoice_id")
        invoice_id = int(raw_invoice) if isinstance(raw_invoice, str) and raw_invoice.isdigit() else None
        intent_id = obj.get("id")
        error = _mapping(obj.get("last_payment_error")).get("message")
        return PaymentEvent(
            event_id=event["id"][:255],
            event_type=event["type"],
            outcome=outcome,
            intent_id=intent_id if isinstance(intent_id, str) else None,
            invoice_id=invoice_id,
            error=str(error) if outcome == "failed" and error is not None else None,
        )


def _refund_event(event: dict[str, Any]) -> PaymentEvent:
    """A refund's update: its outcome by its status (``failed``/``canceled`` fail it with ``failure_reason``)."""
    data = _mapping(event.get("data"))
    refund = _mapping(data.get("object"))
    refund_id = refund.get("id")
    status = refund.get("status")
    outcome = _REFUND_OUTCOMES.get(status) if isinstance(status, str) else None
    reason = refund.get("failure_reason")
    return PaymentEvent(
        event_id=event["id"][:255],
        event_type=event["type"],
        outcome=outcome if isinstance(refund_id, str) else None,
        intent_id=None,
        invoice_id=None,
        error=f"refund {status}: {reason or 'no reason given'}" if outcome == "failed" else None,
        refund_id=refund_id if isinstance(refund_id, str) else None,
    )


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _message(exc: stripe.StripeError) -> str:
    text = exc.user_message or str(exc) or type(exc).__name__
    code = getattr(exc, "code", None)
    return (f"{code}: {text}" if code else text)[:500]
