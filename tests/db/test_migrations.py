from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import fubble.db.models  # noqa: F401
from fubble.db.base import Base
from fubble.db.session import Database


def test_migrations_match_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
