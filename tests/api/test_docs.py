"""``/docs`` and ``/redoc`` work offline: every script, stylesheet and icon they reference is served by fubble itself
(none from a CDN), with the right content type, without an API key."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|\burl:\s*['"]([^'"]+)['"]|spec-url=["']([^"']+)["']""")
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png", ".json": "application/json"}


def references(html: str) -> list[str]:
    return [next(group for group in match.groups() if group) for match in REFERENCE.finditer(html)]


@pytest.mark.parametrize(("page", "script"), [("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")])
def test_docs_pages_reference_only_this_server(anon_client: TestClient, page: str, script: str) -> None:
    response = anon_client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, re.I), "an outside host is referenced"
    urls = references(html)
    assert any(url.endswith(script) for url in urls), urls
    assert "/openapi.json" in urls
    for url in urls:
        assert url.startswith("/"), url
        asset = anon_client.get(url)
        assert asset.status_code == 200, url
        suffix = url[url.rfind(".") :]
        assert asset.headers["content-type"].startswith(CONTENT_TYPES[suffix]), (url, asset.headers["content-type"])
        assert len(asset.content) > (1000 if suffix != ".json" else 100)


def test_swagger_ui_asks_no_outside_validator(anon_client: TestClient) -> None:
    assert '"validatorUrl": null' in anon_client.get("/docs").text


def test_docs_assets_are_not_in_the_openapi_document(anon_client: TestClient) -> None:
    paths = anon_client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith(("/docs", "/redoc"))]
