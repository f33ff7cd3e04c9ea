"""The dashboard's actions: HTML form posts that call the very service functions the API routes call, with the API's
scopes (write; admin for API keys and webhooks), in one transaction per request (:mod:`fubble.ui.routing`). Each
redirects (303) back to its page with a message; a domain error is shown as a page with its 4xx status."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from fubble.api.deps import ClockDep, SessionDep
from fubble.api_keys import service as api_keys
from fubble.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from fubble.api_keys.scopes import Scope
from fubble.credit_notes import service as credit_notes
from fubble.credit_notes.schemas import CreditNoteCreate
from fubble.errors import InvalidInput
from fubble.invoices import service as invoices
from fubble.invoices.schemas import VoidRequest
from fubble.invoices.status import InvoiceStatus
from fubble.subscriptions import service as subscriptions
from fubble.ui import auth, pages, service
from fubble.ui.forms import FormDep, model
from fubble.ui.router import DEFAULT_ROWS, KEEP_PREVIOUS, Id
from fubble.ui.routing import AdminUIRoute, UIRoute
from fubble.webhooks import service as webhooks

router = APIRouter(route_class=UIRoute)
admin_router = APIRouter(route_class=AdminUIRoute)


def done(request: Request, to: str, message: str) -> RedirectResponse:
    """Back to the page ``to``, which shows ``message`` once."""
    response = RedirectResponse(to, status_code=303)
    auth.set_flash(response, request, message)
    return response


# --- invoices --------------------------------------------------------------------------------------------------------


@router.post("/ui/invoices/{invoice_id}/finalize")
def finalize_invoice(request: Request, invoice_id: Id, session: SessionDep, clock: ClockDep) -> Response:
    invoice = invoices.finalize(session, invoice_id, clock=clock)
    return done(request, f"/ui/invoices/{invoice_id}", f"Invoice {invoice.invoice_number} finalized.")


@router.post("/ui/invoices/{invoice_id}/pay")
def pay_invoice(request: Request, invoice_id: Id, session: SessionDep, clock: ClockDep) -> Response:
    invoice = invoices.change_status(session, invoice_id, InvoiceStatus.PAID, clock=clock)
    return done(request, f"/ui/invoices/{invoice_id}", f"Invoice {invoice.invoice_number} marked paid.")


@router.post("/ui/invoices/{invoice_id}/void")
def void_invoice(request: Request, invoice_id: Id, form: FormDep, session: SessionDep, clock: ClockDep) -> Response:
    reason = model(VoidRequest, {"reason": form.get("reason", "")}).reason
    invoice = invoices.void(session, invoice_id, reason=reason, clock=clock)
    return done(request, f"/ui/invoices/{invoice_id}", f"Invoice {invoice.invoice_number} voided.")


@router.post("/ui/invoices/{invoice_id}/credit-notes")
def create_credit_note(
    request: Request, invoice_id: Id, form: FormDep, session: SessionDep, clock: ClockDep
) -> Response:
    fields = {name: form.get(name, "") for name in ("amount", "reason", "method")}
    note = credit_notes.create(session, invoice_id, model(CreditNoteCreate, fields), clock=clock)
    message = f"Credit note {note.note.number} of {note.note.amount:f} issued ({note.note.method})."
    return done(request, f"/ui/invoices/{invoice_id}", message)


# --- subscriptions ---------------------------------------------------------------------------------------------------


@router.post("/ui/subscriptions/{subscription_id}/cancel")
def cancel_subscription(
    request: Request, subscription_id: Id, form: FormDep, session: SessionDep, clock: ClockDep
) -> Response:
    customer_id = service.subscription_owner(session, subscription_id)
    at_period_end = form.get("when") == "period_end"
    subscriptions.cancel(session, customer_id, subscription_id, None, clock=clock, at_period_end=at_period_end)
    when = "at the end of its period" if at_period_end else "now"
    return done(request, f"/ui/subscriptions/{subscription_id}", f"Subscription {subscription_id} canceled {when}.")


# --- admin: API keys and webhooks ------------------------------------------------------------------------------------


@admin_router.post("/ui/api-keys")
def create_api_key(request: Request, form: FormDep, session: SessionDep, clock: ClockDep) -> Response:
    """The new key's secret is shown on this answer only (never stored, never redirected with)."""
    body = model(ApiKeyCreate, {name: form.get(name, "") for name in ("name", "scope")})
    row, key = api_keys.create(session, name=body.name, scope=body.scope, clock=clock)
    created = ApiKeyCreated(**ApiKeyOut.of(row).model_dump(), key=key)
    page = service.Page(limit=DEFAULT_ROWS, offset=0)
    return pages.render(
        request,
        "api_keys.html",
        status_code=201,
        keys=service.api_key_list(session, page),
        page=page,
        created=created,
        scopes=list(Scope),
    )


@admin_router.post("/ui/api-keys/{key_id}/revoke")
def revoke_api_key(request: Request, key_id: Id, session: SessionDep, clock: ClockDep) -> Response:
    row = api_keys.revoke(session, key_id, clock=clock)
    request.app.state.auth.forget_when_committed(session, row.id)
    return done(request, "/ui/api-keys", f"API key {row.name!r} ({row.prefix}) revoked.")


@admin_router.post("/ui/webhooks/{endpoint_id}/rotate-secret")
def rotate_webhook_secret(
    request: Request, endpoint_id: Id, form: FormDep, session: SessionDep, clock: ClockDep
) -> Response:
    """The new secret is shown on this answer only (never redirected with), as a new API key is."""
    keep = form.get("expire_previous_in_seconds", "86400")
    if keep not in KEEP_PREVIOUS:
        raise InvalidInput.at(("form", "expire_previous_in_seconds"), f"one of {', '.join(KEEP_PREVIOUS)} seconds")
    row = webhooks.rotate_secret(session, endpoint_id, timedelta(seconds=int(keep)), clock=clock)
    page = service.Page(limit=DEFAULT_ROWS, offset=0)
    view = service.webhook_detail(session, endpoint_id, page)
    return pages.render(request, "webhook.html", view=view, page=page, rotated=row.secret, keep_previous=KEEP_PREVIOUS)


@admin_router.post("/ui/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay")
def replay_delivery(
    request: Request, endpoint_id: Id, delivery_id: Id, session: SessionDep, clock: ClockDep
) -> Response:
    queued, message_id, event_type = webhooks.replay(session, endpoint_id, delivery_id, clock=clock)
    message = f"Message {message_id} ({event_type}) queued again as attempt {queued.attempt}."
    return done(request, f"/ui/webhooks/{endpoint_id}", message)
