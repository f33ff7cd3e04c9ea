"""The dashboard's pages (GET; scope read, admin for API keys, webhooks and the audit log), its sign-in and its
stylesheet. The actions (form posts) are in :mod:`fubble.ui.actions`."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from fubble.api.deps import MAX_PAGE_SIZE, ClockDep, SessionDep, SettingsDep, id_path
from fubble.api.fields import MAX_ID
from fubble.api_keys.scopes import Scope, allows
from fubble.audit.schemas import EntityType
from fubble.documents import service as documents
from fubble.errors import Forbidden, InvalidInput, Unauthorized
from fubble.invoices.status import InvoiceStatus
from fubble.ui import auth, pages, service
from fubble.ui.forms import FormDep
from fubble.ui.routing import AdminUIRoute, PublicUIRoute, UIRoute
from fubble.usage.buckets import Granularity

router = APIRouter(route_class=UIRoute)
admin_router = APIRouter(route_class=AdminUIRoute)
public_router = APIRouter(route_class=PublicUIRoute)
static_router = APIRouter()  # the stylesheet: no key, no database

DEFAULT_ROWS = 50

Id = Annotated[int, id_path("The object's id")]


def ui_page(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_ROWS,
    offset: Annotated[int, Query(ge=0, le=2**53)] = 0,
) -> service.Page:
    return service.Page(limit=limit, offset=offset)


PageDep = Annotated[service.Page, Depends(ui_page)]


E = TypeVar("E", bound=StrEnum)


def _choice(kind: type[E], value: str, name: str) -> E | None:
    """A filter of a page's form: blank means any (a form sends its empty choice as ``name=``)."""
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidInput.at(("query", name), f"must be one of {allowed}") from None


def _optional_id(value: str, name: str) -> int | None:
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_ID:
        raise InvalidInput.at(("query", name), "must be an id (a whole number from 1)")
    return int(value)


# --- signing in ------------------------------------------------------------------------------------------------------


@public_router.get("/ui")
def home() -> RedirectResponse:
    return RedirectResponse(auth.HOME, status_code=303)


@public_router.get("/ui/login")
def login_form(request: Request, next_: Annotated[str | None, Query(alias="next", max_length=2000)] = None) -> Response:
    if not request.app.state.auth.enabled:
        return RedirectResponse(auth.safe_next(next_), status_code=303)
    return pages.render(request, "login.html", next=auth.safe_next(next_), error=None)


@public_router.post("/ui/login")
async def login(request: Request, form: FormDep) -> Response:
    target = auth.safe_next(form.get("next"))
    authenticator = request.app.state.auth
    if not authenticator.enabled:
        return RedirectResponse(target, status_code=303)
    key = form.get("api_key", "").strip()
    try:
        principal = await authenticator.principal(key or None)
    except Unauthorized:
        return pages.render(request, "login.html", status_code=401, next=target, error="Unknown or revoked API key.")
    if not allows(principal.scope, Scope.read):
        refused = Forbidden(f"a key with scope {principal.scope.value!r} cannot view the dashboard (it needs read)")
        return pages.render(request, "login.html", status_code=403, next=target, error=str(refused.detail))
    response = RedirectResponse(target, status_code=303)
    auth.start_session(response, request, key)
    return response


@public_router.post("/ui/logout")
def logout(request: Request) -> RedirectResponse:
    response = RedirectResponse(auth.LOGIN, status_code=303)
    auth.end_session(response, request)
    return response


@static_router.get("/ui/static/{name}", include_in_schema=False)
def static(name: str) -> Response:
    found = pages.static_file(name)
    if found is None:
        return Response("not found", status_code=404, media_type="text/plain")
    # Linked with its digest in the URL (pages.static_url): a changed file has a new URL, so this copy never changes.
    headers = {"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"}
    return Response(found.content, media_type=found.media_type, headers=headers)


# --- pages (read) ----------------------------------------------------------------------------------------------------


@router.get("/ui/customers")
def customers(request: Request, session: SessionDep, page: PageDep) -> Response:
    return pages.render(request, "customers.html", customers=service.customer_list(session, page), page=page)


