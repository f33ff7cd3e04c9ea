"""The exact SQL functions SQLite gets (fubble.db.functions): the same text as Decimal arithmetic, whatever the
values, through a real sqlite3 connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from decimal import Context, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fubble.db.functions import register_sqlite_functions
from fubble.db.types import decimal_text

_WIDE = Context(prec=200)

whole = st.integers(min_value=0, max_value=10**32).map(str)
fractional = st.decimals(min_value=0, max_value=10**20, places=12, allow_nan=False, allow_infinity=False).map(
    decimal_text
)
values = st.one_of(whole, fractional, st.sampled_from(["0", "1", "007", "1.50", "10.000"]))


@pytest.fixture(scope="module")
def connection() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    register_sqlite_functions(conn)
    yield conn
    conn.close()


@given(a=values, b=values)
def test_add_and_greatest_give_decimal_arithmetics_text(connection: sqlite3.Connection, a: str, b: str) -> None:
    added, greatest = connection.execute("SELECT fubble_dadd(?, ?), fubble_dgreatest(?, ?)", (a, b, a, b)).fetchone()
    assert added == decimal_text(_WIDE.add(Decimal(a), Decimal(b)))
    first, second = Decimal(a), Decimal(b)
    assert greatest == decimal_text(second if second > first else first)


def test_null_behaves_like_sql(connection: sqlite3.Connection) -> None:
    row = connection.execute(
        "SELECT fubble_dadd(NULL, '1'), fubble_dgreatest(NULL, '2'), fubble_dgreatest('3', NULL),"
        " fubble_dgreatest(NULL, NULL)"
    ).fetchone()
    assert row == (None, "2", "3", None)
