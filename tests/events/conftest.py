from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from .helpers import new_customer, new_plan


@pytest.fixture
def customer_id(client: TestClient) -> int:
    """A customer, and a plan pricing api_calls and storage_gb (so those metrics are known)."""
    new_plan(client)
    return new_customer(client)
