"""The ``billing`` fixture: a scenario driver bound to the test client."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from .billing_driver import Billing


@pytest.fixture
def billing(client: TestClient) -> Billing:
    return Billing(client)