@router.get("/ui/customers/{customer_id}")
def customer(
    request: Request,
    customer_id: Id,
    session: SessionDep,
    clock: ClockDep,
    granularity: Annotated[Literal["hour", "day"], Query()] = "hour",
) -> Response:
    view = service.customer_detail(session, clock, customer_id, Granularity(granularity))
    return pages.render(request, "customer.html", view=view)


@router.get("/ui/plans")
def plans(request: Request, session: SessionDep, page: PageDep) -> Response:
    return pages.render(request, "plans.html", plans=service.plan_list(session, page), page=page)


@router.get("/ui/plans/{plan_id}")
def plan(request: Request, plan_id: Id, session: SessionDep) -> Response:
    return pages.render(request, "plan.html", view=service.plan_detail(session, plan_id))


@router.get("/ui/subscriptions")
def subscriptions(request: Request, session: SessionDep, clock: ClockDep, page: PageDep) -> Response:
    found = service.subscription_list(session, clock, page)
    return pages.render(request, "subscriptions.html", subscriptions=found, page=page)


@router.get("/ui/subscriptions/{subscription_id}")
def subscription(request: Request, subscription_id: Id, session: SessionDep, clock: ClockDep) -> Response:
    view = service.subscription_detail(session, clock, subscription_id)
    return pages.render(request, "subscription.html", view=view)


@router.get("/ui/invoices")
def invoices(
    request: Request,
    session: SessionDep,
    page: PageDep,
    status: Annotated[str, Query(max_length=20)] = "",
    customer_id: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    chosen = _choice(InvoiceStatus, status, "status")
    customer = _optional_id(customer_id, "customer_id")
    found = service.invoice_list(session, page, status=chosen, customer_id=customer)
    return pages.render(
        request, "invoices.html", invoices=found, page=page, status=chosen, statuses=list(InvoiceStatus)
    )


@router.get("/ui/invoices/{invoice_id}")
def invoice(request: Request, invoice_id: Id, session: SessionDep) -> Response:
    return pages.render(request, "invoice.html", view=service.invoice_detail(session, invoice_id))


@router.get("/ui/invoices/{invoice_id}/pdf")
def invoice_pdf(invoice_id: Id, session: SessionDep, settings: SettingsDep) -> Response:
    file = documents.invoice_pdf(session, invoice_id, settings)
    headers = {"Content-Disposition": f'inline; filename="{file.name}"', **pages.NO_STORE}
    return Response(file.content, media_type="application/pdf", headers=headers)


# --- admin pages -----------------------------------------------------------------------------------------------------


@admin_router.get("/ui/api-keys")
def api_keys(request: Request, session: SessionDep, page: PageDep) -> Response:
    found = service.api_key_list(session, page)
    return pages.render(request, "api_keys.html", keys=found, page=page, created=None, scopes=list(Scope))


@admin_router.get("/ui/webhooks")
def webhooks(request: Request, session: SessionDep, page: PageDep) -> Response:
    return pages.render(request, "webhooks.html", endpoints=service.webhook_list(session, page), page=page)


# How long the replaced secret keeps signing after a rotation from the dashboard (seconds -> label).
KEEP_PREVIOUS = {
    "0": "no longer (stops at once)",
    "3600": "for 1 hour",
    "86400": "for 24 hours",
    "604800": "for 7 days",
}


@admin_router.get("/ui/webhooks/{endpoint_id}")
def webhook(request: Request, endpoint_id: Id, session: SessionDep, page: PageDep) -> Response:
    view = service.webhook_detail(session, endpoint_id, page)
    return pages.render(request, "webhook.html", view=view, page=page, rotated=None, keep_previous=KEEP_PREVIOUS)


@admin_router.get("/ui/audit")
def audit_log(
    request: Request,
    session: SessionDep,
    page: PageDep,
    entity_type: Annotated[str, Query(max_length=100)] = "",
    entity_id: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    kind = _choice(EntityType, entity_type, "entity_type")
    found = service.audit_list(session, page, entity_type=kind and kind.value, entity_id=entity_id or None)
    return pages.render(request, "audit.html", entries=found, page=page, entity_types=[e.value for e in EntityType])
