from __future__ import annotations

import pytest

from fubble.db.session import Database


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_sqlite_is_refused_with_a_clear_message(url: str) -> None:
    with pytest.raises(ValueError, match="in-memory SQLite is not supported"):
        Database(url)
