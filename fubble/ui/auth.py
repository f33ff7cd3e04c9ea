"""Signing in to the dashboard: the API key, kept in a session cookie.

* ``POST /ui/login`` checks the key with the API's own verification (:meth:`fubble.api.auth.Authenticator.principal`)
  and stores it in the cookie ``fubble_session``: ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other
  site's page sends it), ``Path=/ui`` (only the dashboard receives it), ``Secure`` when the request came over https.
* Every dashboard request is authenticated from that cookie, with the API's scope rules; the JSON API never reads the
  cookie (it takes only ``Authorization: Bearer``).
* Forgery: besides ``SameSite=Strict``, a form post whose ``Origin`` is another origin than the server's is refused.
"""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

from starlette.requests import Request
from starlette.responses import Response

from fubble.api.routing import SAFE_METHODS
from fubble.errors import Forbidden

COOKIE = "fubble_session"
FLASH_COOKIE = "fubble_flash"  # the message an action leaves for the page it redirects to
PATH = "/ui"
LOGIN = "/ui/login"
HOME = "/ui/customers"


def presented_key(request: Request) -> str | None:
    """The API key of the request's session cookie, if any."""
    return request.cookies.get(COOKIE) or None


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def start_session(response: Response, request: Request, key: str) -> None:
    response.set_cookie(COOKIE, key, path=PATH, httponly=True, samesite="strict", secure=_secure(request))


def end_session(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict", secure=_secure(request))


def check_origin(request: Request) -> None:
    """403 for a state-changing request sent from a page of another site: its ``Origin`` header, when it has one,
    must name this server's host (and port) as the request's ``Host`` does. Only the host is compared, not the
    scheme, so a proxy that ends TLS in front of the server does not make every form look foreign; ``Origin: null``
    (a sandboxed or privacy-sensitive context) is refused."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin is None:
        return
    if urlsplit(origin).netloc.lower() != request.url.netloc.lower() or origin.strip().lower() == "null":
        raise Forbidden(f"a form of another origin ({origin}) cannot act on this dashboard")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a dashboard path of this server only (never another host), else the home page."""
    if not target:
        return HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(PATH + "/") or "\\" in target:
        return HOME
    return target


def login_url(request: Request) -> str:
    """The sign-in page, with the page asked for to return to (GET requests only)."""
    if request.method != "GET":
        return LOGIN
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{LOGIN}?next={quote(target, safe='')}"


def set_flash(response: Response, request: Request, message: str) -> None:
    value = quote(message[:500], safe="")
    response.set_cookie(FLASH_COOKIE, value, path=PATH, httponly=True, samesite="strict", secure=_secure(request))


def flash_of(request: Request) -> str | None:
    raw = request.cookies.get(FLASH_COOKIE)
    return unquote(raw) if raw else None


def clear_flash(response: Response, request: Request) -> None:
    response.delete_cookie(FLASH_COOKIE, path=PATH, httponly=True, samesite="strict", secure=_secure(request))
