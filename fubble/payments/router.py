"""HTTP routes of payment collection: Stripe's webhooks (public: Stripe sends no API key, it signs its events) and
an invoice's payment attempts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Request
from starlette.concurrency import run_in_threadpool

from fubble.api.deps import ClockDep, SessionDep, SettingsDep, id_path
from fubble.api.routing import SCOPE_KEY, new_router
from fubble.api_keys.scopes import PUBLIC, Scope
from fubble.errors import NotFound
from fubble.errors_doc import ErrorOut, responses
from fubble.payments import service
from fubble.payments.provider import configured
from fubble.payments.schemas import PaymentAttemptOut, WebhookReceived

router = new_router(tag="payments", scope=PUBLIC)

WEBHOOK = """
The endpoint to give Stripe for its webhooks (no API key: the `Stripe-Signature` header is verified with
`FUBBLE_STRIPE_WEBHOOK_SECRET`; a missing or bad signature is 400 and nothing is applied). `payment_intent.succeeded`
moves the invoice named in the intent's `metadata.invoice_id` to `paid`; `payment_intent.payment_failed` moves a
`pending` one to `failed` and schedules the next attempt (`FUBBLE_PAYMENT_RETRY_SCHEDULE`). Each event is applied once,
by its id: a replay answers 200 with `duplicate: true` and changes nothing, as does an event about an invoice already
paid or voided. `refund.updated` (or `charge.refund.updated`) finishes a refund Stripe answered `pending`: the credit
note's `refund` becomes `succeeded` or `failed`. Other event types are acknowledged and ignored. 404 when no Stripe
webhook secret is configured.
"""

BAD_SIGNATURE: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Missing or invalid `Stripe-Signature`: nothing was applied."}
}


@router.post(
    "/payments/stripe/webhook",
    summary="Receive a Stripe webhook event",
    description=WEBHOOK,
    responses={**BAD_SIGNATURE, **responses(404, 422)},
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The event exactly as Stripe sent it (its bytes are what the signature covers).",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def stripe_webhook(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    stripe_signature: Annotated[
        str, Header(alias="Stripe-Signature", description="Stripe's signature: `t=...,v1=...` (missing: 400).")
    ] = "",
) -> WebhookReceived:
    provider = configured(settings)
    if provider is None or not settings.stripe_webhook_secret:
        raise NotFound("Stripe webhooks are not configured (FUBBLE_STRIPE_WEBHOOK_SECRET)")
    event = provider.parse_webhook(await request.body(), stripe_signature or None)
    applied = await run_in_threadpool(
        service.apply_event, session, event, clock=clock, schedule=settings.payment_retry_schedule
    )
    return WebhookReceived(received=True, duplicate=not applied)


InvoiceId = Annotated[int, id_path("The invoice's id")]

ATTEMPTS = """
Every attempt to collect the invoice through the payment provider, oldest first: the first one, queued when the
invoice was finalized (only with `FUBBLE_STRIPE_SECRET_KEY` set, an `amount_due` above zero and a customer
`payment_method_id`), then one per retry of the schedule (`FUBBLE_PAYMENT_RETRY_SCHEDULE`) after a declined payment.
An empty list when nothing was (or is to be) collected; 404 for an unknown invoice.
"""


@router.get(
    "/invoices/{invoice_id}/payment-attempts",
    summary="List an invoice's payment attempts",
    description=ATTEMPTS,
    responses=responses(404, 422),
    openapi_extra={SCOPE_KEY: Scope.read.value},
)
def list_payment_attempts(invoice_id: InvoiceId, session: SessionDep) -> list[PaymentAttemptOut]:
    return [PaymentAttemptOut.of(row) for row in service.attempts(session, invoice_id)]
