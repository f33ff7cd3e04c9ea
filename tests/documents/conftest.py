"""The invoice documents' tests: the real app on both databases, with a seller configured."""

from __future__ import annotations

import pytest

from fubble.config import Settings
from fubble.db.session import Database

SELLER = {
    "seller_name": "Fubble GmbH",
    "seller_address": "Hauptstraße 1\\n10115 Berlin",  # a literal \n, as an environment variable carries it
    "seller_email": "billing@fubble.example",
    "seller_tax_id": "DE123456789",
}


@pytest.fixture
def settings(db: Database) -> Settings:
    return Settings(database_url=db.url, **SELLER)
