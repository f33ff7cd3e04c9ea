"""The exact SQL functions SQLite gets (fubble.db.functions): the same text as Decimal arithmetic, whatever the
values, through a real sqlite3 connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from decimal import Context, Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import String, column
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect

from fubble.db.functions import exact_add, exact_greatest, register_sqlite_functions
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


def _compiled(expression: Any) -> str:
    return str(expression.compile(dialect=sqlite_dialect(), compile_kwargs={"literal_binds": False}))


@given(a=values, b=values)
def test_exact_add_and_greatest_as_compiled_for_sqlite_give_the_same_text(
    connection: sqlite3.Connection, a: str, b: str
) -> None:
    """The compiled expressions do small whole numbers in SQLite's integers and the rest in Python: same text."""
    x, y = column("x", String), column("y", String)
    sql = f"SELECT {_compiled(exact_add(x, y))}, {_compiled(exact_greatest(x, y))} FROM (SELECT ? AS x, ? AS y)"
    assert (
        connection.execute(sql, (a, b)).fetchone()
        == connection.execute("SELECT fubble_dadd(?, ?), fubble_dgreatest(?, ?)", (a, b, a, b)).fetchone()
    )


def test_compiled_null_behaves_like_sql(connection: sqlite3.Connection) -> None:
    x, y = column("x", String), column("y", String)
    add, greatest = _compiled(exact_add(x, y)), _compiled(exact_greatest(x, y))
    rows = [(None, "1"), ("2", None), (None, None)]
    got = [connection.execute(f"SELECT {add}, {greatest} FROM (SELECT ? AS x, ? AS y)", row).fetchone() for row in rows]
    assert got == [(None, "1"), (None, "2"), (None, None)]
