"""A path matches a route only as a whole: a trailing newline (``%0A``) does not reach the route without it (Starlette
anchors its patterns with ``$``, which matches before a final newline)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/customers/%0A", 404),
        ("/pricing-factors/%0A", 404),
        ("/plans%0A", 404),
        ("/invoices/1%0A", 404),
    ],
)
def test_a_trailing_newline_does_not_reach_the_list_route(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status, response.text
    assert not isinstance(response.json(), list)
