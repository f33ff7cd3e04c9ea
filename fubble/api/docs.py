"""The interactive API docs, ``/docs`` (Swagger UI) and ``/redoc``, with their scripts served by fubble itself.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so offline or behind a strict firewall they are blank.
These pages reference only ``/docs/static/...`` on the same server: the files come from the ``fastapi-offline``
package (Swagger UI: Apache 2.0; ReDoc: MIT; about 2.8 MB), which fubble depends on for nothing else.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

DOCS, REDOC, STATIC = "/docs", "/redoc", "/docs/static"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
ASSETS = ("fastapi_offline", "static")  # (package, folder) holding the scripts, the stylesheet and the favicon


def install(app: FastAPI) -> None:
    """Serve ``/docs``, ``/redoc`` and their assets (create the app with ``docs_url=None, redoc_url=None``)."""
    app.mount(STATIC, StaticFiles(packages=[ASSETS]), name="docs-static")

    def root(request: Request) -> str:
        return str(request.scope.get("root_path", ""))

    @app.get(DOCS, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        base = root(request)
        return get_swagger_ui_html(
            openapi_url=f"{base}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{base}{STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{base}{STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{base}{STATIC}/favicon.png",
            oauth2_redirect_url=f"{base}{OAUTH2_REDIRECT}",
            swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from an outside validator
        )

    @app.get(OAUTH2_REDIRECT, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        base = root(request)
        return get_redoc_html(
            openapi_url=f"{base}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{base}{STATIC}/redoc.standalone.js",
            redoc_favicon_url=f"{base}{STATIC}/favicon.png",
            with_google_fonts=False,
        )
