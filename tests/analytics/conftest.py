"""The ``billing`` scenario driver (shared with the billing tests) for the analytics tests."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.billing.billing_driver import Billing


@pytest.fixture
def billing(client: TestClient) -> Billing:
    return Billing(client)
