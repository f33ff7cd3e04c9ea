"""The dashboard's request pipeline: the API's (:class:`fubble.api.routing.FubbleRoute`), with the key taken from the
session cookie instead of the ``Authorization`` header and answers made for people instead of programs.

Around each page or action:

1. a form posted from another host's page is refused (403, :func:`fubble.ui.auth.check_origin`);
2. the key in the cookie is checked with the API's authenticator and scope rules (read for pages, write for actions,
   admin for API keys, webhooks and the audit log); without a valid key the browser is sent to the sign-in page;
3. the endpoint runs in one database transaction exactly as an API route does (:func:`run_in_unit_of_work`:
   admission, commit after success, rollback on any error, retries), so an action here is the same as through the API;
4. an error (a domain error of :mod:`fubble.errors`, a refused scope, an invalid parameter) is a page with its
   message and its 4xx status, never a JSON body and never a 500;
5. every answer carries the security headers (:data:`fubble.ui.pages.SECURITY_HEADERS`).

The routes are left out of the OpenAPI document, which describes the JSON API.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fubble.api.routing import FubbleRoute, reject_nul_characters, run_in_unit_of_work
from fubble.api_keys.scopes import PUBLIC, Scope
from fubble.errors import FubbleError, InvalidInput, Unauthorized
from fubble.ui import auth, pages


class UIRoute(FubbleRoute):
    """A dashboard page (GET: scope read) or action (POST: scope write), authenticated from the session cookie."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **{**kwargs, "include_in_schema": False})

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = APIRoute.get_route_handler(self)  # FastAPI's own: parameters, the endpoint; not the API's key check
        required = self.required_scope

        async def handler(request: Request) -> Response:
            try:
                auth.check_origin(request)
                key = auth.presented_key(request)
                principal = await request.app.state.auth.authenticate_key(request, required, key)
                request.state.principal = principal
                reject_nul_characters(request)
                response = await run_in_unit_of_work(request, inner, principal)
            except Unauthorized:
                response = RedirectResponse(auth.login_url(request), status_code=303)
                if auth.presented_key(request) is not None:  # unknown or revoked: forget it
                    auth.end_session(response, request)
            except FubbleError as exc:
                await _recognise(request)
                response = error_page(request, exc)
                response.headers.update(exc.headers or {})  # a busy server's Retry-After
            except RequestValidationError as exc:
                response = error_page(request, InvalidInput(_described(exc.errors())))
            if auth.flash_of(request) is not None and not 300 <= response.status_code < 400:
                auth.clear_flash(response, request)  # shown once, on the page the action led to
            headers = pages.SECURITY_HEADERS
            if not response.headers.get("content-type", "").startswith("text/html"):  # a PDF: no policy for pages
                headers = {k: v for k, v in headers.items() if k != "Content-Security-Policy"}
            response.headers.update(headers)
            return response

        return handler


async def _recognise(request: Request) -> None:
    """Who is signed in, for the navigation of an error page, also when the error is the key's scope (a 403)."""
    if getattr(request.state, "principal", None) is not None or not request.app.state.auth.enabled:
        return
    key = auth.presented_key(request)
    if key is not None:
        with contextlib.suppress(FubbleError):
            request.state.principal = await request.app.state.auth.principal(key)


def error_page(request: Request, exc: FubbleError) -> Response:
    """The error's message on a page, with its status; a link leads back to the page the action was sent from."""
    return pages.render(
        request,
        "error.html",
        status_code=exc.status_code,
        status=exc.status_code,
        messages=_messages(exc.detail),
        back=_back(request),
    )


def _back(request: Request) -> str:
    """The dashboard page the request came from (its same-origin ``Referer``), else the home page."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.path.startswith("/ui/") and referer.path != request.url.path:
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return auth.HOME


def _messages(detail: Any) -> list[str]:
    """An error's detail as sentences: a message, or each ``{"loc", "msg"}`` entry as ``field: msg``."""
    entries = detail if isinstance(detail, list) else [detail]
    out = []
    for entry in entries:
        if isinstance(entry, dict):
            where = ".".join(str(part) for part in entry.get("loc", []) if part not in ("body", "query", "path"))
            out.append(f"{where}: {entry.get('msg', '')}" if where else str(entry.get("msg", "")))
        else:
            out.append(str(entry))
    return out


def _described(errors: Any) -> list[dict[str, Any]]:
    return [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in errors]


class AdminUIRoute(UIRoute):
    default_scope = Scope.admin


class PublicUIRoute(UIRoute):
    default_scope = PUBLIC
